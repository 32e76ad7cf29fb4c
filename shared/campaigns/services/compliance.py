"""Opting out and back in: unsubscribe links, SMS keywords, do-not-contact records.

An unsubscribe link carries a token signed with ``settings.signing_key`` naming the
company, channel, address and the message it came in; following it (or a mail client's
one-click POST) records a suppression. An inbound SMS of STOP (or UNSUBSCRIBE, CANCEL,
END, QUIT...) records one for the sender's number, START lifts it, HELP is answered with
the company's help text. Suppressions are create-only: the first reason stays on record.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from msgspec import Struct

from shared.campaigns.domain.compliance import (
    Channel,
    Suppression,
    SuppressionReason,
    normalize_address,
    sms_keyword,
    suppression_id,
    suppression_path,
    unsign,
)
from shared.campaigns.domain.keys import campaign_path
from shared.campaigns.services.policy import send_path
from shared.campaigns.services.tracking import record_reply
from shared.domain.common import stable_id
from shared.domain.company import Company, company_path
from shared.errors import AlreadyExists, InvalidInput, NotFound
from shared.ports import DocumentStore, Increment, Write

log = logging.getLogger("growthkit.compliance")


class UnsubscribeLink(Struct, frozen=True):
    """What an unsubscribe token names."""

    company_id: str
    channel: Channel
    address: str
    send_id: str


def read_unsubscribe_token(token: str, key: bytes) -> UnsubscribeLink:
    """The link's contents; InvalidInput (400) for a damaged or forged token."""
    payload = unsign(token, key, "unsub")
    values = [payload.get(k) for k in ("c", "ch", "a", "s")]
    if not all(isinstance(v, str) and v for v in values) or payload["ch"] not in ("email", "sms"):
        raise InvalidInput("This link is not valid (damaged or not ours).")
    return UnsubscribeLink(payload["c"], payload["ch"], payload["a"], payload["s"])


def company_name(store: DocumentStore, company_id: str) -> str:
    """The name shown on the confirmation page; NotFound for a company that is gone."""
    snap = store.get_all([company_path(company_id)])[0]
    if snap.data is None:
        raise NotFound("This company no longer exists.")
    return str(snap.data.get("name") or "")


def record_suppression(
    store: DocumentStore,
    now: datetime,
    *,
    company_id: str,
    channel: Channel,
    address: str,
    reason: SuppressionReason,
    source: str,
    refs: dict[str, Any] | None = None,
) -> tuple[Suppression, bool]:
    """Record that ``address`` is not to get marketing on ``channel``.

    Args:
        store: The document store.
        now: The time of the request.
        company_id: The tenant.
        channel: e-mail or SMS.
        address: The address as given (normalised here).
        reason: Why (kept with the record).
        source: What recorded it (``one_click``, ``sms_keyword``...).
        refs: The lead, contact, send and detail it came with, when known.

    Returns:
        The suppression as stored, and whether this call created it (an address already
        suppressed keeps its first record).
    """
    refs = refs or {}
    address = _opted_out(channel, address)
    suppression = Suppression(
        id=suppression_id(channel, address),
        company_id=company_id,
        channel=channel,
        address=address,
        reason=reason,
        source=source,
        **{k: v for k, v in refs.items() if k in ("lead_id", "contact_id", "send_id", "detail")},
        created_at=now,
        updated_at=now,
    )
    path = suppression_path(company_id, channel, address)
    try:
        store.commit([Write(path, suppression.model_dump(), "create"), *_attributed(refs, now)])
    except AlreadyExists:
        existing = store.get_all([path])[0].data or {}
        return Suppression.model_validate(existing), False
    log.info("%s suppressed for %s (%s, %s)", channel, company_id, reason.value, source)
    return suppression, True


def _opted_out(channel: Channel, address: str) -> str:
    """The canonical address an opt-out is for; 400 when the value names none."""
    try:
        return normalize_address(channel, address)
    except ValueError as err:
        raise InvalidInput(f"Not an {channel} address to opt out.") from err


