"""Signed Firebase ID tokens, offline: for the local Auth stand-in (``localcloud.auth``)
and for tests that check tokens without it (``TokenIssuer``).

Firebase's own emulator issues unsigned tokens, which firebase-admin accepts only when
``FIREBASE_AUTH_EMULATOR_HOST`` is set for the whole process. These are RS256-signed with
a local key instead, and its certificate is published like Google's (``{kid: PEM}``), so
code pointed at that certificate URL checks them exactly as it checks production tokens:
expired, forged and foreign-project tokens are refused as they would be.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN_SECONDS = 3600
Account = dict[str, Any]
RESERVED_CLAIMS = frozenset(("iss", "aud", "sub", "user_id", "iat", "exp", "auth_time", "firebase"))


def key_and_certificate(name: str = "localcloud-auth", days: int = 365) -> tuple[bytes, bytes]:
    """A new RSA key and its self-signed certificate, both PEM."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


class Signer:
    """An RSA key and its certificate, published the way Google publishes securetoken's
    (``certs``), so firebase-admin verifies these tokens with its usual checks."""

    def __init__(self, kid: str | None = None) -> None:
        self.kid = kid or secrets.token_hex(8)
        self.key_pem, cert_pem = key_and_certificate()
        self.certs = json.dumps({self.kid: cert_pem.decode()}).encode()

    def mint(  # noqa: PLR0913 - each is a way tests make a token wrong on purpose
        self,
        project: str,
        uid: str,
        claims: dict[str, Any] | None = None,
        expires_in: int = TOKEN_SECONDS,
        backdate: int = 0,
        kid: str | None = None,
        key_pem: bytes | None = None,
    ) -> str:
        """An ID token of ``project`` for ``uid``: ``claims`` at the top level, as
        Firebase puts custom claims; issued ``backdate`` seconds ago, expiring
        ``expires_in`` seconds from now; signed with this key unless another is given."""
        from google.auth import crypt, jwt

        now = int(time.time())
        payload = {
            "iss": f"https://securetoken.google.com/{project}",
            "aud": project,
            "sub": uid,
            "user_id": uid,
            "iat": now - backdate,
            "exp": now + expires_in,
            "auth_time": now - backdate,
            "firebase": {"sign_in_provider": "custom", "identities": {}},
            **(claims or {}),
        }
        signer = crypt.RSASigner.from_string(key_pem or self.key_pem, key_id=kid or self.kid)  # type: ignore[no-untyped-call]
        return str(jwt.encode(signer, payload).decode())  # type: ignore[no-untyped-call]

    def token(self, project: str, account: Account) -> str:
        """An ID token for a stand-in ``account``: its custom claims (never in place of
        a reserved one, as Firebase refuses those), its e-mail."""
        custom = json.loads(account.get("customAttributes") or "{}")
        claims = {k: v for k, v in custom.items() if k not in RESERVED_CLAIMS}
        if account.get("email"):
            claims |= {
                "email": account["email"],
                "email_verified": bool(account.get("emailVerified")),
            }
        return self.mint(project, account["localId"], claims)


class TokenIssuer:
    """Mints ID tokens for any project and serves their certificate on 127.0.0.1
    (``cert_url``): tests point token verification there and sign in as anyone."""

    def __init__(self, kid: str = "test-key-1") -> None:
        self.signer = Signer(kid)
        certs = self.signer.certs

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "public, max-age=3600")
                self.end_headers()
                self.wfile.write(certs)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.cert_url = f"http://127.0.0.1:{self._server.server_address[1]}/certs"

    def token(  # noqa: PLR0913 - each is a way tests make a token wrong on purpose
        self,
        project: str,
        uid: str = "user-1",
        expires_in: int = TOKEN_SECONDS,
        kid: str | None = None,
        key_pem: bytes | None = None,
        **claims: Any,
    ) -> str:
        """A token issued ten seconds ago (no clock-skew doubt), ``claims`` at the top."""
        return self.signer.mint(project, uid, claims, expires_in, 10, kid, key_pem)

    def bearer(self, project: str, uid: str = "user-1", **claims: Any) -> dict[str, str]:
        """An ``Authorization`` header carrying ``token(project, uid, **claims)``."""
        return {"Authorization": f"Bearer {self.token(project, uid, **claims)}"}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


__all__ = ["TOKEN_SECONDS", "Signer", "TokenIssuer", "key_and_certificate"]
