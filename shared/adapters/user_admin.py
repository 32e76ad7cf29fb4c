"""The ``UserAdmin`` port on firebase-admin: Firebase Auth accounts and custom claims.

In production the calls go to the Identity Toolkit API with the function's service
account. Locally and in tests ``GROWTHKIT_AUTH_EMULATOR_HOST`` points this client, and
only it, at a local stand-in (``localcloud.auth``). The usual
``FIREBASE_AUTH_EMULATOR_HOST`` is not used on purpose: firebase-admin reads it for the
whole process and then accepts *unsigned* ID tokens, while staff token checks must stay
real everywhere.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from shared.domain.users import AuthAccount
from shared.errors import AlreadyExists, InvalidInput, NotFound, Transient

log = logging.getLogger("growthkit.user_admin")
EMULATOR_VARIABLE = "GROWTHKIT_AUTH_EMULATOR_HOST"
T = TypeVar("T")


def _account(record: Any) -> AuthAccount:
    valid_after = record.tokens_valid_after_timestamp  # milliseconds, or None
    return AuthAccount(
        record.uid,
        record.email,
        dict(record.custom_claims or {}),
        record.disabled,
        datetime.fromtimestamp(valid_after / 1000, UTC) if valid_after else None,
        bool(record.email_verified),
    )


def _call(fn: Callable[[], T]) -> T:
    """Run a firebase-admin call, its refusals as domain errors."""
    from firebase_admin import auth, exceptions

    try:
        return fn()
    except auth.EmailAlreadyExistsError as err:
        raise AlreadyExists("An account with that e-mail exists.") from err
    except auth.UserNotFoundError as err:
        raise NotFound("No such account.") from err
    except ValueError as err:  # firebase-admin's own argument checks
        raise InvalidInput(str(err)) from err
    except exceptions.FirebaseError as err:
        log.warning("Firebase Auth call failed: %s", err)
        raise Transient(f"Firebase Auth is unavailable: {err}") from err


class FirebaseUserAdmin:
    """Implements ``shared.services.users.UserAdmin``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, uid: str) -> AuthAccount | None:
        try:
            return _call(lambda: _account(self.client.get_user(uid)))
        except NotFound:
            return None

    def find_by_email(self, email: str) -> AuthAccount | None:
        try:
            return _call(lambda: _account(self.client.get_user_by_email(email)))
        except NotFound:
            return None

    def create(self, email: str, display_name: str | None) -> AuthAccount:
        record = _call(lambda: self.client.create_user(email=email, display_name=display_name))
        log.info("Firebase Auth account %s created", record.uid)
        return _account(record)

    def set_claims(self, uid: str, claims: dict[str, Any]) -> None:
        _call(lambda: self.client.set_custom_user_claims(uid, claims))

    def revoke_tokens(self, uid: str) -> None:
        _call(lambda: self.client.revoke_refresh_tokens(uid))
        log.info("tokens of %s revoked", uid)

    def delete(self, uid: str) -> None:
        _call(lambda: self.client.delete_user(uid))
        log.info("Firebase Auth account %s deleted", uid)

    def sign_in_link(self, email: str) -> str:
        # A password-reset link is how Firebase lets a new account choose its password.
        link: str = _call(lambda: self.client.generate_password_reset_link(email))
        return link


@functools.cache
def _client(project_id: str, emulator_host: str | None, production: bool) -> Any:
    """One firebase-admin Auth client per configuration (tests switch projects)."""
    from firebase_admin import _http_client, _user_mgt, _utils, auth

    from shared.adapters.auth import named_app

    # functools.cache lets two concurrent first calls both get here: named_app makes the
    # app once, under the lock the token checks use too.
    name = f"growthkit-users:{project_id}:{emulator_host or 'google'}"
    app = named_app(name, project_id, production)
    client = auth.Client(app)
    if emulator_host:
        # firebase-admin only offers the emulator through the process-wide variable; this
        # gives the one user manager of this client the emulator's URL and credentials.
        http = _http_client.JsonHttpClient(credential=_utils.EmulatorAdminCredentials())
        url = f"http://{emulator_host}/identitytoolkit.googleapis.com/v1"
        client._user_manager = _user_mgt.UserManager(http, project_id, url_override=url)
    return client


def user_admin_for(project_id: str, emulator_host: str | None) -> FirebaseUserAdmin:
    """The adapter for an explicit target (operator commands): the stand-in at
    ``emulator_host``, or, without one, Google with application default credentials."""
    return FirebaseUserAdmin(_client(project_id, emulator_host, emulator_host is None))


def user_admin() -> FirebaseUserAdmin:
    """The adapter for the configured project (and local stand-in, if any)."""
    from shared.settings import get_settings

    settings = get_settings()
    # Read here rather than in Settings: nothing else may ever see the stand-in.
    host = os.environ.get(EMULATOR_VARIABLE) or None
    production = settings.environment == "production"
    if host and production:
        raise RuntimeError("GROWTHKIT_AUTH_EMULATOR_HOST must not be set in production")
    return FirebaseUserAdmin(_client(settings.project_id, host, production))
