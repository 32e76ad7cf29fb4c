"""Acting on what e-mail providers report about marketing mail: deliveries, bounces, spam
complaints and replies (``email_events``; the format is ``shared.campaigns.domain.email_events``).

Each event goes to the send it is about: the one its ``message_id`` or one of its
``references`` names (the signed reference every marketing e-mail carries in its
Message-ID and ``X-GrowthKit-Send`` header), and nothing else: an address is no proof
(anyone can write a reply "From" a lead, and one provider account serves every company),
so an event naming no send of ours is filed under no company. It is kept outside every
company, for operators (the Firestore rules give clients no access): a reply at
``unmatched_replies/{id}``, with its text so that it can be passed on by hand, any other
event at ``unmatched_email_events/{id}``; both expire after ``UNMATCHED_TTL``, and the
webhook answers 200 all the same, so the provider does not retry them forever.

A matched event is recorded at ``companies/{c}/email_events/{id}`` (the id derived from
the provider's event id) by a create in the same commit as its effects, so a webhook
delivered twice acts once:

- a hard bounce suppresses the address (reason ``bounced``) so marketing skips it, marks
  the send bounced, a contact's outreach message ``failed``, and counts the campaign's
  ``bounced`` once; a soft bounce (mailbox full, greylisting: temporary) is only counted
  on the send (``soft_bounces``), never suppressed, since the provider itself retries
  and reports a hard bounce when the address is really gone;
- a complaint (a spam report) suppresses the address (reason ``complained``) and counts
  the campaign's ``complained`` once;
- a reply goes through the same path as an SMS reply (``tracking.reply_writes``): the
  lead's inbound ``replied`` interaction, the outreach message ``replied``, the campaign's
  recipient ``responded``; the reply's text is kept as text, truncated;
- a delivery marks the send ``delivered_at``;
- a delivery or a hard bounce moves the lead's timeline entry of the message to
  ``delivered`` or ``bounced`` (``delivery_reports.timeline_report``: only forward).

Suppressions are recorded before the event (create-only, so a retry after a crash in
between finds them and records the event).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Literal

from msgspec import Struct
from msgspec.structs import asdict

from shared.campaigns.domain.compliance import SuppressionReason
from shared.campaigns.domain.email_events import (
    DETAIL_CHARS,
    REPLY_SUBJECT_CHARS,
    REPLY_TEXT_CHARS,
    EmailEvent,
    EmailEventBatch,
    read_send_reference,
)
from shared.campaigns.domain.keys import counted_in
from shared.campaigns.domain.outreach_keys import MESSAGE_RANK, MessageStatus, message_path
from shared.campaigns.services.compliance import record_suppression
from shared.campaigns.services.delivery_reports import timeline_report
from shared.campaigns.services.policy import send_path
from shared.campaigns.services.tracking import reply_writes
from shared.domain.common import as_utc
from shared.domain.leads import InteractionStatus
from shared.errors import AlreadyExists
from shared.ports import DocumentStore, Increment, Snapshot, Write

log = logging.getLogger("growthkit.email_events")

Outcome = Literal["applied", "duplicate", "unmatched"]
# Long enough for operators to look into an unmatched event, short enough not to pile up.
UNMATCHED_TTL = timedelta(days=30)
_REFS = ("lead_id", "contact_id", "campaign_id", "issue_id", "workflow_id", "execution_id")


class EventResult(Struct, frozen=True):
    """What came of one event: ``id`` is its stored id (derived from its event id)."""

    id: str
    outcome: Outcome
    send_id: str | None = None
    matched_by: str | None = None  # message_id or references

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def email_event_path(company_id: str, event_key: str) -> str:
    return f"companies/{company_id}/email_events/{event_key}"


def unmatched_path(event_key: str) -> str:
    return f"unmatched_email_events/{event_key}"


def unmatched_reply_path(event_key: str) -> str:
    return f"unmatched_replies/{event_key}"


def record_email_events(
    store: DocumentStore, now: datetime, key: bytes, batch: EmailEventBatch
) -> list[EventResult]:
    """Act on each event of a webhook's batch, in order (``record_email_event``)."""
    return [record_email_event(store, now, key, event) for event in batch.events]


