"""Publishing one content item to its platforms, at most once per platform.

Per platform: the stored state is checked first (then the ledger), the publisher is called
with an idempotency key, and the outcome is committed under a precondition on the content;
a published state is committed together with a create-only ledger record
(``companies/{c}/publications/{content_id}-{platform}``), so a retried or concurrent run
never publishes a platform twice. Transient failures are recorded (pending, with the
error) and raised for a retry; auth failures fail at once with reason "reconnect".
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from shared.domain.content import (
    MAX_ATTEMPTS,
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
from shared.errors import (
    AlreadyExists,
    Contention,
    DomainError,
    NotFound,
    PermissionDenied,
    Transient,
    Unauthenticated,
)
from shared.ports import DocumentStore, Snapshot, Write

log = logging.getLogger("growthkit.publishing")

_RECORD_ATTEMPTS = 5


class Publisher(Protocol):
    """Posts content to one platform (blog, LinkedIn, a newsletter...).

    Implementations raise ``Transient`` for failures worth retrying, ``Unauthenticated``
    or ``PermissionDenied`` when the account must be reconnected, and any other
    ``DomainError`` for a permanent refusal. ``post.idempotency_key`` is the same on every
    retry, for providers that deduplicate.
    """

    def publish(self, post: Post) -> Receipt: ...


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
        NotFound: the content is gone. Transient: a platform failed transiently (its
            state is recorded as pending with the error); retry to finish the rest.
    """
    snap, content = load(store, company_id, content_id)
    if scheduled_at is not None and not content.due_at(scheduled_at):
        log.info("content %s was rescheduled or unscheduled; not publishing", content_id)
        return content
    retry: list[str] = []
    for platform in content.platforms:
        state = _publish_platform(store, publisher, now, company_id, content_id, platform)
        if state is not None and state.status is PlatformStatus.PENDING:
            retry.append(f"{platform}: {state.error}")
    if retry:
        raise Transient(f"Publishing {content_id} will be retried: {'; '.join(retry)}")
    return load(store, company_id, content_id)[1]


def _publish_platform(
    store: DocumentStore,
    publisher: Publisher,
    now: datetime,
    company_id: str,
    content_id: str,
    platform: str,
) -> PlatformState | None:
    """One platform: skip it if already done (the state, then the ledger), else publish
    and record. Returns the recorded state, or None when there was nothing to do."""
    snap, ledger = store.get_all(
        [content_path(company_id, content_id), ledger_path(company_id, content_id, platform)]
    )
    content = parse(snap, content_id)
    state = content.state(platform)
    if state.status is not PlatformStatus.PENDING:
        return None
    if ledger.data is not None:  # published, but the content was rewritten since: restore
        return _record(store, now, snap, platform, state_from_ledger(ledger.data), False)
    result = _attempt(publisher, post_for(company_id, content, platform), state, now)
    return _record(store, now, snap, platform, result, result.status is PlatformStatus.PUBLISHED)


def _attempt(
    publisher: Publisher, post: Post, state: PlatformState, now: datetime
) -> PlatformState:
    attempts = state.attempts + 1
    try:
        receipt = publisher.publish(post)
    except (Unauthenticated, PermissionDenied) as err:
        log.warning("%s refused %s, reconnect the account: %s", post.platform, post.content_id, err)
        return PlatformState(status=PlatformStatus.FAILED, error=RECONNECT, attempts=attempts)
    except Transient as err:
        failed = attempts >= MAX_ATTEMPTS
        status = PlatformStatus.FAILED if failed else PlatformStatus.PENDING
        return PlatformState(status=status, error=err.message, attempts=attempts)
    except DomainError as err:
        return PlatformState(status=PlatformStatus.FAILED, error=err.message, attempts=attempts)
    log.info("published %s to %s: %s", post.content_id, post.platform, receipt.url)
    return PlatformState(
        status=PlatformStatus.PUBLISHED, url=receipt.url, attempts=attempts, published_at=now
    )


def _record(
    store: DocumentStore,
    now: datetime,
    snap: Snapshot,
    platform: str,
    state: PlatformState,
    new_ledger: bool,
) -> PlatformState:
    """Commit one platform's state (and, for a new publication, its ledger record)
    atomically; retried on contention, since the outcome is known and must not be lost."""
    content_id = snap.path.rsplit("/", 1)[1]
    ledger = ledger_path(snap.path.split("/")[1], content_id, platform)
    for _ in range(_RECORD_ATTEMPTS):
        content = parse(snap, content_id)
        if content.state(platform).status is PlatformStatus.PUBLISHED:
            return content.state(platform)  # a concurrent run recorded it first
        updated = with_platform(content, platform, state, now)
        writes = [
            Write(snap.path, stored_fields(updated), "update", if_update_time=snap.update_time)
        ]
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
        snap = store.get_all([snap.path])[0]
    raise Contention(f"Could not record {platform} for content {content_id}.")
