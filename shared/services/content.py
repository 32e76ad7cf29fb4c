"""Content publication requests: publish now, or at a scheduled time, via a task.

Every publication runs as a scheduled task (``publish_content``, keyed by content and
time), so a failure is retried by Cloud Tasks; "publish now" also tries at once and cancels
the safety-net task when that works. The publishing itself, at most once per platform, is
in ``shared.services.publishing``; its ``Publisher`` port is re-exported here.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from shared.domain.common import as_utc
from shared.domain.content import (
    MAX_AHEAD,
    Content,
    PublishRequest,
    prepared,
    publication_key,
    stored_fields,
)
from shared.domain.identity import Role, StaffIdentity
from shared.domain.publishing import default_platforms, refusals
from shared.domain.tasks import ScheduledTask
from shared.errors import InvalidInput, Transient
from shared.ports import DocumentStore, TaskQueue, Write
from shared.services.publishing import Publisher, load, publish
from shared.services.scheduling import cancel_task, schedule_task
from shared.services.task_handlers import TaskContext

log = logging.getLogger("growthkit.content")

TASK_TYPE = "publish_content"
SAFETY_NET_DELAY = timedelta(seconds=60)

__all__ = [
    "Publisher",
    "checked_platforms",
    "publish_content_task",
    "request_publication",
    "schedule_publication",
]


def request_publication(
    store: DocumentStore,
    queue: TaskQueue,
    publisher: Publisher,
    now: datetime,
    identity: StaffIdentity,
    request: PublishRequest,
) -> tuple[Content, str]:
    """Schedule a content item, or publish it now (with a task as the retry safety net).

    Args:
        store: The document store.
        queue: The Cloud Tasks queue for the publish task.
        publisher: Posts to the platforms when publishing now.
        now: The time of the request.
        identity: The staff member asking (manager or admin of the company).
        request: The content, the optional time and the optional platforms.

    Returns:
        The content as it stands after the request, and its publish task's id.

    Raises:
        PermissionDenied: not a manager of the content's company. NotFound: no such
        content. InvalidInput: bad time or platforms, or a platform that would refuse
        the content (Instagram without an image, X over its length, e-mail), before
        anything is sent. Contention: edited meanwhile.
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

    Args:
        store: Where the task document is written.
        queue: The Cloud Tasks queue.
        now: The current time.
        company_id: The tenant.
        content_id: The content item.
        when: The time the content is scheduled for.

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
    snap, content = load(store, company_id, request.content_id)
    platforms = checked_platforms(content, request.platforms)
    content = prepared(content, platforms, when, now)
    store.commit([Write(snap.path, stored_fields(content), "update", snap.update_time)])
    return content


def checked_platforms(content: Content, requested: list[str] | None) -> list[str]:
    """Where the content is to go (``requested``, else its own, else its type's default),
    if every platform would take it.

    Raises:
        InvalidInput: no platform, or one that would refuse the content (Instagram without
            an image, X over its length, e-mail), each with why in ``details.platforms``.
    """
    try:
        platforms = requested or content.platforms or default_platforms(content)
    except ValueError as err:
        raise InvalidInput(str(err)) from err
    refused = refusals(
        platforms,
        title=content.title,
        body=content.body,
        content_type=content.type.value,
        image_url=content.image_url,
    )
    if refused:
        message = "; ".join(f"{p}: {why}" for p, why in refused.items())
        raise InvalidInput(f"Not publishable: {message}.", {"platforms": refused})
    return platforms


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
        return load(store, company_id, content.id)[1]
    cancel_task(store, queue, now, company_id=company_id, task_id=task_id)
    return published


def publish_content_task(
    ctx: TaskContext, task: ScheduledTask, publisher: Publisher | None = None
) -> dict[str, Any]:
    """The ``publish_content`` task handler.

    Args:
        ctx: The handler's ports and time.
        task: The task; ``data`` holds ``content_id`` and ``scheduled_at``.
        publisher: Tests inject one; by default the configured publisher.

    Returns:
        The content's status and URL after this run.

    Raises:
        Transient: some platform failed transiently; Cloud Tasks retries the task.
        NotFound: the content was deleted (permanent).
    """
    scheduled = task.data.get("scheduled_at")
    content = publish(
        ctx.store,
        publisher or _default_publisher(ctx.store, ctx.queue),
        ctx.now,
        company_id=task.company_id,
        content_id=str(task.data["content_id"]),
        scheduled_at=datetime.fromisoformat(scheduled) if scheduled else None,
    )
    return {"status": content.status.value, "url": content.url}


def _default_publisher(store: DocumentStore, queue: TaskQueue) -> Publisher:
    from shared.adapters.publishers import build_publisher

    return build_publisher(store, queue)
