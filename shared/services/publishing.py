"""Publishing one content item to its platforms, at most once per platform.

First the content's platforms are settled: content without any goes where its type goes
by default (a blog post to ``blog``, which stands for every WordPress connection of the
company), or fails with the reason staff see (e-mail, social content naming none).

Then per platform: a transaction on the content and the ledger claims it, recording the
request about to go out (``sent_at``, the run's ``lease_until``, one more attempt); a
platform already published (or in the ledger, whose state is restored), rate-limited
until later, or being sent by another live run is left alone. The publisher posts with
the post's idempotency key, and the outcome is committed under a precondition on the
content; a published state together with a create-only ledger record
(``companies/{c}/publications/{content_id}-{platform}``), so no run publishes twice.

Never twice: a request whose outcome is unknown (``Unconfirmed``: sent and not answered,
or refused as a duplicate) is followed by a lookup (``Publisher.find``): found, it is
published; not found, the platform is ``unknown``, for staff to check, never posted again
by itself; the lookup failing, the next run looks again. A run that died with a request
out (``sent_at`` set, its lease past) is followed by the same lookup.

Errors: ``Unauthenticated`` or ``PermissionDenied`` fail the platform at once with reason
``reconnect`` and mark its connection ``reconnect``; ``RetryLater`` leaves it pending
until the time given (the task is rescheduled for it); ``Transient`` leaves it pending
for a retry (failed after ``MAX_ATTEMPTS``); any other ``DomainError`` fails it with the
platform's message.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal, NoReturn, Protocol

from msgspec import Struct

from shared.domain.content import (
    IN_FLIGHT,
    RECONNECT,
    Content,
    PlatformState,
    PlatformStatus,
    Post,
    Receipt,
    content_path,
    ledger_path,
    post_for,
    state_from_ledger,
    stored_fields,
    with_platform,
)
from shared.domain.integrations import IntegrationStatus, connection_of, connection_path
from shared.domain.publishing import (
    claimed,
    default_platforms,
    failure,
    look_again,
    published,
    retried,
    unknown,
    with_destinations,
    without_platforms,
)
from shared.errors import (
    AlreadyExists,
    Contention,
    DomainError,
    NotFound,
    PermissionDenied,
    RetryLater,
    Transient,
    Unauthenticated,
    Unconfirmed,
)
from shared.ports import DocumentStore, Snapshot, Transaction, Write

log = logging.getLogger("growthkit.publishing")

_RECORD_ATTEMPTS = 5


class Publisher(Protocol):
    """Posts content to one platform (a blog, LinkedIn, a webhook...).

    ``publish`` raises ``Unconfirmed`` when the request may have acted without an answer
    to show for it, ``RetryLater`` for a rate limit with a time to come back, ``Transient``
    for other failures worth retrying, ``Unauthenticated`` or ``PermissionDenied`` when the
    account must be reconnected, and any other ``DomainError`` for a refusal.
    ``post.idempotency_key`` is the same on every retry.
    """

    def publish(self, post: Post) -> Receipt: ...

    def find(self, post: Post) -> Receipt | None:
        """The post if the platform has it; None if it has not, or cannot be asked."""
        ...

    def destinations(self, company_id: str, platform: str) -> list[str]:
        """What a content platform name posts to: ``blog``, each WordPress connection
        (none: nowhere); any other name, itself."""
        ...


class _Claim(Struct, frozen=True):
    """What a run does for one platform: skip it, wait (rate-limited, or another run is
    sending), send the post, or recover (look up a request a dead run left out)."""

    action: Literal["skip", "wait", "send", "recover"]
    content: Content
    state: PlatformState


def parse(snap: Snapshot, content_id: str) -> Content:
    """The content in ``snap``; NotFound when it does not exist."""
    if snap.data is None:
        raise NotFound(f"No content {content_id}.")
    return Content.model_validate({**snap.data, "id": content_id})


def load(store: DocumentStore, company_id: str, content_id: str) -> tuple[Snapshot, Content]:
    """Read one content item (one round trip); NotFound when it does not exist."""
    snap = store.get_all([content_path(company_id, content_id)])[0]
    return snap, parse(snap, content_id)


def publish(
    store: DocumentStore,
    publisher: Publisher,
    now: datetime,
    *,
    company_id: str,
    content_id: str,
    scheduled_at: datetime | None = None,
) -> Content:
    """Publish every platform of a content item that is not published yet.

    Args:
        store: Holds the content and the publication ledger.
        publisher: Posts to the platforms.
        now: The time of the attempt.
        company_id: The tenant.
        content_id: The content item.
        scheduled_at: The time the task was scheduled for; when the content has since
            been rescheduled or unscheduled, nothing is published.

    Returns:
        The content as stored after the attempt.

    Raises:
        NotFound: the content is gone. RetryLater: every platform left pending is
            rate-limited (the earliest time they may be called). Transient: a platform
            failed transiently (its state is recorded as pending with the error).
    """
    snap, content = load(store, company_id, content_id)
    if scheduled_at is not None and not content.due_at(scheduled_at):
        log.info("content %s was rescheduled or unscheduled; not publishing", content_id)
        return content
    content = _settle_platforms(store, publisher, now, company_id, snap, content)
    waiting: dict[str, PlatformState] = {}
    for platform in content.platforms:
        state = _publish_platform(store, publisher, now, company_id, content_id, platform)
        if state is not None and state.status is PlatformStatus.PENDING:
            waiting[platform] = state
    if waiting:
        _retry(now, content_id, waiting)
    return load(store, company_id, content_id)[1]


def _retry(now: datetime, content_id: str, waiting: dict[str, PlatformState]) -> NoReturn:
    """Have the task retried: at the earliest time given when every platform left waits
    for one (a rate limit), else as soon as the queue retries."""
    notes = "; ".join(f"{p}: {s.error}" for p, s in waiting.items())
    message = f"Publishing {content_id} will be retried: {notes}"
    times = [s.retry_at for s in waiting.values()]
    later = [t for t in times if t is not None and t > now]
    if len(later) == len(times):
        raise RetryLater(message, min(later))
    raise Transient(message)


def _settle_platforms(
    store: DocumentStore,
    publisher: Publisher,
    now: datetime,
    company_id: str,
    snap: Snapshot,
    content: Content,
) -> Content:
    """The content with its platforms named and ``blog`` expanded, stored when that
    changed anything (content with nowhere to go is stored failed, with the reason)."""
    try:
        named = content.platforms or default_platforms(content)
    except ValueError as err:
        settled = without_platforms(content, str(err), now)
    else:
        pending = [p for p in named if content.state(p).status is PlatformStatus.PENDING]
        found = {p: publisher.destinations(company_id, p) for p in pending}
        settled = with_destinations(content.model_copy(update={"platforms": named}), found, now)
    fields = ("platforms", "platform_status", "status", "failure_reason")
    if all(getattr(settled, f) == getattr(content, f) for f in fields):
        return content
    store.commit([Write(snap.path, stored_fields(settled), "update", snap.update_time)])
    log.info("content %s goes to %s (%s)", content.id, settled.platforms, settled.status)
    return settled


def _publish_platform(
    store: DocumentStore,
    publisher: Publisher,
    now: datetime,
    company_id: str,
    content_id: str,
    platform: str,
) -> PlatformState | None:
    """One platform: claim it, then send or look up, and record what came of it.
    Returns the state it is left in, or None when there was nothing to do."""
    claim = store.run_transaction(lambda tx: _claim(tx, now, company_id, content_id, platform))
    if claim.action == "skip":
        return None
    if claim.action == "wait":
        return claim.state
    post = post_for(company_id, claim.content, platform)
    refused: str | None = None
    if claim.action == "recover":
        log.warning("%s of %s: a run died with the post out; looking it up", platform, content_id)
        result = _look_up(publisher, post, claim.state, now, "The run sending it died.")
    else:
        result, refused = _attempt(publisher, post, claim.state, now)
    state = _record(store, now, content_path(company_id, content_id), platform, result)
    if refused is not None:
        _mark_reconnect(store, now, company_id, platform, refused)
    return state


def _claim(
    tx: Transaction, now: datetime, company_id: str, content_id: str, platform: str
) -> _Claim:
    path = content_path(company_id, content_id)
    snap, ledger = tx.get_all([path, ledger_path(company_id, content_id, platform)])
    content = parse(snap, content_id)
    state = content.state(platform)
    if state.status is not PlatformStatus.PENDING or platform not in content.platforms:
        return _Claim("skip", content, state)
    if ledger.data is not None:  # published, but the content was rewritten since: restore
        restored = with_platform(content, platform, state_from_ledger(ledger.data), now)
        tx.write(Write(path, stored_fields(restored), "update"))
        return _Claim("skip", content, state)
    if state.lease_until is not None and state.lease_until > now:
        busy = {"error": "another run is publishing it", "retry_at": None}
        return _Claim("wait", content, state.model_copy(update=busy))
    if state.retry_at is not None and state.retry_at > now:
        return _Claim("wait", content, state)
    taken = claimed(state, now, IN_FLIGHT)
    tx.write(Write(path, stored_fields(with_platform(content, platform, taken, now)), "update"))
    return _Claim("recover" if state.sent_at else "send", content, taken)


def _attempt(
    publisher: Publisher, post: Post, state: PlatformState, now: datetime
) -> tuple[PlatformState, str | None]:
    """The state after sending the post, and the platform's words when it refused the
    account (to be reconnected)."""
    try:
        receipt = publisher.publish(post)
    except Unconfirmed as err:
        log.warning("%s of %s unconfirmed (%s); looking it up", post.platform, post.content_id, err)
        return _look_up(publisher, post, state, now, err.message), None
    except (Unauthenticated, PermissionDenied) as err:
        log.warning("%s refused %s, reconnect the account: %s", post.platform, post.content_id, err)
        return failure(state, RECONNECT), err.message
    except RetryLater as err:
        return retried(state, err.message, err.at), None
    except Transient as err:
        return retried(state, err.message), None
    except DomainError as err:
        log.warning("%s refused %s: %s", post.platform, post.content_id, err)
        return failure(state, err.message), None
    log.info("published %s to %s: %s", post.content_id, post.platform, receipt.url)
    return published(state, receipt, now), None


def _look_up(
    publisher: Publisher, post: Post, state: PlatformState, now: datetime, why: str
) -> PlatformState:
    """After a request that may have posted: published if the platform has the post,
    ``unknown`` if not (never sent again by itself), pending to look again if the
    lookup failed."""
    try:
        receipt = publisher.find(post)
    except DomainError as err:
        return look_again(state, f"{why} Looking it up failed ({err.message}); will look again.")
    if receipt is None:
        log.warning(
            "%s of %s: not found after %s; marked unknown", post.platform, post.content_id, why
        )
        return unknown(state, f"{why} The post was not found: check {post.platform} first.")
    log.info("%s of %s was posted after all: %s", post.platform, post.content_id, receipt.url)
    return published(state, receipt, now)


def _record(
    store: DocumentStore, now: datetime, path: str, platform: str, state: PlatformState
) -> PlatformState:
    """Commit one platform's state (and, for a new publication, its ledger record)
    atomically; retried on contention, since the outcome is known and must not be lost."""
    content_id = path.rsplit("/", 1)[1]
    ledger = ledger_path(path.split("/")[1], content_id, platform)
    new_ledger = state.status is PlatformStatus.PUBLISHED
    for _ in range(_RECORD_ATTEMPTS):
        snap = store.get_all([path])[0]
        content = parse(snap, content_id)
        if content.state(platform).status is PlatformStatus.PUBLISHED:
            return content.state(platform)  # a concurrent run recorded it first
        updated = with_platform(content, platform, state, now)
        writes = [Write(path, stored_fields(updated), "update", if_update_time=snap.update_time)]
        if new_ledger:
            record = {"content_id": content_id, "platform": platform, **state.model_dump()}
            writes.append(Write(ledger, record, "create"))
        try:
            store.commit(writes)
            return state
        except AlreadyExists:
            new_ledger = False  # a concurrent run of the task recorded the same post
        except Contention:
            log.info("content %s changed while recording %s; retrying", content_id, platform)
    raise Contention(f"Could not record {platform} for content {content_id}.")


def _mark_reconnect(
    store: DocumentStore, now: datetime, company_id: str, platform: str, said: str
) -> None:
    """Mark the connection the platform refused as to be reconnected, with its words."""
    path = connection_path(company_id, connection_of(platform))
    message = f"{platform} refused the account while publishing: {said} Reconnect it."
    update = {"status": IntegrationStatus.RECONNECT.value, "error_message": message[:500]}
    try:
        store.commit(
            [Write(path, update | {"status_changed_at": now, "updated_at": now}, "update")]
        )
    except NotFound:
        log.info("no connection %s to mark for reconnecting", path)
        return
    log.warning("connection %s marked reconnect: %s", path, said)
