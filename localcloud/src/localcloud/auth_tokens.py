"""Signed ID tokens for the local Auth stand-in (``localcloud.auth``).

Firebase's own emulator issues unsigned tokens, which firebase-admin accepts only when
``FIREBASE_AUTH_EMULATOR_HOST`` is set for the whole process. These are RS256-signed with
a local key instead, and its certificate is published like Google's, so the functions
check them with the very code that checks production tokens.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

TOKEN_SECONDS = 3600
Account = dict[str, Any]


class Signer:
    """An RSA key and its self-signed certificate, published the way Google publishes
    securetoken's, so firebase-admin verifies these tokens with its usual checks."""

    def __init__(self) -> None:
        import datetime as dt

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localcloud-auth")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
        self.kid = secrets.token_hex(8)
        self.key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        self.certs = json.dumps({self.kid: cert_pem}).encode()

    def token(self, project: str, account: Account) -> str:
        """An ID token for ``account``: its custom claims at the top level, as Firebase's."""
        from google.auth import crypt, jwt

        now = int(time.time())
        claims = json.loads(account.get("customAttributes") or "{}")
        payload = {
            **claims,
            "iss": f"https://securetoken.google.com/{project}",
            "aud": project,
            "sub": account["localId"],
            "user_id": account["localId"],
            "iat": now,
            "exp": now + TOKEN_SECONDS,
            "auth_time": now,
            "firebase": {"sign_in_provider": "custom", "identities": {}},
        }
        if account.get("email"):
            payload |= {
                "email": account["email"],
                "email_verified": bool(account.get("emailVerified")),
            }
        signer = crypt.RSASigner.from_string(self.key_pem, key_id=self.kid)  # type: ignore[no-untyped-call]
        return str(jwt.encode(signer, payload).decode())  # type: ignore[no-untyped-call]
