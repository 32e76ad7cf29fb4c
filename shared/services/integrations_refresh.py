"""Refreshing social connections' tokens before they expire (``refresh_social_tokens``,
every 15 minutes).

A collection-group query finds the companies with active connections expiring within
``REFRESH_AHEAD``; the run fans out (``shared.services.periodic``): each such company's
task refreshes a page of its connections through the ``TokenRefresher`` port, each
rewritten only if nobody changed it meanwhile (a reconnect wins). A provider's refusal
marks the connection ``reconnect`` with the reason and the time, which staff see until
they reconnect; a provider that is down leaves it for the next run. A token nothing can
renew (Facebook's, one without a refresh token) is left alone while it lasts and marked
``expired`` once its time is up. A token that cannot be opened (the wrong key is
configured, or the document was tampered with), or a provider refusing our OAuth client
itself (a wrong client secret), leaves the connection untouched and fails the company's
task loudly after its other connections are done (retried, then failed and recorded on
the task), so a configuration mistake is noticed and destroys nothing. A refresh token
the provider rotates is sealed and stored like the old one.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from msgspec import Struct, field
from msgspec.structs import asdict

from shared.domain.common import as_utc
from shared.domain.integrations import (
    REFRESH_AHEAD,
    IntegrationStatus,
    NotRenewable,
    RefreshedToken,
    RefresherMisconfigured,
    RefreshFailed,
)
from shared.domain.secrets import Cipher, SecretUnreadable
from shared.errors import Transient
from shared.ports import DocumentStore, Filter, PagedStore, Snapshot, Write
from shared.services.periodic import Page, Step, page_of
from shared.services.task_handlers import TaskContext

log = logging.getLogger("growthkit.integrations")

BATCH = 50  # connections per task (a provider call each); a company with more continues


class TokenRefresher(Protocol):
    def refresh(self, platform: str, refresh_token: str, now: datetime) -> RefreshedToken:
        """New tokens; ``RefreshFailed`` when the provider refuses for good,
        ``NotRenewable`` when it has no refresh grant, ``Transient`` when it cannot
        answer now."""
        ...


class RefreshResult(Struct):
    due: int = 0
    refreshed: int = 0
    reconnect: int = 0  # refused: staff must connect the account again
    expired: int = 0  # its time is up and nothing could renew it
    retry_later: int = 0
    unreadable: list[str] = field(default_factory=list)
    misconfigured: list[str] = field(default_factory=list)


def due_page(store: PagedStore, when: datetime, after: Snapshot | None, limit: int) -> Page:
    """The refresh's source: a page of the active connections expiring within
    ``REFRESH_AHEAD`` of the run's time, across every company, soonest first: their
    companies, each once."""
    due = store.query(
        "social_connections",
        [Filter("status", "==", "active"), Filter("expires_at", "<=", when + REFRESH_AHEAD)],
        order_by=[("expires_at", False)],
        limit=limit,
        collection_group=True,
        start_after=after,
    )
    return page_of(due, limit, ("expires_at",))


def refresh_unit(
    ctx: TaskContext, company_id: str, _when: datetime, after: Snapshot | None
) -> Step:
    """A page of one company's connections due as of now, refreshed with the deploy's
    key and OAuth clients (``run_task`` has both)."""
    from shared.adapters.crypto import cipher
    from shared.adapters.token_refresher import token_refresher

    result, cursor = refresh_company_tokens(
        ctx.store, cipher(), token_refresher(), ctx.now, company_id, after
    )
    return Step(asdict(result), cursor)


def refresh_company_tokens(
    store: DocumentStore,
    cipher: Cipher,
    refresher: TokenRefresher,
    now: datetime,
    company_id: str,
    after: Snapshot | None = None,
) -> tuple[RefreshResult, Snapshot | None]:
    """Refresh a page of one company's active connections expiring within
    ``REFRESH_AHEAD`` of ``now``.

    Args:
        store: The document store.
        cipher: Opens the refresh tokens and seals the new tokens.
        refresher: Asks each platform for new tokens.
        now: The run's time.
        company_id: The company.
        after: Where the page starts (None: the first).

    Returns:
        How many were due, refreshed, marked reconnect or expired, and left for the
        next run; the cursor of the next page, if the page was full.

    Raises:
        SecretUnreadable: Some tokens could not be opened (after all the others ran).
        RefresherMisconfigured: A provider refused our OAuth client (after the others ran).
    """
    due = store.query(
        f"companies/{company_id}/social_connections",
        [Filter("status", "==", "active"), Filter("expires_at", "<=", now + REFRESH_AHEAD)],
        order_by=[("expires_at", False)],
        limit=BATCH,
        start_after=after,
    )
    result = RefreshResult(due=len(due))
    for snap in due:
        _refresh_one(store, cipher, refresher, now, snap, result)
    log.info("token refresh of %s: %s", company_id, result)
    if result.unreadable:
        raise SecretUnreadable(
            f"{len(result.unreadable)} connection(s) have tokens this key cannot open: "
            + "; ".join(result.unreadable)
        )
    if result.misconfigured:
        raise RefresherMisconfigured("; ".join(dict.fromkeys(result.misconfigured)))
    return result, page_of(due, BATCH, ("expires_at",)).cursor


def _refresh_one(
    store: DocumentStore,
    cipher: Cipher,
    refresher: TokenRefresher,
    now: datetime,
    snap: Snapshot,
    result: RefreshResult,
) -> None:
    try:
        update, outcome = _attempt(cipher, refresher, now, snap)
        _commit(store, snap, update)
    except SecretUnreadable as err:
        log.error("token refresh of %s: %s", snap.path, err)
        result.unreadable.append(str(err))
        return
    except RefresherMisconfigured as err:
        log.error("token refresh of %s: %s", snap.path, err)
        result.misconfigured.append(str(err))
        return
    # A provider timeout, Contention (a reconnect won), or a token that cannot be renewed
    # but still works.
    except Transient as err:
        log.warning("token refresh of %s deferred: %s", snap.path, err)
        result.retry_later += 1
        return
    if outcome == "refreshed":
        result.refreshed += 1
        return
    log.warning("connection %s is now %s: %s", snap.path, outcome, update["error_message"])
    setattr(result, outcome, getattr(result, outcome) + 1)


def _attempt(
    cipher: Cipher, refresher: TokenRefresher, now: datetime, snap: Snapshot
) -> tuple[dict[str, object], str]:
    """The connection's update after asking for new tokens, and which outcome it is
    (refreshed, reconnect or expired); ``Transient`` when it is left for the next run."""
    data = snap.data or {}
    platform = str(data.get("platform") or snap.path.rsplit("/", 1)[1])
    sealed = data.get("refresh_token")
    try:
        if not sealed:
            raise NotRenewable("there is no refresh token")
        token = cipher.open(sealed, f"{snap.path}#refresh_token")
        fresh = refresher.refresh(platform, token, now)
    except RefreshFailed as err:
        reason = f"Token refresh failed: {err}."
        return _status(IntegrationStatus.RECONNECT, platform, reason, now), "reconnect"
    except NotRenewable as err:
        return _run_out(platform, data.get("expires_at"), str(err), now), "expired"
    return _refreshed(cipher, snap.path, fresh, now), "refreshed"


def _run_out(platform: str, expires_at: object, why: str, now: datetime) -> dict[str, object]:
    """A token nothing can renew: expired once its time is up; until then it still works,
    so the run leaves it (``Transient``: counted as left for later)."""
    if not isinstance(expires_at, datetime) or as_utc(expires_at) > now:
        raise Transient(f"{platform} token cannot be renewed ({why}); it works until it expires")
    when = as_utc(expires_at).strftime("%Y-%m-%d %H:%M UTC")
    reason = f"The token expired at {when} and cannot be renewed ({why})."
    return _status(IntegrationStatus.EXPIRED, platform, reason, now) | {"expired_at": now}


def _refreshed(
    cipher: Cipher, path: str, fresh: RefreshedToken, now: datetime
) -> dict[str, object]:
    update: dict[str, object] = {
        "access_token": cipher.seal(fresh.access_token, f"{path}#access_token"),
        "expires_at": fresh.expires_at,
        "last_refreshed_at": now,
        "error_message": None,
        "updated_at": now,
    }
    if fresh.refresh_token:
        update["refresh_token"] = cipher.seal(fresh.refresh_token, f"{path}#refresh_token")
    return update


def _status(
    status: IntegrationStatus, platform: str, reason: str, now: datetime
) -> dict[str, object]:
    message = f"{reason} Reconnect the {platform} account."
    return {
        "status": status.value,
        "error_message": message[:500],
        "status_changed_at": now,
        "updated_at": now,
    }


def _commit(store: DocumentStore, snap: Snapshot, update: dict[str, object]) -> None:
    """Write ``update`` unless the connection changed since it was read (staff just
    reconnected it: their tokens win; ``Contention`` defers it to the next run)."""
    store.commit([Write(snap.path, update, "update", if_update_time=snap.update_time)])
