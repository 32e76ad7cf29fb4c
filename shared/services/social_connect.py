"""Connecting social accounts by OAuth 2.0 with PKCE (``shared.domain.oauth``).

``start`` (admins, through ``integrations``) stores a single-use ``state`` bound to the
company, the admin, the connection and a sealed PKCE verifier, and answers the platform's
authorization URL. ``finish`` (the public ``oauth_callback``) honours only a known,
unused, unexpired state, burning it first (two callbacks with one state: one goes on);
then the platform's code is redeemed with the verifier through the ``AccountLinker`` port
and the connection is written, its tokens sealed for its document and field, ``active``.
A refusal anywhere (unknown, used or expired state, consent refused, a code the platform
will not take) stores nothing but the burnt state, and says what to do.

Admins only: connecting stores credentials that publish in the company's name, which is
what PATCHing tokens needs; managers see each connection's status.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from msgspec import Struct
from pydantic import ValidationError

from shared.domain.identity import Role, StaffIdentity
from shared.domain.integrations import IntegrationStatus, connection_check, connection_path
from shared.domain.oauth import (
    APP_OF,
    NAMES,
    STATE_TTL,
    AuthorizeRequest,
    CallbackQuery,
    LinkedAccount,
    OAuthApp,
    OAuthState,
    authorize_url,
    code_challenge,
    connection_target,
    new_state,
    new_verifier,
    state_path,
    state_ref,
    state_refusal,
)
from shared.domain.secrets import Cipher
from shared.errors import DomainError, InvalidInput, Refused
from shared.ports import DocumentStore, Transaction, Write

log = logging.getLogger("growthkit.integrations")

START_AGAIN = "Nothing was connected: start again from the app."


def refusal(why: str) -> DomainError:
    """The error for a state that is ``unknown``, ``used`` or ``expired``."""
    if why == "used":
        return Refused(f"This connection request was used already. {START_AGAIN}")
    if why == "expired":
        minutes = int(STATE_TTL.total_seconds() // 60)
        return Refused(
            f"This connection request expired (each lasts {minutes} minutes). {START_AGAIN}"
        )
    return InvalidInput(f"This connection request is not one we made. {START_AGAIN}")


class CodeGrant(Struct, frozen=True):
    """An authorization code to redeem, with what it is bound to (kept out of ``repr``)."""

    platform: str
    code: str
    verifier: str
    redirect_uri: str
    now: datetime
    page_id: str | None = None

    def __repr__(self) -> str:
        return f"CodeGrant(platform={self.platform!r})"


class AccountLinker(Protocol):
    def link(self, app: OAuthApp, grant: CodeGrant) -> LinkedAccount:
        """Redeem the code and find the account it connects: ``Refused`` when the platform
        refuses (the code, our client) or the account cannot publish (no Page, no
        Instagram account), ``Transient`` when the platform cannot answer now."""
        ...


class Connected(Struct, frozen=True):
    company_id: str
    connection_id: str
    platform: str
    username: str | None


def start(
    store: DocumentStore,
    cipher: Cipher,
    apps: Mapping[str, OAuthApp],
    now: datetime,
    staff: StaffIdentity,
    *,
    company_id: str,
    connection_id: str,
    body: dict[str, Any],
    redirect_uri: str,
) -> dict[str, Any]:
    """Begin connecting ``connection_id`` (``linkedin``, ``x``, ``facebook-shop``...).

    Returns:
        ``authorize_url`` (where to send the admin's browser), ``state``, ``expires_at``,
        ``connection_id``, ``platform`` and ``redirect_uri``.

    Raises:
        PermissionDenied: not an admin of the company. InvalidInput: not a connection
        OAuth makes, or ``page_id`` where no Page is chosen. Refused: the platform's
        OAuth client is not configured.
    """
    staff.require_company(company_id)
    staff.require_role(Role.ADMIN)
    platform, label = _target(connection_id)
    request = AuthorizeRequest.model_validate(body)
    if request.page_id and APP_OF[platform] != "facebook":
        raise InvalidInput("page_id chooses a Facebook Page: only for facebook and instagram.")
    app = _app(apps, platform)
    verifier = new_verifier()
    state, record = new_state(company_id)
    path = state_path(company_id, record)
    held = OAuthState(
        company_id=company_id,
        connection_id=f"{platform}-{label}" if label else platform,
        platform=platform,
        label=label,
        staff_uid=staff.uid,
        verifier=cipher.seal(verifier, f"{path}#verifier"),
        redirect_uri=redirect_uri,
        page_id=request.page_id,
        expires_at=now + STATE_TTL,
        created_at=now,
    )
    store.commit([Write(path, held.model_dump(), "create")])
    log.info("%s asked to connect %s for %s", staff.uid, held.connection_id, company_id)
    url = authorize_url(app, platform, state, code_challenge(verifier), redirect_uri)
    shown = held.model_dump(mode="json", include={"connection_id", "platform", "expires_at"})
    return {"authorize_url": url, "state": state, "redirect_uri": redirect_uri, **shown}


def _target(connection_id: str) -> tuple[str, str | None]:
    try:
        return connection_target(connection_id)
    except ValueError as err:
        raise InvalidInput(str(err)) from err


def _app(apps: Mapping[str, OAuthApp], platform: str) -> OAuthApp:
    app = apps.get(APP_OF[platform])
    if app is None:
        prefix = f"GROWTHKIT_OAUTH_{APP_OF[platform].upper()}"
        raise Refused(
            f"{NAMES[platform]} accounts cannot be connected here yet: the operator must "
            f"set {prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET."
        )
    return app


def finish(
    store: DocumentStore,
    cipher: Cipher,
    linker: AccountLinker,
    apps: Mapping[str, OAuthApp],
    now: datetime,
    query: Mapping[str, str],
) -> Connected:
    """Take the platform's answer (``code`` and ``state``, or ``error``) and store the
    account it connects.

    Raises:
        InvalidInput: a state we did not make, or an answer without a code. Refused: a
        used or expired state, consent refused, or the platform refusing the code.
        Transient: the platform cannot answer now (start again).
    """
    answer = _callback(query)
    ref = state_ref(answer.state)
    if ref is None:
        log.info("oauth callback with a state we did not make")
        raise refusal("unknown")
    path = state_path(*ref)
    held = store.run_transaction(lambda tx: _claim(tx, path, now))
    name = NAMES[held.platform]
    if answer.error:
        said = f"{answer.error}: {answer.error_description}" if answer.error_description else ""
        log.info("%s refused connecting %s: %s", name, held.connection_id, said or answer.error)
        raise Refused(f"{name} did not connect the account ({said or answer.error}). {START_AGAIN}")
    if not answer.code:
        raise InvalidInput(f"{name} sent no authorization code. {START_AGAIN}")
    verifier = cipher.open(held.verifier, f"{path}#verifier")
    grant = CodeGrant(held.platform, answer.code, verifier, held.redirect_uri, now, held.page_id)
    account = linker.link(_app(apps, held.platform), grant)
    store.run_transaction(lambda tx: _store(tx, cipher, held, account, now))
    log.info(
        "connected %s of %s (%s), asked by %s",
        held.connection_id,
        held.company_id,
        account.platform_user_id,
        held.staff_uid,
    )
    return Connected(held.company_id, held.connection_id, held.platform, account.username)


def _callback(query: Mapping[str, str]) -> CallbackQuery:
    try:
        return CallbackQuery.model_validate(dict(query))
    except ValidationError as err:
        raise InvalidInput(f"The platform's answer is malformed. {START_AGAIN}") from err


def _claim(tx: Transaction, path: str, now: datetime) -> OAuthState:
    """The state at ``path``, burnt (``used_at``) in the same transaction, if honoured."""
    snap = tx.get(path)
    held = OAuthState.model_validate(snap.data) if snap.data is not None else None
    why = state_refusal(held, now)
    if held is None or why is not None:
        log.info("oauth callback refused: state %s", why)
        raise refusal(why or "unknown")
    tx.write(Write(path, {"used_at": now, "updated_at": now}, "update"))
    return held


def _store(
    tx: Transaction, cipher: Cipher, held: OAuthState, account: LinkedAccount, now: datetime
) -> None:
    """Write the connection: new, or the same one reconnected (its other fields kept)."""
    path = connection_path(held.company_id, held.connection_id)
    existing = tx.get(path).data
    data = _connection(cipher, path, held, account, existing, now)
    try:
        connection_check(data)
    except ValueError as err:
        raise Refused(f"{NAMES[held.platform]} gave too little to publish with: {err}.") from err
    if existing is None:
        data |= {"created_at": now, "created_by": held.staff_uid}
    tx.write(Write(path, data, "set" if existing is None else "update"))


def _connection(
    cipher: Cipher,
    path: str,
    held: OAuthState,
    account: LinkedAccount,
    existing: dict[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    """The connection's fields: the account, its tokens sealed, active as of now."""
    refresh = account.refresh_token
    data: dict[str, Any] = {
        "id": held.connection_id,
        "company_id": held.company_id,
        "platform": held.platform,
        "label": held.label,
        "platform_user_id": account.platform_user_id,
        "username": account.username,
        "access_token": cipher.seal(account.access_token, f"{path}#access_token"),
        "refresh_token": cipher.seal(refresh, f"{path}#refresh_token") if refresh else None,
        "expires_at": account.expires_at,
        "scopes": list(account.scopes),
        "page_id": account.page_id,
        "ig_user_id": account.ig_user_id,
        "status": IntegrationStatus.ACTIVE.value,
        "error_message": None,
        "expired_at": None,
        "status_changed_at": now,
        "updated_at": now,
        "updated_by": held.staff_uid,
    }
    same_member = (existing or {}).get("platform_user_id") == account.platform_user_id
    # An author an admin chose (an organization) stays while the same member reconnects.
    if not (same_member and (existing or {}).get("author_urn")):
        data["author_urn"] = account.author_urn
    return data
