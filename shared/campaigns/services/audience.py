"""Who a campaign reaches: its target criteria applied to the company's leads or outreach
contacts, and the recipient documents written when it starts.

Leads and contacts are read page by page in id order (one single-field query each, no
composite index); explicit ids are read directly. Starting writes one recipient per
match (create-only, so a start retried after a crash adds only what is missing), and for
contacts the pending outreach message of each.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from msgspec import Struct

from shared.campaigns.domain.campaigns import Campaign, Recipient, SendState, TargetCriteria
from shared.campaigns.domain.compliance import Channel, address_id
from shared.campaigns.domain.keys import RecipientStatus, recipient_path
from shared.campaigns.domain.outreach import business_path, contact_path
from shared.campaigns.domain.outreach_keys import message_id, message_path
from shared.domain.consent import send_refusal
from shared.domain.leads import lead_path
from shared.errors import AlreadyExists, Contention
from shared.ports import DocumentStore, Filter, Increment, Snapshot, Write

log = logging.getLogger("growthkit.campaigns")

PAGE = 300
WRITE_BATCH = 400  # below Firestore's 500 writes per commit


class Candidate(Struct, frozen=True):
    """A lead or contact the criteria select; ``excluded`` says why it will not be sent
    to (it is still recorded as a recipient, so staff see who was left out and why)."""

    id: str
    kind: str  # lead or contact
    data: dict[str, Any]
    business: dict[str, Any]
    excluded: str | None = None


def _lead_matches(target: TargetCriteria, lead: dict[str, Any]) -> bool:
    if target.lead_statuses and lead.get("status") not in target.lead_statuses:
        return False
    tags = lead.get("tags") or []
    if target.tags_any and not (isinstance(tags, list) and set(tags) & set(target.tags_any)):
        return False
    if target.min_score is None:
        return True
    score = lead.get("score")
    return isinstance(score, int | float) and score >= target.min_score


def _folded(values: list[str]) -> set[str]:
    return {v.casefold() for v in values}


def _contact_matches(target: TargetCriteria, business: dict[str, Any]) -> bool:
    if target.business_ids and business.get("id") not in target.business_ids:
        return False
    industry = str(business.get("industry") or "").casefold()
    if target.industries and industry not in _folded(target.industries):
        return False
    country = str(business.get("country") or "").casefold()
    return not target.countries or country in _folded(target.countries)


def _pages(
    store: DocumentStore, collection: str, target: TargetCriteria
) -> Iterator[list[Snapshot]]:
    """The collection in id order, a page at a time (or the explicit ids)."""
    if target.ids:
        for start in range(0, len(target.ids), PAGE):
            chunk = target.ids[start : start + PAGE]
            yield store.get_all([f"{collection}/{i}" for i in chunk])
        return
    after = ""
    while True:
        page = store.query(collection, [Filter("id", ">", after)], [("id", False)], PAGE)
        yield page
        if len(page) < PAGE:
            return
        after = str((page[-1].data or {}).get("id", ""))


def _lead_candidates(
    store: DocumentStore, company_id: str, target: TargetCriteria, channel: Channel
) -> Iterator[Candidate]:
    collection = lead_path(company_id, "").rstrip("/")
    for page in _pages(store, collection, target):
        for snap in page:
            lead = snap.data
            if lead is None or not _lead_matches(target, lead):
                continue
            excluded = send_refusal(lead, "marketing", channel)
            yield Candidate(snap.path.rsplit("/", 1)[1], "lead", lead, {}, excluded)


def _contact_candidates(
    store: DocumentStore, company_id: str, target: TargetCriteria, channel: Channel
) -> Iterator[Candidate]:
    collection = contact_path(company_id, "").rstrip("/")
    for page in _pages(store, collection, target):
        contacts = [s for s in page if s.data is not None]
        wanted = sorted({str(s.data.get("business_id") or "") for s in contacts if s.data} - {""})
        found = store.get_all([business_path(company_id, b) for b in wanted]) if wanted else []
        businesses = {s.path.rsplit("/", 1)[1]: s.data or {} for s in found}
        for snap in contacts:
            data = snap.data or {}
            business = businesses.get(str(data.get("business_id") or ""), {})
            if _contact_matches(target, business):
                excluded = send_refusal(data, "marketing", channel)
                yield Candidate(snap.path.rsplit("/", 1)[1], "contact", data, business, excluded)


def candidates(
    store: DocumentStore, company_id: str, target: TargetCriteria, channel: Channel
) -> Iterator[Candidate]:
    """The leads or contacts ``target`` selects, in id order, at most ``target.limit``;
    those marketing on ``channel`` may not reach say why (``excluded``)."""
    source = _lead_candidates if target.audience == "leads" else _contact_candidates
    for count, candidate in enumerate(source(store, company_id, target, channel), start=1):
        yield candidate
        if target.limit is not None and count >= target.limit:
            return


def _recipient_writes(campaign: Campaign, candidate: Candidate, now: datetime) -> list[Write]:
    excluded = candidate.excluded is not None
    recipient = Recipient(
        id=candidate.id,
        company_id=campaign.company_id,
        campaign_id=campaign.id,
        kind="lead" if candidate.kind == "lead" else "contact",
        status=RecipientStatus.EXCLUDED if excluded else RecipientStatus.PENDING,
        send_state=SendState.DONE if excluded else SendState.QUEUED,
        business_id=candidate.business.get("id") or candidate.data.get("business_id"),
        reason=candidate.excluded,
        created_at=now,
        updated_at=now,
    )
    path = recipient_path(campaign.company_id, campaign.id, candidate.id)
    data = recipient.model_dump()
    if not excluded and (key := _address_key(campaign.channel, candidate.data)):
        data["address_id"] = key  # its frequency counter is read ahead of its send
    writes = [Write(path, data, "create")]
    if candidate.kind == "contact" and not excluded:
        writes.append(_pending_message(campaign, candidate, recipient.business_id or "", now))
    return writes


def _address_key(channel: Channel, person: dict[str, Any]) -> str:
    """The ``address_id`` of the address a message would go to now ('' when none is
    usable; the send reads the person again and decides)."""
    address = person.get("email" if channel == "email" else "phone")
    if not isinstance(address, str) or not address.strip():
        return ""
    try:
        return address_id(channel, address.strip())
    except ValueError:
        return ""


def _pending_message(
    campaign: Campaign, candidate: Candidate, business: str, now: datetime
) -> Write:
    mid = message_id(campaign.id, business, candidate.id, campaign.channel)
    data = {
        "id": mid,
        "company_id": campaign.company_id,
        "campaign_id": campaign.id,
        "business_id": business,
        "contact_id": candidate.id,
        "platform": campaign.channel,
        "status": "pending",
        "created_at": now,
        "updated_at": now,
    }
    return Write(message_path(campaign.company_id, mid), data, "create")


def materialize(store: DocumentStore, campaign: Campaign, now: datetime) -> dict[str, int]:
    """Write the recipients (and contacts' pending messages) the campaign's target
    selects; those already written are left as they are.

    Args:
        store: The document store.
        campaign: The campaign starting to send.
        now: The time of writing.

    Returns:
        How many recipients were written now: ``selected`` and ``excluded``.
    """
    counts = {"selected": 0, "excluded": 0}
    chunk: list[Candidate] = []
    for candidate in candidates(store, campaign.company_id, campaign.target, campaign.channel):
        chunk.append(candidate)
        if len(chunk) >= WRITE_BATCH // 2:
            _write_new(store, campaign, chunk, now, counts)
            chunk = []
    if chunk:
        _write_new(store, campaign, chunk, now, counts)
    log.info("campaign %s/%s: recipients %s", campaign.company_id, campaign.id, counts)
    return counts


def _write_new(
    store: DocumentStore,
    campaign: Campaign,
    chunk: list[Candidate],
    now: datetime,
    counts: dict[str, int],
) -> None:
    """Create the chunk's recipients and count them, in one commit. Tried first without
    reading (the creates' precondition refuses the whole commit if any exists: a start
    resumed after a crash), then with only those not written yet."""
    paths = [recipient_path(campaign.company_id, campaign.id, c.id) for c in chunk]
    campaign_doc = paths[0].rsplit("/recipients/", 1)[0]
    try:
        _create(store, campaign_doc, chunk, campaign, now, counts)
        return
    except AlreadyExists:
        pass
    existing = {s.path for s in store.get_all(paths) if s.exists}
    fresh = [c for c, p in zip(chunk, paths, strict=True) if p not in existing]
    if not fresh:
        return
    try:
        _create(store, campaign_doc, fresh, campaign, now, counts)
    except AlreadyExists as err:  # written meanwhile by another run: read again on retry
        raise Contention(f"Recipients of campaign {campaign.id} changed meanwhile.") from err


def _create(
    store: DocumentStore,
    campaign_doc: str,
    fresh: list[Candidate],
    campaign: Campaign,
    now: datetime,
    counts: dict[str, int],
) -> None:
    writes = [w for c in fresh for w in _recipient_writes(campaign, c, now)]
    excluded = sum(1 for c in fresh if c.excluded is not None)
    stats = {"stats": {"selected": Increment(len(fresh)), "excluded": Increment(excluded)}}
    store.commit([*writes, Write(campaign_doc, stats, "merge")])
    counts["selected"] += len(fresh)
    counts["excluded"] += excluded
