"""Redeeming a referral code from a public form, in one transaction of three round trips.

BeginTransaction; one batched read of the company, the code, the friend's lead (its id is
derived from the e-mail), the friend's "already referred" marker and this IP's attempt
counter; Commit. The referrer's e-mail is copied onto the code when it is created, so the
referrer's lead need not be read. Reads in a transaction lock the documents, so concurrent
redemptions of one code are serialised and never exceed ``max_uses``.

Every attempt counts against the caller's IP, including refused ones (that is what makes
guessing codes slow): a refusal is returned from the transaction, which commits the counter,
and raised afterwards. The same person redeeming the same code again (a retry whose answer
was lost, a double click) gets the first redemption back, not a refusal.

Codes allowing many uses (``shared.domain.counters``) keep their count in shard documents:
the same batched read also fetches one shard, picked at random, and the transaction writes
that shard instead of the code, so a burst on a popular code spreads its writes. If that
shard is spent, a second transaction reads every shard and draws on one with room.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime
from typing import Any

from msgspec import Struct

from shared.domain.common import next_hour, random_id, seconds_until, stable_id
from shared.domain.company import Company, company_id_from_form_key, company_path
from shared.domain.counters import SHARDS, has_room, shard_order, shard_path
from shared.domain.intake import merge_submission, new_lead, submitted
from shared.domain.leads import (
    Interaction,
    InteractionType,
    Lead,
    interaction_path,
    lead_id_for,
    lead_path,
)
from shared.domain.referrals import (
    ATTEMPTS_PER_IP_PER_HOUR,
    RedemptionRequest,
    Referral,
    attempts_path,
    check_code,
    check_friend,
    marker_path,
    redeemed,
    referral_path,
)
from shared.errors import DomainError, NotFound, RateLimited, Transient
from shared.ports import Clock, DocumentStore, Increment, Snapshot, Transaction, Write
from shared.services.intake import check_origin

log = logging.getLogger("growthkit.referrals")


class Redemption(Struct, frozen=True):
    company: Company
    code: str
    lead_id: str
    created: bool
    offer_details: str | None
    replayed: bool = False


def redeem_referral(
    store: DocumentStore, clock: Clock, req: RedemptionRequest, ip: str, origin: str | None
) -> Redemption:
    """Redeem ``req.code`` for the visitor, creating or updating their lead.

    Args:
        store: Where companies, codes and leads live.
        clock: The time the code's expiry is judged against.
        req: The validated form (code already normalised).
        ip: The caller's address, for the per-IP attempt limit.
        origin: The browser's ``Origin`` header, if any.

    Returns:
        The redemption, with the offer the visitor now gets.

    Raises:
        NotFound: Unknown form key or unknown code.
        PermissionDenied: The origin is not one of the company's sites.
        RateLimited: Too many attempts from this IP this hour.
        Refused: Expired, used up, self-referral, already referred or existing customer
            (``details["reason"]`` says which).
        Contention: The transaction kept failing.
    """
    company_id = company_id_from_form_key(req.form_key)
    if company_id is None:
        raise NotFound("Unknown form key.")
    outcome = store.run_transaction(
        lambda tx: _attempt(tx, clock.now(), req, ip, origin, company_id, shard_order()[:1])
    )
    if outcome is _SPENT:
        log.info("referral %s: shard spent, drawing on any shard with room", req.code)
        every = list(range(SHARDS))
        outcome = store.run_transaction(
            lambda tx: _attempt(tx, clock.now(), req, ip, origin, company_id, every)
        )
    if isinstance(outcome, DomainError):
        log.info(
            "referral attempt refused for company %s from ip %s: %s",
            company_id,
            stable_id(ip, length=16),
            outcome.details.get("reason", outcome.code.value),
        )
        raise outcome
    if not isinstance(outcome, Redemption):
        raise Transient("The referral code's uses could not be drawn; try again.")
    log.info("referral %s redeemed by lead %s", outcome.code, outcome.lead_id)
    return outcome


_SPENT = object()  # the shard read has no uses left: try again with every shard


def _attempt(
    tx: Transaction,
    now: datetime,
    req: RedemptionRequest,
    ip: str,
    origin: str | None,
    company_id: str,
    shards: list[int],
) -> Redemption | DomainError | object:
    lead_id = lead_id_for(req.email)
    counter_path, counter_expiry = attempts_path(company_id, ip, now)
    code = referral_path(company_id, req.code)
    company_snap, code_snap, lead_snap, marker_snap, counter_snap, *shard_snaps = tx.get_all(
        [
            company_path(company_id),
            code,
            lead_path(company_id, lead_id),
            marker_path(company_id, req.email),
            counter_path,
            *(shard_path(code, i) for i in shards),
        ]
    )
    company = _company(company_snap, req.form_key, now)
    check_origin(company, origin)
    if int((counter_snap.data or {}).get("count", 0)) >= ATTEMPTS_PER_IP_PER_HOUR:
        log.warning("referral attempts limit hit for company %s by %s", company_id, ip)
        raise RateLimited(
            "Too many attempts; please try again later.", seconds_until(next_hour(now), now)
        )
    counted = Write(counter_path, {"count": Increment(1), "expires_at": counter_expiry}, "merge")
    replay = _replay(company, marker_snap, code_snap, req.code, lead_id)
    if replay is not None:
        tx.write(counted)
        return replay
    drawn = _drawn(code_snap, shard_snaps, last=len(shards) == SHARDS)
    if drawn is None:
        return _SPENT  # nothing written: the next transaction counts this attempt
    tx.write(counted)
    try:
        referral, lead = _checked(drawn, lead_snap, marker_snap.exists, req, now)
    except DomainError as err:
        return err  # committed with the counter, raised by the caller
    tx.write(_count_write(drawn, referral, lead_id, now))
    created = _write_redemption(tx, company, referral, lead, lead_snap.path, req, ip, now)
    return Redemption(company, referral.code, lead_id, created, referral.offer_details)


def _replay(
    company: Company, marker: Snapshot, code: Snapshot, code_id: str, lead_id: str
) -> Redemption | None:
    """The first redemption again if this person already redeemed this very code (a retry
    whose answer was lost, a double click): answered 200, no second use drawn."""
    data = marker.data or {}
    if data.get("code") != code_id or data.get("lead_id") != lead_id:
        return None
    offer = (code.data or {}).get("offer_details")
    return Redemption(company, code_id, lead_id, False, offer, replayed=True)


def _drawn(code: Snapshot, shards: list[Snapshot], last: bool) -> Snapshot | None:
    """The code as this redemption sees it: itself, or for a sharded code its data with
    the count and limit of a shard that has room (the snapshot's path is the shard's);
    None if the shards read are spent but others may not be."""
    if code.data is None or not code.data.get("shards"):
        return code
    open_ = [s for s in shards if has_room(s.data)]
    if not open_ and not last:
        return None
    shard = random.choice(open_) if open_ else None
    if shard is None or shard.data is None:  # every shard spent: the code is used up
        return Snapshot(code.path, {**code.data, "times_used": code.data.get("max_uses", 0)})
    counts = {k: shard.data.get(k) for k in ("times_used", "referred_leads")}
    return Snapshot(shard.path, {**code.data, **counts, "max_uses": shard.data["limit"]})


def _count_write(drawn: Snapshot, referral: Referral, lead_id: str, now: datetime) -> Write:
    """The redeemed code, or just the drawn shard's count for a sharded code."""
    used = redeemed(referral, lead_id, now)
    if drawn.path == referral_path(referral.company_id, referral.code):
        return Write(drawn.path, used.model_dump())
    counts = {"times_used": used.times_used, "referred_leads": used.referred_leads}
    return Write(drawn.path, {**counts, "updated_at": now}, "merge")


