"""Verifying staff callers' Firebase ID tokens with firebase-admin.

Tokens carry custom claims ``company_id`` and ``role``. Verification is real RS256 against
Google's certificates; locally and in tests ``GROWTHKIT_ID_TOKEN_CERT_URL`` points the
certificate lookup at a local server, so expired, wrong-key and wrong-audience tokens are
refused exactly as in production.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from shared.domain.identity import StaffIdentity, identity_from_claims
from shared.errors import Unauthenticated

_DEFAULT_CERT_URL = (
    "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
)


def _anonymous_credential() -> Any:
    """firebase-admin wants a credential even where none is used (token checks only need
    public certificates): locally it gets one carrying anonymous Google credentials."""
    from firebase_admin import credentials
    from google.auth.credentials import AnonymousCredentials

    class Anonymous(credentials.Base):  # type: ignore[misc]
        def get_credential(self) -> Any:
            return AnonymousCredentials()  # type: ignore[no-untyped-call]

    return Anonymous()


_APP_NAME = "growthkit"
# Concurrent first requests (an instance serves several threads) would otherwise both find
# no app, both initialise it, and the loser's "already exists" ValueError would read as an
# invalid token: a 401 for a valid caller. Reentrant: _firebase_app holds it around
# named_app.
_APP_LOCK = threading.RLock()


def named_app(name: str, project_id: str, production: bool) -> Any:
    """The firebase-admin app called ``name``, made once even when threads ask at once
    (the token checks here and the user admin share this)."""
    import firebase_admin

    with _APP_LOCK:
        try:
            return firebase_admin.get_app(name)
        except ValueError:  # not initialised yet
            credential = None if production else _anonymous_credential()
            return firebase_admin.initialize_app(credential, {"projectId": project_id}, name=name)


def _firebase_app() -> Any:
    """The firebase-admin app for the configured project (rebuilt if settings changed)."""
    import firebase_admin
    from firebase_admin import _token_gen

    from shared.settings import get_settings

    settings = get_settings()
    cert_url = settings.id_token_cert_url or _DEFAULT_CERT_URL
    with _APP_LOCK:
        try:
            app = firebase_admin.get_app(_APP_NAME)
            if app.project_id == settings.project_id and _token_gen.ID_TOKEN_CERT_URI == cert_url:
                return app
            firebase_admin.delete_app(app)
        except ValueError:
            pass  # not initialised yet
        _token_gen.ID_TOKEN_CERT_URI = cert_url
        production = settings.environment == "production"
        return named_app(_APP_NAME, settings.project_id, production)


def verify_bearer(authorization: str | None) -> StaffIdentity:
    """The staff member behind an ``Authorization: Bearer <ID token>`` header."""
    return identity_from_claims(verify_token(authorization))


def verify_token(authorization: str | None) -> dict[str, Any]:
    """The verified claims of an ``Authorization: Bearer <ID token>`` header, whether or
    not they make the caller staff (an invitee's first sign-in has no company yet)."""
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
    from shared.settings import get_settings

    if get_settings().revocation_checked:
        _refuse_revoked(claims)
    verified: dict[str, Any] = claims
    return verified


def _refuse_revoked(claims: dict[str, Any]) -> None:
    """What ``check_revoked`` does in firebase-admin, through the user-management adapter
    (so locally it asks the stand-in, while signatures are still checked for real): the
    account must exist, be enabled and not have revoked tokens issued when this one was."""
    from shared.adapters.user_admin import user_admin

    account = user_admin().get(str(claims["sub"]))  # Transient if Firebase Auth is down
    if account is None:
        raise Unauthenticated("The account of this ID token no longer exists.")
    if account.disabled:
        raise Unauthenticated("This account is disabled.")
    issued = datetime.fromtimestamp(int(claims["iat"]), UTC)
    if account.tokens_valid_after is not None and issued < account.tokens_valid_after:
        raise Unauthenticated(
            "This ID token was revoked (membership or role changed): sign in again."
        )
