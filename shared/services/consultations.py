"""Booking consultations without overlaps, and the staff REST resource that reads and
edits them (``ResourceSpec``: list, get, PATCH of the editable fields).

Booking is one transaction: it reads the new consultation's id (a retried request finds
its own booking), the company (reminder settings), the host, profile and lead it names,
and the marker of every UTC day it touches, which locks those days against concurrent
bookings; then one bounded query finds the scheduled consultations that could overlap.
The reminders are scheduled after the commit with keys derived from the consultation, so
a retry schedules nothing twice and a booking whose reminders were cut short gets them
when it is retried.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from shared.domain.common import random_id, stable_id
from shared.domain.company import Company, company_path
from shared.domain.consultations import (
    MAX_DURATION,
    OVERLAP_SCAN,
    BookingRequest,
    Consultation,
    ConsultationEdit,
    ConsultationStatus,
    check_time,
    consultation_path,
    day_marker_path,
    days_touched,
    overlaps,
    reminder_key,
    reminder_task_id,
    reminder_times,
)
from shared.domain.identity import Role, StaffIdentity, lead_guard
from shared.domain.leads import lead_path
from shared.domain.users import user_path
from shared.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied, Refused
from shared.ports import Data, DocumentStore, Filter, Snapshot, TaskQueue, Transaction, Write
from shared.services import business_queries as queries
from shared.services.scheduling import schedule_task
from shared.staff_api.services.resources import ResourceSpec, enum_values, view

log = logging.getLogger("growthkit.consultations")


def may_change(staff: StaffIdentity, consultation: Data) -> None:
    """Users change the consultations they host or booked; managers any. A cancelled one
    is final (book again instead)."""
    mine = staff.uid in (consultation.get("host_uid"), consultation.get("created_by"))
    if staff.role is Role.USER and not mine:
        raise PermissionDenied("Users can only change the consultations they host or booked.")
    if consultation.get("status") == ConsultationStatus.CANCELLED.value:
        raise Refused("The consultation is cancelled; book a new one.")


CONSULTATIONS = ResourceSpec(
    "consultations",
    Consultation,
    {
        "scheduled_at": ("time", queries.consultations_by_start),
        "created_at": ("time", queries.consultations_by_created_at),
    },
    ConsultationEdit,
    filters={"status": enum_values(ConsultationStatus)},
    write=Role.USER,
    delete=None,
    write_guard=may_change,
    lead_field="lead_id",
)


def book(
    store: DocumentStore,
    queue: TaskQueue,
    now: datetime,
    staff: StaffIdentity,
    company_id: str,
    req: BookingRequest,
    idempotency_key: str | None = None,
) -> tuple[Data, bool]:
    """Book a consultation unless it overlaps another of the company's, and schedule its
    reminders.

    Args:
        store: The document store.
        queue: Delivers the reminder tasks.
        now: The booking time.
        staff: The caller (any staff role of the company).
        company_id: The company booking.
        req: When, how long, with whom, about what.
        idempotency_key: The request's key: a retry returns the first booking.

    Returns:
        The consultation as the API shows it, and whether this call booked it.

    Raises:
        PermissionDenied: Another company.
        InvalidInput: A time in the past or too far ahead; an unknown host, profile or lead.
        PermissionDenied: A user naming a lead not assigned to them.
        Refused: It overlaps a scheduled consultation (``details.conflicts``).
    """
    staff.require_company(company_id)
    reason = check_time(req.scheduled_at, now)
    if reason:
        raise InvalidInput(reason, {"fields": {"scheduled_at": reason}})
    if idempotency_key:
        consultation_id = stable_id(company_id, staff.uid, "consultations", idempotency_key)
    else:
        consultation_id = random_id()
    stored, created = store.run_transaction(
        lambda tx: _book(tx, now, staff, company_id, req, consultation_id)
    )
    consultation = Consultation.model_validate(stored)
    _schedule_reminders(store, queue, now, consultation, stored["reminder_hours"])
    if created:
        log.info(
            "consultation %s of %s booked for %s by %s",
            consultation_id,
            company_id,
            consultation.scheduled_at.isoformat(),
            staff.uid,
        )
    return view(CONSULTATIONS, stored), created


def _book(
    tx: Transaction,
    now: datetime,
    staff: StaffIdentity,
    company_id: str,
    req: BookingRequest,
    consultation_id: str,
) -> tuple[Data, bool]:
    start = req.scheduled_at
    end = start + timedelta(minutes=req.duration_minutes)
    host = req.host_uid or staff.uid
    days = days_touched(start, end)
    links = _linked_paths(company_id, req, host)
    paths = [consultation_path(company_id, consultation_id), company_path(company_id)]
    existing, company_snap, *rest = tx.get_all(
        paths + list(links.values()) + _markers(company_id, days)
    )
    if existing.data is not None:
        if existing.data.get("created_by") != staff.uid:
            raise AlreadyExists("That consultation exists already.", {"id": consultation_id})
        return existing.data, False
    if company_snap.data is None:
        raise NotFound("No such company.")
    linked = dict(zip(links, rest[: len(links)], strict=True))
    if "lead_id" in linked:  # its reminders mail the lead: only for who may see it
        lead_guard(staff, linked["lead_id"].data)
    _check_links(linked)
    conflicts = _conflicts(tx, company_id, start, end)
    if conflicts:
        raise Refused("The time overlaps another consultation.", {"conflicts": conflicts})
    company = Company.model_validate({**company_snap.data, "id": company_id})
    data = _new(company, staff, req, consultation_id, host, now)
    tx.write(Write(existing.path, data, "create"))
    for day, marker in zip(days, rest[len(links) :], strict=True):
        tx.write(Write(marker.path, {"day": day, "last_booking": consultation_id, "at": now}))
    return data, True


def _markers(company_id: str, days: list[str]) -> list[str]:
    return [day_marker_path(company_id, day) for day in days]


def _linked_paths(company_id: str, req: BookingRequest, host: str) -> dict[str, str]:
    """The documents the booking names, by the field naming each."""
    paths = {"host_uid": user_path(company_id, host)}
    if req.business_profile_id:
        paths["business_profile_id"] = (
            f"companies/{company_id}/business_profiles/{req.business_profile_id}"
        )
    if req.lead_id:
        paths["lead_id"] = lead_path(company_id, req.lead_id)
    return paths


def _check_links(snaps: dict[str, Snapshot]) -> None:
    missing = {name: "not found in this company" for name, s in snaps.items() if not s.exists}
    if missing:
        raise InvalidInput("The booking names something that does not exist.", {"fields": missing})


def _conflicts(tx: Transaction, company_id: str, start: datetime, end: datetime) -> list[Data]:
    """The scheduled consultations overlapping ``[start, end)``: only those starting less
    than ``MAX_DURATION`` before ``end`` can, which bounds the query."""
    rows = tx.query(
        f"companies/{company_id}/consultations",
        [
            Filter("status", "==", ConsultationStatus.SCHEDULED.value),
            Filter("scheduled_at", ">", start - MAX_DURATION),
            Filter("scheduled_at", "<", end),
        ],
        [("scheduled_at", False)],
        OVERLAP_SCAN,
    )
    return [
        {"id": s.data.get("id"), "scheduled_at": s.data["scheduled_at"].isoformat()}
        for s in rows
        if s.data is not None and overlaps(start, end, s.data)
    ]


def _new(
    company: Company,
    staff: StaffIdentity,
    req: BookingRequest,
    consultation_id: str,
    host: str,
    now: datetime,
) -> Data:
    hours = [
        h
        for h, _ in reminder_times(
            req.scheduled_at, company.settings.consultation_reminder_hours, now
        )
    ]
    consultation = Consultation(
        **req.model_dump(),
        id=consultation_id,
        company_id=company.id,
        ends_at=req.scheduled_at + timedelta(minutes=req.duration_minutes),
        reminder_task_ids=[reminder_task_id(company.id, consultation_id, h) for h in hours],
        created_at=now,
        updated_at=now,
    )
    audit = {"created_by": staff.uid, "updated_by": staff.uid}
    return consultation.model_dump() | {"host_uid": host, "reminder_hours": hours} | audit


def _schedule_reminders(
    store: DocumentStore,
    queue: TaskQueue,
    now: datetime,
    consultation: Consultation,
    hours: list[float],
) -> None:
    if consultation.status is not ConsultationStatus.SCHEDULED:
        return
    for h in hours:
        schedule_task(
            store,
            queue,
            now,
            company_id=consultation.company_id,
            task_type="consultation_reminder",
            data={"consultation_id": consultation.id, "hours": h},
            run_at=consultation.scheduled_at - timedelta(hours=h),
            key=reminder_key(consultation.company_id, consultation.id, h),
        )