def _attributed(refs: dict[str, Any], now: datetime) -> list[Write]:
    """The message an opt-out answered, and its campaign's count of opt-outs."""
    company_id, send_id = refs.get("company_id"), refs.get("send_id")
    if not (company_id and send_id):
        return []
    writes = [Write(send_path(company_id, send_id), {"unsubscribed_at": now}, "merge")]
    campaign_id = refs.get("campaign_id")
    if campaign_id:
        stats = {"stats": {"unsubscribed": Increment(1)}}
        writes.append(Write(campaign_path(company_id, campaign_id), stats, "merge"))
    return writes


def unsubscribe(
    store: DocumentStore, now: datetime, link: UnsubscribeLink, source: str
) -> tuple[Suppression, bool]:
    """Follow an unsubscribe link: the address gets no more marketing on its channel.

    Args:
        store: The document store.
        now: The time of the request.
        link: The verified token's contents.
        source: How it came: ``one_click`` (List-Unsubscribe-Post) or ``unsubscribe_link``.

    Returns:
        The suppression, and whether it is new.

    Raises:
        NotFound: the company no longer exists.
    """
    company_name(store, link.company_id)
    sent = store.get_all([send_path(link.company_id, link.send_id)])[0].data or {}
    refs = {k: sent.get(k) for k in ("lead_id", "contact_id", "campaign_id")}
    refs["send_id"] = link.send_id
    refs |= {"company_id": link.company_id} if sent else {}  # attributed to a known send
    return record_suppression(
        store,
        now,
        company_id=link.company_id,
        channel=link.channel,
        address=link.address,
        reason=SuppressionReason.UNSUBSCRIBED,
        source=source,
        refs=refs,
    )


class InboundReply(Struct, frozen=True):
    keyword: str | None
    reply: str | None


def inbound_sms(
    store: DocumentStore,
    now: datetime,
    *,
    company_id: str,
    sender: str,
    body: str,
    message_sid: str | None = None,
) -> InboundReply:
    """Act on an SMS a company's number received.

    STOP-like words suppress the sender's number, START lifts an SMS opt-out (never a
    do-not-contact staff recorded), HELP gets the company's help text; anything else is a
    reply to the latest message sent to the number (``tracking.record_reply``).

    Args:
        store: The document store.
        now: When it was received.
        company_id: The company whose number received it (from the webhook's URL).
        sender: The sender's number (``From``).
        body: The message (``Body``).
        message_sid: The provider's id of the message (a retried webhook keeps it).

    Returns:
        The keyword found and the text to answer with (None: no answer).

    Raises:
        NotFound: unknown company. InvalidInput: no sender number.
    """
    company_snap = store.get_all([company_path(company_id)])[0]
    if company_snap.data is None:
        raise NotFound("Unknown company.")
    if not normalize_address("sms", sender).lstrip("+"):
        raise InvalidInput("The message has no sender number.", {"fields": {"From": "required"}})
    company = Company.model_validate({**company_snap.data, "id": company_id})
    keyword = sms_keyword(body)
    name = company.name or "We"
    if keyword == "stop":
        record_suppression(
            store,
            now,
            company_id=company_id,
            channel="sms",
            address=sender,
            reason=SuppressionReason.SMS_STOP,
            source="sms_keyword",
            refs={"detail": body.strip()[:160]},
        )
        reply = f"{name}: you are unsubscribed and will get no more messages. Reply START to undo."
        return InboundReply(keyword, reply)
    if keyword == "start":
        lifted = _lift_sms_stop(store, company_id, sender)
        again = f"{name}: you are subscribed again. Reply STOP to opt out."
        return InboundReply(keyword, again if lifted else None)
    if keyword == "help":
        return InboundReply(keyword, company.settings.sms_help_text.replace("{company}", name))
    reply_id = message_sid or stable_id(sender, body, now.isoformat())
    record_reply(
        store,
        now,
        company_id=company_id,
        channel="sms",
        address=sender,
        body=body,
        reply_id=reply_id,
    )
    return InboundReply(None, None)


def _lift_sms_stop(store: DocumentStore, company_id: str, sender: str) -> bool:
    """Delete the number's suppression if a STOP reply made it (guarded: not one that
    changed since it was read, so a staff record written meanwhile stays)."""
    snap = store.get_all([suppression_path(company_id, "sms", sender)])[0]
    if snap.data is None or snap.data.get("reason") != SuppressionReason.SMS_STOP.value:
        return False
    store.commit([Write(snap.path, {}, "delete", snap.update_time)])
    log.info("sms opt-out lifted for %s by START", company_id)
    return True
