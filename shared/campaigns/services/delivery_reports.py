"""What providers report after a marketing message left: the lead's timeline follows.

An e-mail provider's delivery or bounce (``email_events``) and Twilio's status callbacks
for SMS (``sms_status``) move the message's timeline entry (the ``interaction`` its send
record names) to ``delivered`` or ``bounced``, only ever forward
(``shared.domain.leads.delivery_moves``: a late delivery report never undoes a bounce, and
an opened message stays opened). The write is guarded by the entry's update time, so an
open recorded at the same moment is not overwritten (the caller's commit fails and the
provider's retry decides again).

Twilio's callbacks (``record_sms_status``) come to ``sms_inbound?send=<reference>``: the
send reference the messenger put in the callback URL, which Twilio's signature covers.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from shared.campaigns.domain.email_events import read_send_reference
from shared.campaigns.services.policy import send_path
from shared.domain.leads import InteractionStatus, delivery_moves
from shared.errors import InvalidInput, Transient
from shared.ports import DocumentStore, Write

log = logging.getLogger("growthkit.delivery_reports")

# Twilio's final message statuses, as the timeline shows them (the others, queued,
# sending, sent, accepted, change nothing: the message is already ``sent``).
SMS_REPORTS = {
    "delivered": InteractionStatus.DELIVERED,
    "undelivered": InteractionStatus.BOUNCED,
    "failed": InteractionStatus.BOUNCED,
}
SmsOutcome = Literal["applied", "ignored", "unmatched"]


def timeline_report(
    store: DocumentStore, send: dict[str, Any], reported: InteractionStatus, now: datetime
) -> list[Write]:
    """The write moving the send's timeline entry to ``reported``, if it moves."""
    path = send.get("interaction")
    if not isinstance(path, str):
        return []  # a contact's message: its outreach message has a status of its own
    snap = store.get_all([path])[0]
    if snap.data is None or not delivery_moves(snap.data.get("status"), reported):
        return []
    update = {"status": reported.value, "updated_at": now}
    return [Write(path, update, "update", snap.update_time)]


def record_sms_status(
    store: DocumentStore,
    now: datetime,
    key: bytes,
    reference: str,
    report: dict[str, str],
) -> SmsOutcome:
    """Act on one status callback of a marketing SMS.

    Args:
        store: The document store.
        now: When it came.
        key: The signing key send references are signed with.
        reference: The ``send`` parameter of the callback URL.
        report: The callback's form (``MessageSid``, ``MessageStatus``, ``ErrorCode``).

    Returns:
        ``applied``; ``ignored`` (a status that changes nothing); ``unmatched`` (the
        message is not the one the send went out as).

    Raises:
        InvalidInput: the reference is not one of ours. Transient: the send is not
            recorded as sent yet (the callback came before the sender's commit).
    """
    found = read_send_reference(reference, key)
    if found is None:
        raise InvalidInput("The status callback names no message of ours.")
    reported = SMS_REPORTS.get(report.get("MessageStatus", ""))
    if reported is None:
        return "ignored"
    snap = store.get_all([send_path(*found)])[0]
    data = snap.data or {}
    if data.get("channel") != "sms":
        return "unmatched"
    if data.get("status") != "sent":
        raise Transient("The SMS is not recorded as sent yet; the report came early.")
    if data.get("provider_id") != report.get("MessageSid"):
        return "unmatched"
    store.commit([Write(snap.path, _send_mark(reported, report, now), "merge"),
                  *timeline_report(store, data, reported, now)])  # fmt: skip
    log.info("SMS %s/%s %s", found[0], found[1], report.get("MessageStatus"))
    return "applied"


def _send_mark(
    reported: InteractionStatus, report: dict[str, str], now: datetime
) -> dict[str, Any]:
    if reported is InteractionStatus.DELIVERED:
        return {"delivered_at": now}
    error = report.get("ErrorCode") or "unknown"
    return {"bounced_at": now, "bounced_detail": f"{report.get('MessageStatus')}: error {error}"}
