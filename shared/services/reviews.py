"""Asking customers for reviews, reminding them, and stopping once they have reviewed.

A request reserves the customer in a transaction (the cooldown marker and the review,
``delivery: sending``), then sends, then records the send and schedules the reminders. A
retry with the same review id resumes instead of being refused by its own marker; a send
that fails releases the reservation so the customer can be asked again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from msgspec import Struct

from shared.domain.common import stable_id
from shared.domain.company import Company, company_path
from shared.domain.consent import send_refusal
from shared.domain.identity import Role, StaffIdentity, lead_guard, sees_every_lead
from shared.domain.leads import InteractionStatus, Lead, handed_status, lead_path
from shared.domain.reviews import (
    CooldownMarker,
    Review,
    ReviewStatus,
    cooldown_blocks,
    cooldown_path,
    new_review,
    reminder_key,
    reminder_text,
    request_subject,
    review_interaction,
    review_path,
)
from shared.domain.tasks import ScheduledTask
from shared.errors import InvalidInput, NotFound, Refused
from shared.ports import DocumentStore, Messenger, OutboundMessage, TaskQueue, Transaction, Write
from shared.services.scheduling import cancel_task, schedule_task
from shared.services.task_handlers import TaskContext

log = logging.getLogger("growthkit.reviews")


class _Target(Struct, frozen=True):
    company: Company
    lead: Lead


def _load(store: DocumentStore, staff: StaffIdentity, company_id: str, lead_id: str) -> _Target:
    company_snap, lead_snap = store.get_all(
        [company_path(company_id), lead_path(company_id, lead_id)]
    )
    if company_snap.data is None:
        raise NotFound(f"Unknown company {company_id}.")
    lead_guard(staff, lead_snap.data)
    if lead_snap.data is None:
        raise NotFound(f"Unknown lead {lead_id}.")
    company = Company.model_validate({**company_snap.data, "id": company_id})
    lead = Lead.model_validate({**lead_snap.data, "id": lead_id, "company_id": company_id})
    return _Target(company, lead)


def request_review(
    store: DocumentStore,
    queue: TaskQueue,
    messenger: Messenger,
    now: datetime,
    *,
    staff: StaffIdentity,
    company_id: str,
    lead_id: str,
    review_id: str,
    platform: str | None = None,
    message: str | None = None,
) -> Review:
    """Send a lead the company's neutral review request and schedule its reminders.

    Args:
        store: The document store.
        queue: For the reminder tasks.
        messenger: Sends the request.
        now: The request time.
        staff: Who asks: a user only their own leads' customers (a task asks as the system).
        company_id: The tenant (already checked against the caller).
        lead_id: The customer to ask.
        review_id: The new review's id; the same id again resumes or replays that request.
        platform: A key of the company's ``review_urls`` (default: its default platform).
        message: A template overriding the company's (``{name}``, ``{company}``, ``{url}``).

    Returns:
        The review as recorded.

    Raises:
        NotFound: unknown company or lead. InvalidInput: no review link for the platform.
        Refused: the customer was asked within the cooldown or asked not to be contacted.
        PermissionDenied: a user asking about a lead not assigned to them.
    """
    target = _load(store, staff, company_id, lead_id)
    # A review request is about the customer's purchase: transactional, so it needs no
    # marketing consent, but the rule still keeps it from someone who asked for nothing.
    refusal = send_refusal(target.lead.model_dump(), "transactional", "email")
    if refusal is not None:
        raise Refused(f"This customer {refusal}.")
    review = new_review(target.company, target.lead, review_id, platform, message, now)
    cooldown_days = target.company.settings.review_cooldown_days
    existing = store.run_transaction(lambda tx: _reserve(tx, review, cooldown_days, now))
    if existing is not None:
        log.info("review %s was already requested; replaying", review_id)
        _schedule_reminders(store, queue, now, target.company, existing)
        return existing
    outbound = OutboundMessage(
        "email",
        target.lead.email,
        request_subject(target.company.name),
        review.request_message,
        f"review-request:{company_id}:{review_id}",
    )
    try:
        provider_id = messenger.send(outbound)
    except Exception:
        # Nothing reached the customer, so they must not be held in the cooldown for it.
        store.run_transaction(lambda tx: _release(tx, review))
        raise
    status = handed_status(messenger.accepts("email"))
    sent = _record_sent(store, target, review, provider_id, now, status)
    _schedule_reminders(store, queue, now, target.company, sent)
    log.info("review %s requested from lead %s of %s", review_id, lead_id, company_id)
    return sent


def _reserve(tx: Transaction, review: Review, cooldown_days: int, now: datetime) -> Review | None:
    """Claim the customer for this review; the already-sent review if this is a replay."""
    marker_snap, review_snap = tx.get_all(
        [
            cooldown_path(review.company_id, review.lead_id),
            review_path(review.company_id, review.id),
        ]
    )
    if review_snap.data is not None:
        stored = Review.model_validate(review_snap.data)
        if stored.delivery == "sent":
            return stored
    marker = CooldownMarker.model_validate(marker_snap.data) if marker_snap.data else None
    if cooldown_blocks(marker, review.id, cooldown_days, now) and marker is not None:
        until = marker.requested_at + timedelta(days=cooldown_days)
        raise Refused(
            "This customer was asked for a review recently.",
            {"last_requested_at": marker.requested_at.isoformat(), "until": until.isoformat()},
        )
    fresh = CooldownMarker(lead_id=review.lead_id, review_id=review.id, requested_at=now)
    tx.write(Write(marker_snap.path, fresh.model_dump(), "set"))
    tx.write(Write(review_snap.path, review.model_dump(), "set"))
    return None


def _release(tx: Transaction, review: Review) -> None:
    marker_snap = tx.get(cooldown_path(review.company_id, review.lead_id))
    if marker_snap.data is not None and marker_snap.data.get("review_id") == review.id:
        tx.write(Write(marker_snap.path, {}, "delete"))
    tx.write(Write(review_path(review.company_id, review.id), {}, "delete"))


def _record_sent(
    store: DocumentStore,
    target: _Target,
    review: Review,
    provider_id: str,
    now: datetime,
    status: InteractionStatus,
) -> Review:
    sent = review.model_copy(update={"delivery": "sent", "message_id": provider_id})
    update = {"delivery": "sent", "message_id": provider_id, "updated_at": now}
    subject = request_subject(target.company.name)
    store.commit(
        [
            Write(review_path(review.company_id, review.id), update, "merge"),
            review_interaction(review, 0, subject, provider_id, now, status),
        ]
    )
    return sent


def _schedule_reminders(
    store: DocumentStore, queue: TaskQueue, now: datetime, company: Company, review: Review
) -> None:
    interval = timedelta(hours=company.settings.review_reminder_interval_hours)
    for number in range(1, len(review.reminder_task_ids) + 1):
        schedule_task(
            store,
            queue,
            now,
            company_id=review.company_id,
            task_type="review_reminder",
            data={"review_id": review.id, "number": number},
            run_at=review.requested_at + interval * number,
            key=reminder_key(review.company_id, review.id, number),
        )


def complete_review(
    store: DocumentStore,
    now: datetime,
    *,
    staff: StaffIdentity,
    company_id: str,
    review_id: str,
    rating: int,
) -> Review:
    """Record that the customer reviewed; from then on reminders send nothing.

    Args:
        store: The document store.
        now: The completion time (kept from the first completion).
        staff: The caller: a user only for their own leads' reviews.
        company_id: The tenant (already checked against the caller).
        review_id: The review.
        rating: The customer's rating, 1 to 5.

    Returns:
        The updated review.

    Raises:
        NotFound: no such review. PermissionDenied: a user, for another's lead.
    """

    def complete(tx: Transaction) -> Review:
        snap = tx.get(review_path(company_id, review_id))
        if snap.data is None:
            raise NotFound(f"Unknown review {review_id}.")
        review = Review.model_validate(snap.data)
        if not sees_every_lead(staff):
            lead_guard(staff, tx.get(lead_path(company_id, review.lead_id)).data)
        verified = review.status == ReviewStatus.VERIFIED
        update: dict[str, Any] = {
            "status": ReviewStatus.VERIFIED if verified else ReviewStatus.COMPLETED,
            "rating": rating,
            "completed_at": review.completed_at or now,
            "updated_at": now,
        }
        tx.write(Write(snap.path, {**update, "status": update["status"].value}, "merge"))
        return review.model_copy(update=update)

    review = store.run_transaction(complete)
    log.info("review %s of %s completed with rating %d", review_id, company_id, rating)
    return review


def cancel_reminders(
    store: DocumentStore, queue: TaskQueue, now: datetime, *, company_id: str, review_id: str
) -> int:
    """Cancel the review's pending reminder tasks (called once the review is completed).

    Returns:
        How many reminders were pending and are now cancelled (0 for an unknown review).
    """
    snap = store.get_all([review_path(company_id, review_id)])[0]
    if snap.data is None:
        return 0
    review = Review.model_validate(snap.data)
    cancelled = sum(
        cancel_task(store, queue, now, company_id=company_id, task_id=task_id)
        for task_id in review.reminder_task_ids
    )
    log.info("cancelled %d reminders of review %s", cancelled, review_id)
    return cancelled


def _system(company_id: str) -> StaffIdentity:
    """Who a task acts as: the system, which sees every lead of the company."""
    return StaffIdentity("system:reviews", company_id, Role.ADMIN)


def review_request_task(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """Task ``review_request`` (data: ``lead_id``, optional ``platform``): ask a lead for a
    review, as staff would; a customer in the cooldown is skipped, not failed."""
    lead_id = task.data.get("lead_id")
    if not isinstance(lead_id, str) or not lead_id:
        raise InvalidInput("A review_request task needs data.lead_id.")
    try:
        review = request_review(
            ctx.store,
            ctx.queue,
            ctx.messenger,
            ctx.now,
            staff=_system(task.company_id),
            company_id=task.company_id,
            lead_id=lead_id,
            review_id=stable_id("review-task", task.company_id, task.id),
            platform=task.data.get("platform"),
        )
    except Refused as err:
        return {"skipped": err.message}
    return {"review_id": review.id, "message_id": review.message_id}


def review_reminder_task(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """Task ``review_reminder`` (data: ``review_id``, ``number``): remind the customer,
    unless the review is completed (or gone, or the customer opted out) by now."""
    review_id, number = str(task.data.get("review_id")), int(task.data.get("number", 1))
    snap = ctx.store.get_all([review_path(task.company_id, review_id)])[0]
    if snap.data is None:
        return {"skipped": "review not found"}
    review = Review.model_validate(snap.data)
    if review.status != ReviewStatus.REQUESTED or review.delivery != "sent":
        return {"skipped": f"review is {review.status.value}"}
    target = _load(ctx.store, _system(task.company_id), task.company_id, review.lead_id)
    refusal = send_refusal(target.lead.model_dump(), "transactional", "email")
    if refusal is not None:
        return {"skipped": f"customer {refusal}"}
    subject = request_subject(target.company.name)
    provider_id = ctx.messenger.send(
        OutboundMessage(
            "email",
            target.lead.email,
            f"Re: {subject}",
            reminder_text(review.request_message),
            reminder_key(task.company_id, review_id, number),
        )
    )
    # max(): a replayed reminder must not count twice.
    sent = {"reminders_sent": max(review.reminders_sent, number), "updated_at": ctx.now}
    ctx.store.commit(
        [
            Write(snap.path, sent, "merge"),
            review_interaction(
                review,
                number,
                f"Re: {subject}",
                provider_id,
                ctx.now,
                handed_status(ctx.messenger.accepts("email")),
            ),
        ]
    )
    return {"sent": True, "number": number, "message_id": provider_id}
