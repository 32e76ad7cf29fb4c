"""A booked consultation's life after booking: reminders, cancelling and completing.

Cancelling or completing changes the consultation in a transaction, then cancels its
reminder tasks (``cancel_task``: a reminder already sent is left alone), then tells the
attendee. A reminder that runs anyway (its cancellation lost a race with its delivery)
finds the consultation no longer scheduled and sends nothing. Messages carry keys derived
from the consultation, so retries never mail twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from shared.domain.company import Company, company_path
from shared.domain.consultations import (
    CancelRequest,
    CompleteRequest,
    Consultation,
    ConsultationStatus,
    consultation_path,
    reminder_key,
    reminder_text,
    summary_text,
    when_text,
)
from shared.domain.identity import StaffIdentity
from shared.domain.tasks import ScheduledTask
from shared.errors import NotFound, Refused
from shared.ports import (
    Data,
    DocumentStore,
    Messenger,
    OutboundMessage,
    TaskQueue,
    Transaction,
    Write,
)
from shared.services.consultations import CONSULTATIONS, may_change
from shared.services.scheduling import cancel_task
from shared.services.task_handlers import TaskContext
from shared.staff_api.services.resources import view

log = logging.getLogger("growthkit.consultations")


def _load(tx: Transaction, staff: StaffIdentity, company_id: str, consultation_id: str) -> Data:
    staff.require_company(company_id)
    snap = tx.get(consultation_path(company_id, consultation_id))
    if snap.data is None:
        raise NotFound("No such consultation.")
    return snap.data


def cancel(
    store: DocumentStore,
    queue: TaskQueue,
    messenger: Messenger,
    now: datetime,
    staff: StaffIdentity,
    company_id: str,
    consultation_id: str,
    req: CancelRequest,
) -> Data:
    """Cancel a scheduled consultation and its pending reminders (again: no change).

    Raises:
        PermissionDenied: Another company, or a user who neither hosts nor booked it.
        NotFound: No such consultation. Refused: It took place already.
    """

    def run(tx: Transaction) -> tuple[Data, bool]:
        data = _load(tx, staff, company_id, consultation_id)
        if data.get("status") == ConsultationStatus.CANCELLED.value:
            return data, False
        may_change(staff, data)
        if data.get("status") != ConsultationStatus.SCHEDULED.value:
            raise Refused("A completed consultation cannot be cancelled.")
        change = {
            "status": ConsultationStatus.CANCELLED.value,
            "cancelled_at": now,
            "cancel_reason": req.reason,
            "updated_at": now,
            "updated_by": staff.uid,
        }
        tx.write(Write(consultation_path(company_id, consultation_id), change, "update"))
        return data | change, True

    data, changed = store.run_transaction(run)
    _cancel_reminders(store, queue, now, data)
    if changed:
        log.info("consultation %s of %s cancelled by %s", consultation_id, company_id, staff.uid)
        if req.notify_attendee:
            _notify_cancelled(store, messenger, Consultation.model_validate(data))
    return view(CONSULTATIONS, data)


def complete(
    store: DocumentStore,
    queue: TaskQueue,
    messenger: Messenger,
    now: datetime,
    staff: StaffIdentity,
    company_id: str,
    consultation_id: str,
    req: CompleteRequest,
) -> Data:
    """Record that a consultation took place, with its notes; optionally mail the attendee
    its summary, insights and action items (never the internal notes).

    Raises:
        PermissionDenied: Another company, or a user who neither hosts nor booked it.
        NotFound: No such consultation.
        Refused: It is cancelled, or has not started yet.
    """

    def run(tx: Transaction) -> Data:
        data = _load(tx, staff, company_id, consultation_id)
        may_change(staff, data)
        if data.get("status") == ConsultationStatus.SCHEDULED.value:
            if now < data["scheduled_at"]:
                raise Refused("The consultation has not started yet.")
            change: Data = {"status": ConsultationStatus.COMPLETED.value, "completed_at": now}
        else:
            change = {}  # completed already: only the notes may change
        if req.notes is not None:
            change["notes"] = req.notes.model_dump()
        change |= {"updated_at": now, "updated_by": staff.uid}
        tx.write(Write(consultation_path(company_id, consultation_id), change, "update"))
        return data | change

    data = store.run_transaction(run)
    _cancel_reminders(store, queue, now, data)
    if req.send_summary:
        _send_summary(store, messenger, Consultation.model_validate(data))
    log.info("consultation %s of %s completed by %s", consultation_id, company_id, staff.uid)
    return view(CONSULTATIONS, data)


def _cancel_reminders(store: DocumentStore, queue: TaskQueue, now: datetime, data: Data) -> None:
    for task_id in data.get("reminder_task_ids") or []:
        cancel_task(store, queue, now, company_id=str(data["company_id"]), task_id=str(task_id))


def _company(store: DocumentStore, company_id: str) -> Company:
    snap = store.get_all([company_path(company_id)])[0]
    return Company.model_validate({**(snap.data or {}), "id": company_id})


def _notify_cancelled(store: DocumentStore, messenger: Messenger, c: Consultation) -> None:
    company = _company(store, c.company_id)
    name = company.name or company.id
    when = when_text(c.scheduled_at, company.settings.time_zone)
    body = f"Your consultation with {name} on {when} is cancelled."
    if c.cancel_reason:
        body += f"\nReason: {c.cancel_reason}"
    key = f"consultation-cancelled:{c.company_id}:{c.id}"
    messenger.send(OutboundMessage("email", c.attendee_email, f"Cancelled: {name}", body, key))


def _send_summary(store: DocumentStore, messenger: Messenger, c: Consultation) -> None:
    company = _company(store, c.company_id)
    subject, body = summary_text(c, company.name or company.id)
    key = f"consultation-summary:{c.company_id}:{c.id}"
    messenger.send(OutboundMessage("email", c.attendee_email, subject, body, key))


def consultation_reminder_task(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """Mail the attendee a reminder, if the consultation is still scheduled."""
    consultation_id = str(task.data["consultation_id"])
    snap, company_snap = ctx.store.get_all(
        [consultation_path(task.company_id, consultation_id), company_path(task.company_id)]
    )
    if snap.data is None or snap.data.get("status") != ConsultationStatus.SCHEDULED.value:
        log.info("reminder of consultation %s skipped: no longer scheduled", consultation_id)
        return {"sent": False, "reason": "not scheduled"}
    c = Consultation.model_validate(snap.data)
    company = Company.model_validate({**(company_snap.data or {}), "id": task.company_id})
    subject, body = reminder_text(c, company.name or company.id, company.settings.time_zone)
    key = reminder_key(task.company_id, c.id, float(task.data.get("hours") or 0))
    message_id = ctx.messenger.send(OutboundMessage("email", c.attendee_email, subject, body, key))
    return {"sent": True, "message_id": message_id}
