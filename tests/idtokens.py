"""Real Firebase ID tokens, offline: a local signing key whose certificate a local HTTP
server publishes, so firebase-admin verifies RS256 signatures exactly as in production."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _key_and_cert() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "growthkit-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


class TokenIssuer:
    """Mints ID tokens for a project and serves the matching certificates."""

    def __init__(self) -> None:
        self.kid = "test-key-1"
        self.key_pem, cert_pem = _key_and_cert()
        certs = json.dumps({self.kid: cert_pem.decode()}).encode()

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

    def token(
        self,
        project: str,
        uid: str = "user-1",
        expires_in: int = 3600,
        kid: str | None = None,
        key_pem: bytes | None = None,
        **claims: Any,
    ) -> str:
        from google.auth import crypt, jwt

        now = int(time.time())
        payload = {
            "iss": f"https://securetoken.google.com/{project}",
            "aud": project,
            "sub": uid,
            "uid": uid,
            "iat": now - 10,
            "exp": now + expires_in,
            "auth_time": now - 10,
            **claims,
        }
        # google-auth's crypt and jwt are untyped: their signatures, as documented.
        signer_from = cast(Callable[[bytes, str], crypt.Signer], crypt.RSASigner.from_string)
        encode = cast(Callable[[crypt.Signer, dict[str, Any]], bytes], jwt.encode)
        return encode(signer_from(key_pem or self.key_pem, kid or self.kid), payload).decode()

    def staff(
        self, project: str, company_id: str, role: str = "manager", **kw: Any
    ) -> dict[str, str]:
        """An ``Authorization`` header for a staff member of ``company_id``."""
        token = self.token(project, company_id=company_id, role=role, **kw)
        return {"Authorization": f"Bearer {token}"}

    def close(self) -> None:
        self._server.shutdown()