def record_email_event(
    store: DocumentStore, now: datetime, key: bytes, event: EmailEvent
) -> EventResult:
    """Act on one event about a marketing e-mail, once.

    Args:
        store: The document store.
        now: When the webhook was received.
        key: The signing key send references are signed with.
        event: The event.

    Returns:
        Whether it acted (``applied``), had already (``duplicate``), or found no send
        (``unmatched``, recorded as such).

    Raises:
        Transient: Firestore is unavailable (the provider retries; nothing acts twice).
    """
    event_key = event.key()
    send, matched_by = _find_send(store, key, event)
    if send is None or send.data is None:
        _record_unmatched(store, now, event, event_key)
        return EventResult(event_key, "unmatched")
    data = send.data
    company_id, send_id = str(data["company_id"]), str(data.get("id") or send.path.split("/")[-1])
    path = email_event_path(company_id, event_key)
    if store.get_all([path])[0].data is not None:
        return EventResult(event_key, "duplicate", send_id, matched_by)
    _suppress(store, now, event, data, send_id)
    record = _event_record(event, event_key, data, send_id, matched_by, now)
    try:
        store.commit([Write(path, record, "create"), *_effects(store, now, event, send)])
    except AlreadyExists:  # the same event, delivered twice at once: the other one acted
        return EventResult(event_key, "duplicate", send_id, matched_by)
    log.info("e-mail %s of %s/%s recorded (%s)", event.type, company_id, send_id, matched_by)
    return EventResult(event_key, "applied", send_id, matched_by)


def _find_send(
    store: DocumentStore, key: bytes, event: EmailEvent
) -> tuple[Snapshot | None, str | None]:
    """The e-mail send that the first reference of ours among the message ids the event
    names leads to (only signatures that check are looked up), and which field held it."""
    for message_id in event.named_messages():
        reference = read_send_reference(message_id, key)
        if reference is None:
            continue
        snap = store.get_all([send_path(*reference)])[0]
        if snap.data is not None and snap.data.get("channel") == "email":
            return snap, "message_id" if message_id == event.message_id else "references"
    return None, None


def _event_record(
    event: EmailEvent,
    event_key: str,
    send: dict[str, Any],
    send_id: str,
    matched_by: str | None,
    now: datetime,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": event_key,
        "company_id": send["company_id"],
        "type": event.type,
        "event_id": event.event_id,
        "send_id": send_id,
        "matched_by": matched_by,
        "address": send.get("to"),
        **{k: send[k] for k in _REFS if isinstance(send.get(k), str)},
        "bounce_type": event.bounce_type,
        "detail": (event.detail or "")[:DETAIL_CHARS] or None,
        "occurred_at": as_utc(event.occurred_at) if event.occurred_at else None,
        "received_at": now,
    }
    if event.reply is not None:
        record["reply"] = {
            "from": event.reply.from_,
            "subject": event.reply.subject[:REPLY_SUBJECT_CHARS],
            "text": event.reply.text[:REPLY_TEXT_CHARS],
        }
    return record


def _suppress(
    store: DocumentStore, now: datetime, event: EmailEvent, send: dict[str, Any], send_id: str
) -> None:
    """A hard bounce or a complaint: the address the send went to gets no more marketing."""
    if event.type == "bounced" and event.bounce_type == "hard":
        reason, source = SuppressionReason.BOUNCED, "email_bounce"
    elif event.type == "complained":
        reason, source = SuppressionReason.COMPLAINED, "email_complaint"
    else:
        return
    refs: dict[str, Any] = {k: send.get(k) for k in ("lead_id", "contact_id")}
    refs |= {"send_id": send_id, "detail": (event.detail or "")[:DETAIL_CHARS] or None}
    record_suppression(
        store,
        now,
        company_id=str(send["company_id"]),
        channel="email",
        address=str(send.get("to") or event.address),
        reason=reason,
        source=source,
        refs=refs,
    )


