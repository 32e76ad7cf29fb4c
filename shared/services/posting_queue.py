"""The posting queue (``shared.domain.posting_queue``): its schedule, and content put in
it.

``add_to_queue`` runs in one transaction: it reads the content and the slot documents
from now on (a batch at a time, with the content holding each taken one), takes the first
free slot by writing its document, and schedules the content for that instant, as
``publish_content`` would (its unpublished platforms pending again). Two staff members
queueing at once both read the same free slot; Firestore lets one commit and retries the
other, which then sees the slot taken and goes on to the next. A slot whose content was
rescheduled, unscheduled or deleted is free again. Content already waiting in a slot
keeps it (a repeated request answers the same). The publish task is scheduled for the
slot, keyed by content and time as every publication is.

| what | read | write |
| --- | --- | --- |
| the schedule | user | manager |
| putting content in the queue | - | manager |
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from msgspec import Struct

from shared.domain.common import stable_id
from shared.domain.company import CompanySettings, company_path
from shared.domain.content import (
    Content,
    ContentStatus,
    content_path,
    prepared,
    publication_key,
    stored_fields,
)
from shared.domain.identity import Role, StaffIdentity
from shared.domain.posting_queue import (
    PostingSchedule,
    QueueRequest,
    holds,
    schedule_path,
    slot_id,
    slot_path,
    slots_from,
    zone_of,
)
from shared.errors import NotFound, Refused
from shared.ports import DocumentStore, Snapshot, TaskQueue, Transaction, Write
from shared.services.content import checked_platforms, schedule_publication
from shared.services.publishing import parse
from shared.services.scheduling import cancel_task

log = logging.getLogger("growthkit.content")

BATCH = 20  # slots read per round trip
MAX_SLOTS = 200  # looked at before the queue is called full


class Taken(Struct, frozen=True):
    """The slot a content item holds, and the time it was scheduled for before, if any."""

    content: Content
    at: datetime
    previous: datetime | None


def get_schedule(store: DocumentStore, staff: StaffIdentity, company_id: str) -> dict[str, Any]:
    """The schedule and the time zone its times are read in."""
    staff.require_company(company_id)
    zone, schedule, stored = _load(store, company_id)
    return _shown(zone, schedule, stored)


def update_schedule(
    store: DocumentStore, now: datetime, staff: StaffIdentity, company_id: str, body: Any
) -> dict[str, Any]:
    """Replace the days ``body["slots"]`` names (managers); an empty list clears a day."""
    staff.require_company(company_id)
    staff.require_role(Role.MANAGER)
    change = PostingSchedule.model_validate(body)
    zone, schedule, _ = _load(store, company_id)
    merged = schedule.merged(change)
    data = merged.model_dump() | {"updated_at": now, "updated_by": staff.uid}
    store.commit([Write(schedule_path(company_id), data, "set")])
    log.info("%s changed the posting schedule of %s: %s", staff.uid, company_id, merged.slots)
    return _shown(zone, merged, data)


def _load(store: DocumentStore, company_id: str) -> tuple[str, PostingSchedule, dict[str, Any]]:
    """The company's time zone name, its schedule and the schedule's stored fields."""
    company, stored = store.get_all([company_path(company_id), schedule_path(company_id)])
    if company.data is None:
        raise NotFound("No such company.")
    settings = CompanySettings.model_validate(company.data.get("settings") or {})
    data = stored.data or {}
    return settings.time_zone, PostingSchedule.model_validate(data), data


def _shown(zone: str, schedule: PostingSchedule, stored: dict[str, Any]) -> dict[str, Any]:
    when = stored.get("updated_at")
    return {
        "time_zone": zone,
        "slots": schedule.slots,
        "updated_at": when.isoformat() if isinstance(when, datetime) else None,
        "updated_by": stored.get("updated_by"),
    }


def add_to_queue(
    store: DocumentStore,
    queue: TaskQueue,
    now: datetime,
    staff: StaffIdentity,
    *,
    company_id: str,
    content_id: str,
    body: Any,
) -> dict[str, Any]:
    """Schedule a content item for the next free slot of the company's schedule.

    Returns:
        The content's status, ``scheduled_at`` (UTC) and ``local_time`` (on the
        company's clock), its slot, platforms and their states, and the task id.

    Raises:
        PermissionDenied: not a manager of the company. NotFound: no such content.
        InvalidInput: platforms missing or refusing the content. Refused: published
        already, no schedule, an unknown time zone, or no free slot ahead.
    """
    staff.require_company(company_id)
    staff.require_role(Role.MANAGER)
    request = QueueRequest.model_validate(body)
    zone_name, schedule, _ = _load(store, company_id)
    zone = _zone(zone_name)
    if schedule.empty:
        raise Refused("The posting schedule has no times: add some to it first.")
    taken = store.run_transaction(
        lambda tx: _take(tx, now, company_id, content_id, request, schedule, zone)
    )
    task_id = schedule_publication(
        store, queue, now, company_id=company_id, content_id=content_id, when=taken.at
    )
    if taken.previous is not None and taken.previous != taken.at:
        old = stable_id(publication_key(content_id, taken.previous))
        cancel_task(store, queue, now, company_id=company_id, task_id=old)
    log.info("content %s of %s queued for %s", content_id, company_id, taken.at.isoformat())
    return _answer(taken, zone, task_id)


def _zone(name: str) -> ZoneInfo:
    try:
        return zone_of(name)
    except ValueError as err:
        raise Refused(f"The company's time zone: {err} (settings.time_zone).") from err


def _take(
    tx: Transaction,
    now: datetime,
    company_id: str,
    content_id: str,
    request: QueueRequest,
    schedule: PostingSchedule,
    zone: ZoneInfo,
) -> Taken:
    """Read the content and the slots from now on; take the first free one."""
    content = parse(tx.get(content_path(company_id, content_id)), content_id)
    if content.status is ContentStatus.PUBLISHED:
        raise Refused("This content is published already.")
    held = _held(tx, company_id, content, now)
    if held is not None:
        return Taken(content, held, held)
    platforms = checked_platforms(content, request.platforms)
    for batch in _batches(slots_from(schedule, zone, now)):
        snaps = tx.get_all([slot_path(company_id, at) for at in batch])
        holders = _holders(tx, company_id, snaps, content_id)
        for at, snap in zip(batch, snaps, strict=True):
            if _free(snap, holders, at):
                return _claim(tx, now, company_id, content, platforms, at)
    raise Refused(
        f"The next {MAX_SLOTS} slots of the posting schedule are taken: add times to it, "
        "or schedule this content at a time of its own."
    )


def _held(tx: Transaction, company_id: str, content: Content, now: datetime) -> datetime | None:
    """The slot this content holds already, still ahead (a repeated request)."""
    when = content.scheduled_at
    if not content.queue_slot or when is None or content.queue_slot != slot_id(when):
        return None
    slot = tx.get(slot_path(company_id, when)).data or {}
    data = content.model_dump()
    if slot.get("content_id") != content.id or when < now or not holds(data, when):
        return None
    return when


def _batches(slots: Iterator[datetime]) -> Iterator[list[datetime]]:
    looked = 0
    while looked < MAX_SLOTS and (batch := list(islice(slots, min(BATCH, MAX_SLOTS - looked)))):
        looked += len(batch)
        yield batch


def _holders(
    tx: Transaction, company_id: str, snaps: list[Snapshot], content_id: str
) -> dict[str, dict[str, Any] | None]:
    """The content documents holding these slots (other than ``content_id``), by id."""
    ids = sorted({str(s.data["content_id"]) for s in snaps if s.data} - {content_id})
    found = tx.get_all([content_path(company_id, i) for i in ids]) if ids else []
    return {i: snap.data for i, snap in zip(ids, found, strict=True)}


def _free(snap: Snapshot, holders: dict[str, dict[str, Any] | None], at: datetime) -> bool:
    """Free: never taken, or taken by content that no longer holds it (or by this one)."""
    if snap.data is None:
        return True
    holder = str(snap.data.get("content_id"))
    return holder not in holders or not holds(holders[holder], at)


def _claim(
    tx: Transaction,
    now: datetime,
    company_id: str,
    content: Content,
    platforms: list[str],
    at: datetime,
) -> Taken:
    slot = {"content_id": content.id, "at": at, "created_at": now}
    tx.write(Write(slot_path(company_id, at), slot, "set"))
    scheduled = prepared(content, platforms, at, now)
    fields = stored_fields(scheduled) | {"queue_slot": slot_id(at)}
    tx.write(Write(content_path(company_id, content.id), fields, "update"))
    previous = content.scheduled_at if content.status is ContentStatus.SCHEDULED else None
    return Taken(scheduled, at, previous)


def _answer(taken: Taken, zone: ZoneInfo, task_id: str) -> dict[str, Any]:
    content = taken.content
    return {
        "content_id": content.id,
        "status": content.status.value,
        "scheduled_at": taken.at.isoformat(),
        "local_time": taken.at.astimezone(zone).isoformat(),
        "time_zone": zone.key,
        "queue_slot": slot_id(taken.at),
        "task_id": task_id,
        "platforms": content.platforms,
        "platform_status": {
            p: s.model_dump(mode="json") for p, s in content.platform_status.items()
        },
    }
