"""Recording opens, clicks and replies to marketing messages.

Each hit is kept at ``companies/{c}/tracking_events/{id}`` with whether it counted and,
if not, why (a scanner, a privacy proxy). The first counted open and the first counted
click of a message move its send record, the lead's timeline entry for the message
(status ``opened``/``clicked``, which scoring and workflow branches read) or the
contact's outreach message (``opened``), and the campaign's counters, in one transaction;
later hits are only recorded.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from msgspec import Struct

from shared.campaigns.domain.compliance import Channel, address_id, unsign
from shared.campaigns.domain.keys import (
    RecipientStatus,
    campaign_path,
    counted_in,
    recipient_path,
)
from shared.campaigns.domain.outreach_keys import MESSAGE_RANK, MessageStatus, message_path
from shared.campaigns.domain.tracking import CLICK_MAX_AGE, HitKind, bot_reason
from shared.campaigns.services.policy import send_path
from shared.domain.common import as_utc, random_id, stable_id
from shared.domain.leads import interaction_path
from shared.errors import InvalidInput, Refused
from shared.ports import DocumentStore, Filter, Increment, Snapshot, Transaction, Write

log = logging.getLogger("growthkit.tracking")
_INTERACTION_RANK = {"delivered": 0, "opened": 1, "clicked": 2, "replied": 3, "received": 3}


class Hit(Struct, frozen=True):
    """A request to a tracking link, as the function saw it."""

    kind: HitKind
    token: str
    method: str
    user_agent: str
    ip: str


class TrackResult(Struct, frozen=True):
    counted: bool
    reason: str | None
    redirect: str | None = None  # a click's original URL


def read_token(
    hit: Hit, key: bytes, now: datetime, max_age: timedelta = CLICK_MAX_AGE
) -> tuple[str, str, str | None]:
    """(company, send, url) from the hit's token; InvalidInput when it is not ours,
    Refused for a click link older than ``max_age`` (or without an issue time: signed
    before click links expired)."""
    payload = unsign(hit.token, key, hit.kind)
    company_id, send_id, url = payload.get("c"), payload.get("s"), payload.get("u")
    if not (isinstance(company_id, str) and company_id and isinstance(send_id, str) and send_id):
        raise InvalidInput("This link is not valid (damaged or not ours).")
    if hit.kind == "click" and not (
        isinstance(url, str) and url.startswith(("http://", "https://"))
    ):
        raise InvalidInput("This link is not valid (damaged or not ours).")
    issued = payload.get("i")
    if hit.kind == "click" and not (
        isinstance(issued, int) and now.timestamp() - issued <= max_age.total_seconds()
    ):
        raise Refused("This link has expired.", {"reason": "expired"})
    return company_id, send_id, url if hit.kind == "click" else None


def record_hit(
    store: DocumentStore,
    now: datetime,
    key: bytes,
    hit: Hit,
    max_age: timedelta = CLICK_MAX_AGE,
) -> TrackResult:
    """Record an open or a click.

    Args:
        store: The document store.
        now: The time of the hit.
        key: The signing key the token must be signed with.
        hit: The request.
        max_age: How long a click link works.

    Returns:
        Whether it counted as engagement (and why not), and a click's original URL.

    Raises:
        InvalidInput: the token is damaged or forged (no redirect to anywhere else).
        Refused: the click link expired.
    """
    company_id, send_id, url = read_token(hit, key, now, max_age)

    def record(tx: Transaction) -> TrackResult:
        send = tx.get(send_path(company_id, send_id))
        data = send.data or {}
        sent_at = data.get("sent_at") or data.get("reserved_at")
        when = as_utc(sent_at) if isinstance(sent_at, datetime) else None
        reason = bot_reason(
            hit.kind, method=hit.method, user_agent=hit.user_agent, ip=hit.ip, sent_at=when, now=now
        )
        firsts = _firsts(data, hit.kind) if reason is None and send.exists else []
        extra = _reads(tx, data) if firsts else {}
        tx.write(_event(company_id, send_id, data, hit, url, reason, now))
        for write in _engagement(send, data, firsts, extra, now):
            tx.write(write)
        return TrackResult(reason is None, reason, url)

    result = store.run_transaction(record)
    log.info(
        "%s of %s/%s: counted=%s %s",
        hit.kind,
        company_id,
        send_id,
        result.counted,
        result.reason or "",
    )
    return result


def _firsts(send: dict[str, Any], kind: HitKind) -> list[str]:
    """Which engagement this hit is the first of: a click is an open too."""
    wanted = ["opened", "clicked"] if kind == "click" else ["opened"]
    return [k for k in wanted if not send.get(f"{k}_at")]


def _reads(tx: Transaction, send: dict[str, Any]) -> dict[str, Snapshot]:
    """The timeline entry and outreach message the send names (read before any write)."""
    paths = {}
    if isinstance(send.get("interaction"), str):
        paths["interaction"] = send["interaction"]
    if isinstance(send.get("message_id"), str):
        paths["message"] = message_path(str(send["company_id"]), send["message_id"])
    snaps = tx.get_all(list(paths.values())) if paths else []
    return dict(zip(paths, snaps, strict=True))


def _event(
    company_id: str,
    send_id: str,
    send: dict[str, Any],
    hit: Hit,
    url: str | None,
    reason: str | None,
    now: datetime,
) -> Write:
    data = {
        "company_id": company_id,
        "kind": hit.kind,
        "send_id": send_id,
        "counted": reason is None,
        "reason": reason,
        "url": url,
        "method": hit.method,
        "user_agent": hit.user_agent[:300],
        "ip_hash": stable_id("ip", hit.ip),  # enough to tell hits apart, not to find anyone
        **{
            k: send.get(k)
            for k in ("campaign_id", "issue_id", "lead_id", "contact_id")
            if send.get(k)
        },
        "at": now,
    }
    return Write(f"companies/{company_id}/tracking_events/{random_id()}", data, "create")


def _engagement(
    send: Snapshot,
    data: dict[str, Any],
    firsts: list[str],
    extra: dict[str, Snapshot],
    now: datetime,
) -> list[Write]:
    """The writes a first open or click makes, each only moving things forward."""
    if not firsts:
        return []
    writes = [Write(send.path, {f"{k}_at": now for k in firsts}, "merge")]
    for owner in counted_in(data):
        writes.append(Write(owner, {"stats": {k: Increment(1) for k in firsts}}, "merge"))
    top = firsts[-1]
    interaction = extra.get("interaction")
    if interaction is not None and interaction.data is not None:
        current = _INTERACTION_RANK.get(str(interaction.data.get("status")), 0)
        if _INTERACTION_RANK[top] > current:
            writes.append(Write(interaction.path, {"status": top, "updated_at": now}, "merge"))
    message = extra.get("message")
    if message is not None and message.data is not None:
        current_rank = MESSAGE_RANK.get(str(message.data.get("status")), 0)
        update: dict[str, Any] = {f"{k}_at": now for k in firsts} | {"updated_at": now}
        if MESSAGE_RANK[MessageStatus.OPENED.value] > current_rank:
            update["status"] = MessageStatus.OPENED.value
        writes.append(Write(message.path, update, "merge"))
    return writes


def record_reply(
    store: DocumentStore,
    now: datetime,
    *,
    company_id: str,
    channel: Channel,
    address: str,
    body: str,
    reply_id: str,
) -> str | None:
    """A reply from ``address``: the latest marketing message sent there is answered
    (``reply_writes``).

    Args:
        store: The document store.
        now: When the reply came.
        company_id: The tenant.
        channel: The channel it came on.
        address: Who replied.
        body: What they wrote.
        reply_id: The provider's id of the reply (a webhook retried keeps it).

    Returns:
        The send it answered, or None when nothing was sent to that address.
    """
    send = latest_send(store, channel, address, company_id)
    if send is None or send.data is None:
        return None
    store.commit(reply_writes(store, now, send, body, reply_id))
    log.info("reply to %s/%s recorded", company_id, send.data.get("id"))
    return str(send.data.get("id"))


def latest_send(
    store: DocumentStore, channel: Channel, address: str, company_id: str
) -> Snapshot | None:
    """The company's latest marketing message sent to ``address`` on ``channel``. Never
    across companies: an address does not say which company a message answers."""
    filters = [
        Filter("address_id", "==", address_id(channel, address)),
        Filter("status", "==", "sent"),
    ]
    snaps = store.query(
        f"companies/{company_id}/outreach_sends",
        filters,
        order_by=[("sent_at", True)],
        limit=1,
    )
    return snaps[0] if snaps and snaps[0].data is not None else None


def reply_writes(
    store: DocumentStore,
    now: datetime,
    send: Snapshot,
    body: str,
    reply_id: str,
    metadata: dict[str, Any] | None = None,
) -> list[Write]:
    """What a reply to ``send`` changes, for the caller's commit: the send's
    ``replied_at``; the lead's inbound ``replied`` interaction (which ends workflow
    enrolments with a reply goal, is what reply branches look for, and scores
    engagement); a contact's outreach message ``replied``; the campaign's recipient
    ``responded`` (unless already further on, so counted once).

    Args:
        store: The document store (reads the campaign's recipient).
        now: When the reply came.
        send: The send answered.
        body: What they wrote (kept up to 5,000 characters, as text).
        reply_id: The provider's id of the reply: the interaction's id derives from it,
            so a retried webhook writes the same one.
        metadata: More to keep on the interaction (an e-mail's subject).
    """
    data = send.data or {}
    return [
        Write(send.path, {"replied_at": now}, "merge"),
        *_reply_traces(data, body, reply_id, now, metadata or {}),
        *_responded(store, str(data["company_id"]), data, now),
    ]


def _reply_traces(
    send: dict[str, Any], body: str, reply_id: str, now: datetime, metadata: dict[str, Any]
) -> list[Write]:
    company_id, writes = str(send["company_id"]), []
    if isinstance(send.get("lead_id"), str):
        interaction = {
            "id": stable_id("reply", reply_id),
            "lead_id": send["lead_id"],
            "company_id": company_id,
            "type": send.get("channel", "sms"),
            "direction": "inbound",
            "channel": send.get("channel", "sms"),
            "status": "replied",
            "body": body[:5000],
            "metadata": {
                "send_id": send.get("id"),
                **{k: send.get(k) for k in _REPLY_REFS if send.get(k)},
                **metadata,
            },
            "created_at": now,
            "updated_at": now,
        }
        path = interaction_path(company_id, send["lead_id"], interaction["id"])
        writes.append(Write(path, interaction, "set"))
    if isinstance(send.get("message_id"), str):
        replied = {"status": MessageStatus.REPLIED.value, "replied_at": now, "updated_at": now}
        writes.append(Write(message_path(company_id, send["message_id"]), replied, "merge"))
    return writes


_REPLY_REFS = ("campaign_id", "workflow_id", "execution_id", "step_id")


def _responded(
    store: DocumentStore, company_id: str, send: dict[str, Any], now: datetime
) -> list[Write]:
    """The campaign's recipient responded (counted once, on the first reply)."""
    campaign_id = send.get("campaign_id")
    recipient_id = send.get("lead_id") or send.get("contact_id")
    if not (isinstance(campaign_id, str) and isinstance(recipient_id, str)):
        return []
    snap = store.get_all([recipient_path(company_id, campaign_id, recipient_id)])[0]
    if snap.data is None or snap.data.get("status") != RecipientStatus.CONTACTED.value:
        return []
    stats = {"stats": {"responded": Increment(1)}}
    return [
        Write(snap.path, {"status": RecipientStatus.RESPONDED.value, "updated_at": now}, "merge"),
        Write(campaign_path(company_id, campaign_id), stats, "merge"),
    ]
