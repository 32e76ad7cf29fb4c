"""Publishing content to its platforms, now or at a scheduled time, at most once each.

Every publication runs as a scheduled task (``publish_content``, keyed by content and
time), so a failure is retried by Cloud Tasks; "publish now" also tries at once and cancels
the safety-net task when that works. Per platform: the stored state is checked first, the
publisher is called with an idempotency key, and the published state is committed together
with a create-only ledger record, so a retried task never publishes a platform twice.
Transient failures are recorded and retried; auth failures fail at once ("reconnect").
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.domain.content import (
    MAX_AHEAD,
    MAX_ATTEMPTS,
    RECONNECT,
    Content,
    PlatformState,
    PlatformStatus,
    Post,
    PublishRequest,
    Receipt,
    as_utc,
    content_path,
    ledger_path,
    post_for,
    prepared,
    publication_key,
    state_from_ledger,
    stored_fields,
    target_platforms,
    with_platform,
)
from shared.domain.identity import Role, StaffIdentity
from shared.domain.tasks import ScheduledTask
from shared.errors import (
    AlreadyExists,
    Contention,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Transient,
    Unauthenticated,
)
from shared.ports import DocumentStore, Snapshot, TaskQueue, Write
from shared.services.scheduling import cancel_task, schedule_task
from shared.services.task_handlers import TaskContext

log = logging.getLogger("growthkit.content")

TASK_TYPE = "publish_content"
SAFETY_NET_DELAY = timedelta(seconds=60)
_RECORD_ATTEMPTS = 5


class Publisher(Protocol):
    """Posts content to one platform (blog, LinkedIn, a newsletter...).

    Implementations raise ``Transient`` for failures worth retrying, ``Unauthenticated``
    or ``PermissionDenied`` when the account must be reconnected, and any other
    ``DomainError`` for a permanent refusal. ``post.idempotency_key`` is the same on every
    retry, for providers that deduplicate.
    """

    def publish(self, post: Post) -> Receipt: ...


def _parse(snap: Snapshot, content_id: str) -> Content:
    if snap.data is None:
        raise NotFound(f"No content {content_id}.")
    return Content.model_validate({**snap.data, "id": content_id})


def _load(store: DocumentStore, company_id: str, content_id: str) -> tuple[Snapshot, Content]:
    snap = store.get_all([content_path(company_id, content_id)])[0]
    return snap, _parse(snap, content_id)


def request_publication(
    store: DocumentStore,
    queue: TaskQueue,
    publisher: Publisher,
    now: datetime,
    identity: StaffIdentity,
    request: PublishRequest,
) -> tuple[Content, str]:
    """Schedule a content item, or publish it now (with a task as the retry safety net).

    Returns:
        The content as it stands after the request, and its publish task's id.

    Raises:
        PermissionDenied: not a manager of the content's company. NotFound: no such
        content. InvalidInput: bad time or platforms. Contention: edited meanwhile.
    """
    identity.require_role(Role.MANAGER)
    company_id = request.company_id or identity.company_id
    identity.require_company(company_id)
    when = request.scheduled_at or now
    if when > now + MAX_AHEAD:
        raise InvalidInput("scheduled_at is more than a year ahead.")
    content = _prepare(store, company_id, request, when, now)
    task_id = schedule_publication(
        store, queue, now, company_id=company_id, content_id=content.id, when=when
    )
    if when > now:
        return content, task_id
    return _publish_now(store, queue, publisher, now, content, company_id, task_id), task_id


def schedule_publication(
    store: DocumentStore,
    queue: TaskQueue,
    now: datetime,
    *,
    company_id: str,
    content_id: str,
    when: datetime,
) -> str:
    """Schedule the publish task of a content item for ``when`` (once per item and time).

    A time already due runs after ``SAFETY_NET_DELAY``: publishing now is tried directly,
    and the task, the retry for what that try left, should not race it.

    Returns:
        The task id (the same for the same content and time).
    """
    return schedule_task(
        store,
        queue,
        now,
        company_id=company_id,
        task_type=TASK_TYPE,
        data={"content_id": content_id, "scheduled_at": as_utc(when).isoformat()},
        run_at=when if when > now else now + SAFETY_NET_DELAY,
        key=publication_key(content_id, when),
    )


def _prepare(
    store: DocumentStore, company_id: str, request: PublishRequest, when: datetime, now: datetime
) -> Content:
    """Store the content as scheduled for ``when``, its unpublished platforms pending."""
    snap, content = _load(store, company_id, request.content_id)
    try:
        platforms = target_platforms(content, request.platforms)
    except ValueError as err:
        raise InvalidInput(str(err)) from err
    content = prepared(content, platforms, when, now)
    store.commit([Write(snap.path, stored_fields(content), "update", snap.update_time)])
    return content


def _publish_now(
    store: DocumentStore,
    queue: TaskQueue,
    publisher: Publisher,
    now: datetime,
    content: Content,
    company_id: str,
    task_id: str,
) -> Content:
    """Try at once; on a transient failure the scheduled task retries the rest."""
    try:
        published = publish(store, publisher, now, company_id=company_id, content_id=content.id)
    except Transient as err:
        log.warning("publishing %s now failed (%s); its task will retry", content.id, err)
        return _load(store, company_id, content.id)[1]
    cancel_task(store, queue, now, company_id=company_id, task_id=task_id)
    return published


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
    snap, content = _load(store, company_id, content_id)
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
    return _load(store, company_id, content_id)[1]


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
    content = _parse(snap, content_id)
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
        content = _parse(snap, content_id)
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


def publish_content_task(
    ctx: TaskContext, task: ScheduledTask, publisher: Publisher | None = None
) -> dict[str, Any]:
    """The ``publish_content`` task handler (``publisher`` defaults to the configured one).

    Raises:
        Transient: some platform failed transiently; Cloud Tasks retries the task.
        NotFound: the content was deleted (permanent).
    """
    scheduled = task.data.get("scheduled_at")
    content = publish(
        ctx.store,
        publisher or _default_publisher(ctx.store),
        ctx.now,
        company_id=task.company_id,
        content_id=str(task.data["content_id"]),
        scheduled_at=datetime.fromisoformat(scheduled) if scheduled else None,
    )
    return {"status": content.status.value, "url": content.url}


def _default_publisher(store: DocumentStore) -> Publisher:
    from shared.adapters.publishers import build_publisher

    return build_publisher(store)
