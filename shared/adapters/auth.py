"""Verifying staff callers' Firebase ID tokens with firebase-admin.

Tokens carry custom claims ``company_id`` and ``role``. Verification is real RS256 against
Google's certificates; locally and in tests ``GROWTHKIT_ID_TOKEN_CERT_URL`` points the
certificate lookup at a local server, so expired, wrong-key and wrong-audience tokens are
refused exactly as in production.
"""

from __future__ import annotations

import functools
from typing import Any

from shared.domain.identity import StaffIdentity, identity_from_claims
from shared.errors import Unauthenticated


class _ProjectOnlyCredential:
    """firebase-admin wants a credential even where none is used (token checks only need
    public certificates): this one carries anonymous Google credentials."""

    def get_credential(self) -> Any:
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()  # type: ignore[no-untyped-call]


@functools.cache
def _firebase_app() -> Any:
    import firebase_admin
    from firebase_admin import _token_gen

    from shared.settings import get_settings

    settings = get_settings()
    if settings.id_token_cert_url:
        _token_gen.ID_TOKEN_CERT_URI = settings.id_token_cert_url
    credential = None if settings.environment == "production" else _ProjectOnlyCredential()
    return firebase_admin.initialize_app(
        credential, {"projectId": settings.project_id}, name="growthkit"
    )


def verify_bearer(authorization: str | None) -> StaffIdentity:
    """The caller behind an ``Authorization: Bearer <ID token>`` header."""
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthenticated("Send a Firebase ID token as 'Authorization: Bearer <token>'.")
    from firebase_admin import auth

    try:
        claims = auth.verify_id_token(authorization[7:].strip(), app=_firebase_app())
    except (
        ValueError,
        auth.InvalidIdTokenError,
        auth.ExpiredIdTokenError,
        auth.CertificateFetchError,
    ) as err:
        raise Unauthenticated(f"Invalid ID token: {err}") from err
    return identity_from_claims(claims)
