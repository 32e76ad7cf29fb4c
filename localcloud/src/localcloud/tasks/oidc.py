"""OIDC ID tokens for HTTP tasks, signed with a key that lives in this process.

The claims mirror Google's service-account ID tokens (iss, aud, azp, sub, email,
email_verified, iat, exp) so handlers can read them the same way; the signature is
RS256 with a key generated at first use, whose public half ``public_keys()`` returns
for handlers or tests that verify it (``google.auth.jwt.decode(token, certs=...)``).
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

TOKEN_LIFETIME_SECONDS = 3600
ISSUER = "https://accounts.google.com"


class TokenMinter:
    """Mints ID tokens; the RSA key is created lazily (it takes a noticeable moment)."""

    key_id = "localcloud-tasks"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._signer: Any = None
        self._public_pem = ""

    def _ensure_key(self) -> Any:
        with self._lock:
            if self._signer is None:
                from cryptography.hazmat.primitives import serialization
                from cryptography.hazmat.primitives.asymmetric import rsa
                from google.auth import crypt

                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                private_pem = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                self._public_pem = (
                    key.public_key()
                    .public_bytes(
                        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                    )
                    .decode()
                )
                signer_class: Any = crypt.RSASigner  # google-auth ships no type hints
                self._signer = signer_class.from_string(private_pem, self.key_id)
            return self._signer

    def public_keys(self) -> dict[str, str]:
        """``{key id: public key PEM}``: the ``certs`` argument of google.auth.jwt.decode."""
        self._ensure_key()
        return {self.key_id: self._public_pem}

    def mint(self, audience: str, email: str, now: float) -> str:
        from google.auth import jwt

        # A stable numeric subject per account, like a service account's unique id.
        subject = str(int(hashlib.sha256(email.encode()).hexdigest()[:15], 16))
        issued = int(now)
        claims = {
            "iss": ISSUER,
            "aud": audience,
            "azp": subject,
            "sub": subject,
            "email": email,
            "email_verified": True,
            "iat": issued,
            "exp": issued + TOKEN_LIFETIME_SECONDS,
        }
        encode: Any = jwt.encode  # google-auth ships no type hints
        token: bytes = encode(self._ensure_key(), claims)
        return token.decode()
