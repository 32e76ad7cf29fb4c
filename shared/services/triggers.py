"""Firestore triggers' use cases, each idempotent under duplicate delivery.

Eventarc delivers at least once, so each records that it handled an event in a create-only
marker in the same commit as its effect (shared/services/once.py). Effects outside that
commit (scheduling, cancelling tasks) are idempotent by key, so they run before it and a
repeat is harmless.
Events that cannot need any work are recognised from the event alone, without a read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.domain.common import as_utc, stable_id
from shared.domain.content import publication_key
from shared.domain.leads import InteractionStatus, lead_path
from shared.domain.reviews import ReviewStatus, review_path
from shared.domain.tasks import task_path
from shared.events import DocumentEvent
from shared.ports import DocumentStore, TaskQueue, Write
from shared.services.content import schedule_publication
from shared.services.once import became, commit_once, marker_path, marker_write, retrying
from shared.services.scheduling import cancel_task, cancel_write, drop_cloud_task

_ENGAGED = {InteractionStatus.OPENED, InteractionStatus.CLICKED, InteractionStatus.REPLIED}


def on_interaction_created(
    store: DocumentStore, now: datetime, event: DocumentEvent, function: str
) -> str:
    """Move the lead's ``last_engagement_at`` forward to an engaging interaction's time.

    Args:
        store: The document store.
        now: The time of this run (used when the interaction has no ``created_at``).
        event: The interaction's creation.
        function: The trigger's name (part of the duplicate marker).

    Returns:
        What happened: updated, duplicate, not engagement, not newer or lead missing.
    """
    data = event.after or {}
    if data.get("direction", "inbound") != "inbound" and data.get("status") not in _ENGAGED:
        return "not engagement"  # our own outbound messages are not the lead engaging
    at = data.get("created_at")
    at = as_utc(at) if isinstance(at, datetime) else now
    company_id, lead_id = event.params["companyId"], event.params["leadId"]
    marker = marker_path(company_id, function, event.id)

    def attempt() -> str:
        lead, seen = store.get_all([lead_path(company_id, lead_id), marker])
        if seen.exists:
            return "duplicate"
        if lead.data is None:
            return "lead missing"
        current = lead.data.get("last_engagement_at")
        if isinstance(current, datetime) and as_utc(current) >= at:
            return "not newer"
        update = Write(lead.path, {"last_engagement_at": at}, "update", lead.update_time)
        done = commit_once(store, [update, marker_write(marker, function, event, now)], marker)
        return "updated" if done else "duplicate"

    return retrying(attempt)


def on_review_written(
    store: DocumentStore, queue: TaskQueue, now: datetime, event: DocumentEvent, function: str
) -> str:
    """When a review becomes completed, cancel its pending reminders.

    The event carries the review as written, reminder ids included, so one batched read
    (the marker and the reminder tasks) and one commit (the pending ones cancelled, each
    guarded by its update time, and the marker) are the whole job: two round trips.

    Args:
        store: The document store.
        queue: The Cloud Tasks queue holding the reminders.
        now: The time of this run.
        event: The review's change.
        function: The trigger's name (part of the duplicate marker).

    Returns:
        What happened: cancelled N, duplicate or not completed.
    """
    if not became(event, "status", ReviewStatus.COMPLETED.value):
        return "not completed"
    company_id, review_id = event.params["companyId"], event.params["reviewId"]
    marker = marker_path(company_id, function, event.id)
    task_ids = _reminder_ids(store, event, review_path(company_id, review_id))

    def attempt() -> list[str] | None:
        seen, *tasks = store.get_all([marker, *(task_path(company_id, t) for t in task_ids)])
        if seen.exists:
            return None
        cancels = [w for w in (cancel_write(s, now) for s in tasks) if w is not None]
        done = commit_once(store, [*cancels, marker_write(marker, function, event, now)], marker)
        return [w.path.rsplit("/", 1)[1] for w in cancels] if done else None

    cancelled = retrying(attempt)
    if cancelled is None:
        return "duplicate"
    for task_id in cancelled:
        drop_cloud_task(queue, company_id, task_id)
    return f"cancelled {len(cancelled)}"


def _reminder_ids(store: DocumentStore, event: DocumentEvent, path: str) -> list[str]:
    """The review's reminder task ids: from the event, else (a partial event) from a read."""
    data = event.after or {}
    if "reminder_task_ids" not in data:
        data = store.get_all([path])[0].data or {}
    return [str(t) for t in data.get("reminder_task_ids") or []]


def _scheduled(data: dict[str, Any] | None) -> datetime | None:
    """When a content document is scheduled for, or None if it is not scheduled."""
    when = (data or {}).get("scheduled_at")
    if (data or {}).get("status") != "scheduled" or not isinstance(when, datetime):
        return None
    return as_utc(when)


def on_content_written(
    store: DocumentStore, queue: TaskQueue, now: datetime, event: DocumentEvent, function: str
) -> str:
    """Content that becomes scheduled (or is moved) gets its publish task; content that is
    unscheduled, moved or deleted loses the old one.

    Args:
        store: The document store.
        queue: The Cloud Tasks queue for the publish task.
        now: The time of this run.
        event: The content's change.
        function: The trigger's name (part of the duplicate marker).

    Returns:
        What happened: scheduled, unscheduled, rescheduled, finished, duplicate or
        unchanged.
    """
    before, after = _scheduled(event.before), _scheduled(event.after)
    if before == after:
        return "unchanged"
    if after is None and (event.after or {}).get("status") in ("published", "failed"):
        return "finished"  # its task published it (or gave up): nothing left to cancel
    company_id, content_id = event.params["companyId"], event.params["contentId"]
    marker = marker_path(company_id, function, event.id)
    # As for reviews, no read first: scheduling and cancelling are idempotent by key.
    if after is not None:
        schedule_publication(
            store, queue, now, company_id=company_id, content_id=content_id, when=after
        )
    if before is not None:
        old = stable_id(publication_key(content_id, before))
        cancel_task(store, queue, now, company_id=company_id, task_id=old)
    done = commit_once(store, [marker_write(marker, function, event, now)], marker)
    outcome = "rescheduled" if before and after else "scheduled" if after else "unscheduled"
    return outcome if done else "duplicate"