def _company(snap: Snapshot, form_key: str, now: datetime) -> Company:
    """The company behind the form key; any mismatch looks like an unknown key."""
    if snap.data is None:
        raise NotFound("Unknown form key.")
    company = Company.model_validate({**snap.data, "id": snap.path.rsplit("/", 1)[1]})
    if not company.form_key_matches(form_key, now):
        raise NotFound("Unknown form key.")
    return company


def _checked(
    code_snap: Snapshot,
    lead_snap: Snapshot,
    referred: bool,
    req: RedemptionRequest,
    now: datetime,
) -> tuple[Referral, Lead | None]:
    if code_snap.data is None:
        raise NotFound("Unknown referral code.", {"reason": "unknown_code"})
    referral = Referral.model_validate(code_snap.data)
    lead = Lead.model_validate(lead_snap.data) if lead_snap.data is not None else None
    check_code(referral, now)
    check_friend(referral, req.email, lead, referred)
    return referral, lead


def _write_redemption(
    tx: Transaction,
    company: Company,
    referral: Referral,
    lead: Lead | None,
    path: str,
    req: RedemptionRequest,
    ip: str,
    now: datetime,
) -> bool:
    """Writes the marker, the lead and its interaction; True if the lead is new."""
    lead_id = path.rsplit("/", 1)[1]
    sent = submitted(req.as_submission(), ip, now)
    interaction = _interaction(company.id, lead_id, referral, req, sent, now)
    marker = {"code": referral.code, "lead_id": lead_id, "created_at": now}
    tx.write(Write(marker_path(company.id, req.email), marker, "create"))
    lead_data = _lead_data(company.id, lead_id, lead, referral, req, ip, now)
    tx.write(Write(path, lead_data, "create" if lead is None else "set"))
    tx.write(
        Write(
            interaction_path(company.id, lead_id, interaction.id),
            interaction.model_dump(),
            "create",
        )
    )
    return lead is None


def _lead_data(
    company_id: str,
    lead_id: str,
    lead: Lead | None,
    referral: Referral,
    req: RedemptionRequest,
    ip: str,
    now: datetime,
) -> dict[str, Any]:
    """The friend's lead, new or merged like a form submission. An existing lead keeps its
    original source (first touch is never overwritten, as in intake); ``referred_by``
    records the referral either way."""
    sub = req.as_submission()
    if lead is None:
        merged = new_lead(company_id, lead_id, sub, ip, now)
    else:
        merged = merge_submission(lead, sub, ip, now)
    return {
        **merged.model_dump(),
        "referred_by": referral.referrer_lead_id,
        "referral_code": referral.code,
    }


def _interaction(
    company_id: str,
    lead_id: str,
    referral: Referral,
    req: RedemptionRequest,
    sent: dict[str, Any],
    now: datetime,
) -> Interaction:
    return Interaction(
        id=random_id(),
        lead_id=lead_id,
        company_id=company_id,
        type=InteractionType.FORM,
        subject="Referral code redeemed",
        body=req.message,
        metadata={
            "referral_code": referral.code,
            "referrer_lead_id": referral.referrer_lead_id,
            "submitted": sent,  # what the friend sent; the lead keeps what it had
        },
        created_at=now,
        updated_at=now,
    )