def _effects(store: DocumentStore, now: datetime, event: EmailEvent, send: Snapshot) -> list[Write]:
    """What the event changes besides its own record (the send, message, campaign)."""
    data = send.data or {}
    if event.type == "replied" and event.reply is not None:
        metadata = {
            "subject": event.reply.subject[:REPLY_SUBJECT_CHARS],
            "from": event.reply.from_,
        }
        return reply_writes(
            store, now, send, event.reply.text[:REPLY_TEXT_CHARS], event.key(), metadata
        )
    if event.type == "delivered":
        first = (
            [] if data.get("delivered_at") else [Write(send.path, {"delivered_at": now}, "merge")]
        )
        return first + timeline_report(store, data, InteractionStatus.DELIVERED, now)
    if event.type == "bounced" and event.bounce_type == "soft":
        soft = {"soft_bounces": Increment(1), "last_soft_bounce_at": now}
        return [Write(send.path, soft, "merge")]
    field = "bounced" if event.type == "bounced" else "complained"
    if data.get(f"{field}_at"):
        return []  # the send's first one counted already (another event id, same news)
    mark: dict[str, Any] = {f"{field}_at": now}
    if event.detail:
        mark[f"{field}_detail"] = event.detail[:DETAIL_CHARS]
    writes = [Write(send.path, mark, "merge")]
    company_id = str(data["company_id"])
    for owner in counted_in(data):
        writes.append(Write(owner, {"stats": {field: Increment(1)}}, "merge"))
    if field == "bounced" and isinstance(data.get("message_id"), str):
        writes += _message_failed(store, company_id, data["message_id"], event, now)
    if field == "bounced":
        writes += timeline_report(store, data, InteractionStatus.BOUNCED, now)
    return writes


def _message_failed(
    store: DocumentStore, company_id: str, message_id: str, event: EmailEvent, now: datetime
) -> list[Write]:
    """A contact's outreach message that bounced for good failed (unless opened or
    replied meanwhile: engagement only moves a message forward)."""
    snap = store.get_all([message_path(company_id, message_id)])[0]
    if snap.data is None:
        return []
    if MESSAGE_RANK.get(str(snap.data.get("status")), 0) > MESSAGE_RANK[MessageStatus.SENT.value]:
        return []
    error = f"bounced: {(event.detail or 'hard bounce')[:DETAIL_CHARS]}"
    failed = {"status": MessageStatus.FAILED.value, "error": error, "updated_at": now}
    return [Write(snap.path, failed, "merge")]


def _record_unmatched(
    store: DocumentStore, now: datetime, event: EmailEvent, event_key: str
) -> None:
    """Kept outside every company for operators: a reply with what it says (they may pass
    it on by hand), any other event as the provider described it."""
    record = {
        "id": event_key,
        "type": event.type,
        "event_id": event.event_id,
        "message_id": event.message_id,
        "references": event.references[-10:],
        "address": event.address,
        "bounce_type": event.bounce_type,
        "detail": (event.detail or "")[:DETAIL_CHARS] or None,
        "occurred_at": as_utc(event.occurred_at) if event.occurred_at else None,
        "received_at": now,
        "expires_at": now + UNMATCHED_TTL,  # a TTL policy deletes it then
    }
    path = unmatched_path(event_key)
    if event.reply is not None:
        path = unmatched_reply_path(event_key)
        record |= {
            "from": event.reply.from_,
            "subject": event.reply.subject[:REPLY_SUBJECT_CHARS],
            "text": event.reply.text[:REPLY_TEXT_CHARS],
        }
    try:
        store.commit([Write(path, record, "create")])
    except AlreadyExists:
        pass
    log.info("e-mail %s matched no send; kept at %s", event.type, path)
