"""The one way marketing messages go out, for campaigns and workflows alike.

``send_marketing`` refuses a recipient the rule of ``shared.domain.consent`` keeps
marketing from (do not contact; no consent or recorded basis), an address that is not
plain or has a suppression on the channel, keeps the frequency cap per channel and
address, holds SMS outside quiet hours on the recipient's clock (the caller defers, it
never drops), refuses marketing e-mail from a company without a postal address, and
adds what every marketing message carries (footer, unsubscribe link and headers,
tracked links and open pixel; the SMS opt-out line).

A send is reserved before it goes out: one commit creates its record
(``companies/{c}/outreach_sends/{id}``, the id derived from the idempotency key) and counts
it against the cap, so a retry after a crash neither counts it twice nor decides again;
it is sent under the same key (the messaging layer folds the repeat; the attempt that
made the reservation marks its message ``fresh``, so the messenger does not look for an
earlier send) and the caller commits the record's ``sent`` mark with its own ledger.
Transactional mail (review requests, staff invitations) does not come here and is never
suppressed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from msgspec import Struct, field, structs

from shared.campaigns.domain.compliance import (
    Channel,
    address_id,
    cap_counter_path,
    cap_window,
    normalize_address,
    quiet_until,
    suppression_path,
    zone_of,
)
from shared.campaigns.domain.compliance_content import ListMail, marketing_email, marketing_sms
from shared.campaigns.domain.tracking import LinkSigner, Spans
from shared.domain.common import as_utc, normalize_email, one_line, stable_id
from shared.domain.company import Company
from shared.domain.consent import send_refusal
from shared.errors import AlreadyExists, Contention, DomainError, Refused, Transient
from shared.ports import (
    SEND_HEADER,
    DocumentStore,
    Increment,
    Messenger,
    OutboundMessage,
    Snapshot,
    Write,
)

log = logging.getLogger("growthkit.outreach_policy")

Outcome = Literal["sent", "deferred", "blocked", "failed"]
RESERVE_ATTEMPTS = 3


class Outreach(Struct, frozen=True):
    """One marketing message to send: ``key`` is its idempotency key, ``recipient`` the
    lead or contact it goes to (its consent, its time zone), ``refs`` what it belongs to
    (``lead_id``, ``contact_id``, ``campaign_id``, ``message_id``, ``interaction``: the
    timeline entry's path, workflow ids), kept on the send record for tracking.
    ``filled``: the spans of ``body`` filled in from values (the recipient's own data),
    never linked or tracked; None when unknown, and then no link of the body is tracked.
    ``list_mail``: a newsletter issue's own HTML and unsubscribe link; such mail is not
    held to the marketing frequency cap (the subscriber chose how often they get it)."""

    channel: Channel
    to: str
    subject: str
    body: str
    key: str
    recipient: Mapping[str, Any] = field(default_factory=dict)
    refs: Mapping[str, str] = field(default_factory=dict)
    filled: Spans | None = None
    list_mail: ListMail | None = None


class SendResult(Struct, frozen=True):
    """What came of it; ``writes`` go into the caller's commit (the record's outcome)."""

    outcome: Outcome
    send_id: str
    reason: str = ""
    until: datetime | None = None
    provider_id: str = ""
    message: OutboundMessage | None = None
    writes: tuple[Write, ...] = ()
    # A provider accepted it (the timeline says ``sent``), or it is only recorded
    # (``queued``: the outbox backend).
    accepted: bool = True


def send_id_for(key: str) -> str:
    return stable_id("send", key)


def send_path(company_id: str, send_id: str) -> str:
    return f"companies/{company_id}/outreach_sends/{send_id}"


def links_from_settings() -> LinkSigner:
    """The link signer of this deployment (functions' base URL, the signing key)."""
    from shared.settings import get_settings

    settings = get_settings()
    return LinkSigner(settings.functions_base_url, settings.signing_key.get_secret_value().encode())


def require_marketing_ready(company: Company, channel: Channel) -> None:
    """Refused (409) for marketing e-mail from a company without a postal address."""
    if channel == "email" and not (company.settings.postal_address or "").strip():
        raise Refused(
            "Marketing e-mail needs the company's postal address in its footer: set "
            "settings.postal_address first.",
            {"reason": "no_postal_address"},
        )


def send_marketing(
    store: DocumentStore,
    messenger: Messenger,
    links: LinkSigner,
    now: datetime,
    company: Company,
    outreach: Outreach,
    counters: Mapping[str, Snapshot] | None = None,
) -> SendResult:
    """Send one marketing message if the rules allow it now.

    Args:
        store: The document store (suppressions, counters, send records).
        messenger: Sends the message.
        links: Signs the unsubscribe, click and open links.
        now: The time of sending.
        company: The sender (name, postal address, caps, quiet hours, time zone).
        outreach: The message and whom it is for.
        counters: Frequency counters the caller read ahead (a campaign batch, with one
            query for many recipients), by path; the send's own, when there, is not read
            again. A counter changed since fails the reservation's precondition and is
            read again; a cap refusal on it is decided again on a fresh read.

    Returns:
        ``sent`` (with the writes marking the record sent), ``deferred`` until the end
        of quiet hours, ``blocked`` (suppressed, capped) or ``failed`` (refused by the
        provider for good; the writes release its place in the cap).

    Raises:
        Refused: marketing e-mail without a postal address.
        Transient: the provider failed in a way worth retrying, or the counters kept
            changing; the reservation stays, so a retry sends under the same key.
    """
    require_marketing_ready(company, outreach.channel)
    sid = send_id_for(outreach.key)
    allowed = _allowed(outreach, sid)
    if isinstance(allowed, SendResult):
        return allowed
    outreach = allowed
    reserved = _reserve(store, now, company, outreach, sid, counters or {})
    if isinstance(reserved, SendResult):
        return reserved
    record, fresh = reserved
    message = _compose(links, company, outreach, sid, _issued(record, now), fresh)
    try:
        provider_id = messenger.send(message)
    except Transient:
        raise
    except DomainError as err:
        log.warning("marketing send %s refused for good: %s", sid, err.message)
        return SendResult("failed", sid, reason=err.message, writes=_failed(record, sid, now))
    accepted = messenger.accepts(message.channel)
    done = {"status": "sent", "provider_id": provider_id, "sent_at": now, "accepted": accepted}
    write = Write(send_path(company.id, sid), done, "merge")
    return SendResult(
        "sent", sid, provider_id=provider_id, message=message, writes=(write,), accepted=accepted
    )


def _allowed(outreach: Outreach, sid: str) -> Outreach | SendResult:
    """Blocked when the recipient may not get marketing on the channel (the rule of
    ``shared.domain.consent``: asked not to be contacted, no consent or recorded basis);
    else the message to the canonical form of its address, which suppressions and caps
    are checked against and the mail goes to. An e-mail address that is not plain (a lead
    stored as ``<jane@x.com>`` before addresses were read strictly) is not sent to."""
    refusal = send_refusal(outreach.recipient, "marketing", outreach.channel)
    if refusal is not None:
        log.info("marketing send %s blocked: %s", sid, refusal)
        return SendResult("blocked", sid, reason=refusal)
    if outreach.channel != "email":
        return outreach
    try:
        return structs.replace(outreach, to=normalize_email(outreach.to))
    except ValueError:
        log.warning("marketing send %s blocked: the address is not a plain one", sid)
        return SendResult("blocked", sid, reason="not a plain e-mail address")


def _reserve(
    store: DocumentStore,
    now: datetime,
    company: Company,
    outreach: Outreach,
    sid: str,
    ahead: Mapping[str, Snapshot],
) -> tuple[dict[str, Any], bool] | SendResult:
    """The send's record, and whether it was reserved just now (True) or by an earlier
    attempt; or why not to send.

    The record is not read up front: it is created with a precondition in the commit
    that counts the send, and read only when that create fails (an earlier attempt
    reserved it) or before a refusal (an earlier attempt may have filled the cap itself,
    and is then resumed, not refused). The counter is not read either when the caller
    read it ``ahead``: its precondition catches a change since, and a cap refusal is
    decided again on a fresh read.
    """
    settings = company.settings
    counter = cap_counter_path(
        company.id, outreach.channel, outreach.to, now, settings.frequency_cap_days
    )
    capped = outreach.list_mail is None
    path = send_path(company.id, sid)
    paths = [
        suppression_path(company.id, outreach.channel, outreach.to),
        *([counter] if capped else []),
    ]
    known = False  # whether this attempt reads the record too
    for _ in range(RESERVE_ATTEMPTS):
        early = ahead.get(counter) if capped and not known else None
        reading = paths[:1] if early is not None else paths
        suppressed, *rest = store.get_all([*reading, path] if known else reading)
        count = early if early is not None else rest[0] if capped else None
        if suppressed.data is not None:
            reason = f"suppressed ({suppressed.data.get('reason', 'do not contact')})"
            return SendResult("blocked", sid, reason=reason)
        existing = rest[-1].data if known else None
        if existing is not None:
            return _resumed(existing, sid)
        refusal = _refusal(company, outreach, count, now, sid)
        if refusal is not None:
            if early is not None and refusal.outcome == "blocked":
                known = True  # capped on a count read ahead: decide on a fresh one
                continue
            if not known and (earlier := store.get_all([path])[0].data) is not None:
                return _resumed(earlier, sid)
            return refusal
        record = _record(company, outreach, sid, counter if capped else "", now)
        try:
            writes = [Write(path, record, "create")]
            if count is not None:
                writes.append(_count(count, outreach, now, settings.frequency_cap_days))
            store.commit(writes)
        except (AlreadyExists, Contention):
            # Reserved by an earlier attempt, or another send to this address counted
            # first: read again, the record too, and decide again.
            known = True
            continue
        return record, True  # no attempt before this one can have sent it
    raise Contention(f"The frequency counter of send {sid} kept changing; try again.")


def _resumed(record: dict[str, Any], sid: str) -> tuple[dict[str, Any], bool] | SendResult:
    """An earlier attempt's record: finish a reserved send (which that attempt may have
    sent already), report a finished one."""
    status = record.get("status")
    if status == "sent":
        provider_id, accepted = str(record.get("provider_id") or ""), record.get("accepted")
        return SendResult("sent", sid, provider_id=provider_id, accepted=accepted is not False)
    if status == "failed":
        return SendResult("failed", sid, reason=str(record.get("error") or "failed"))
    return record, False


def _refusal(
    company: Company, outreach: Outreach, count: Snapshot | None, now: datetime, sid: str
) -> SendResult | None:
    """Why a new send may not go out now: quiet hours (SMS) or the frequency cap (None:
    not capped)."""
    settings = company.settings
    if outreach.channel == "sms":
        zone = zone_of(dict(outreach.recipient), settings.time_zone)
        until = quiet_until(now, zone, settings.quiet_hours_start, settings.quiet_hours_end)
        if until is not None:
            return SendResult("deferred", sid, reason="quiet hours", until=until)
    sent = int((count.data or {}).get("count", 0)) if count is not None else 0
    if count is not None and sent >= settings.frequency_cap:
        reason = f"frequency cap ({settings.frequency_cap} per {settings.frequency_cap_days} days)"
        return SendResult("blocked", sid, reason=reason)
    return None


def _record(
    company: Company, outreach: Outreach, sid: str, counter: str, now: datetime
) -> dict[str, Any]:
    return {
        "id": sid,
        "company_id": company.id,
        "key": outreach.key,
        "channel": outreach.channel,
        "to": normalize_address(outreach.channel, outreach.to),
        "address_id": address_id(outreach.channel, outreach.to),
        "status": "reserved",
        "reserved_at": now,
        "counter": counter,
        **{k: v for k, v in outreach.refs.items() if v},
    }


def _count(count: Snapshot, outreach: Outreach, now: datetime, days: int) -> Write:
    """One more in the window, guarded: a concurrent send to the address fails one of
    the two commits, and that one decides again on the new count."""
    if count.data is None:
        data = {
            "count": 1,
            "channel": outreach.channel,
            "address_id": address_id(outreach.channel, outreach.to),
            "window": cap_window(now, days),
            # The window ends within ``days``; the TTL policy removes the counter later.
            "expires_at": now + timedelta(days=2 * days),
        }
        return Write(count.path, data, "create")
    data = {"count": int(count.data.get("count", 0)) + 1, "updated_at": now}
    return Write(count.path, data, "update", count.update_time)


def _failed(record: dict[str, Any], sid: str, now: datetime) -> tuple[Write, ...]:
    """A send refused for good is marked failed and gives its place in the cap back."""
    mark = {"status": "failed", "failed_at": now}
    path = send_path(str(record["company_id"]), sid)
    if not record.get("counter"):  # not capped: no place to give back
        return (Write(path, mark, "merge"),)
    return (
        Write(path, mark, "merge"),
        Write(str(record["counter"]), {"count": Increment(-1)}, "merge"),
    )


def _issued(record: dict[str, Any], now: datetime) -> datetime:
    """When the send's links are issued: when it was reserved, so that every attempt of
    one send makes the same message."""
    reserved = record.get("reserved_at")
    return as_utc(reserved) if isinstance(reserved, datetime) else now


def _compose(
    links: LinkSigner,
    company: Company,
    outreach: Outreach,
    sid: str,
    issued: datetime,
    fresh: bool,
) -> OutboundMessage:
    """The message as it goes out; the same for every attempt of one send (but ``fresh``,
    true on the attempt that reserved it: the messenger need not look for an earlier
    send of it)."""
    reference = (SEND_HEADER, links.send_reference(company.id, sid))
    if outreach.channel == "sms":
        # Not sent as a header: the SMS messenger names the send in its status callbacks.
        text = marketing_sms(outreach.body, company.name)
        return OutboundMessage(
            "sms", outreach.to, "", text, outreach.key, (reference,), fresh=fresh
        )
    content = marketing_email(
        outreach.body,
        links=links,
        company_id=company.id,
        company_name=company.name,
        postal_address=company.settings.postal_address or "",
        send_id=sid,
        address=outreach.to,
        filled=outreach.filled,
        issued=issued,
        list_mail=outreach.list_mail,
    )
    # The send's reference: providers' events and replies (In-Reply-To) name it.
    headers = (*content.headers, reference)
    return OutboundMessage(
        "email", outreach.to, one_line(outreach.subject), content.body, outreach.key,
        headers, content.html, fresh,
    )  # fmt: skip
