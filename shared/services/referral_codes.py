"""Managing referral codes: staff create, list and expire them; a schedule expires past-due
codes across every company (fanned out: one task per company with codes due).

Production needs three composite indexes: ``referrals`` (collection) on status ASC,
created_at DESC for listing by status, and ``referrals`` (collection group, and
collection for a company's retry) on status ASC, expires_at ASC for the periodic expiry.

A code allowing many uses is created with its shard documents (``shared.domain.counters``)
and listed with their counts added up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.domain.counters import SHARDS, new_shards, shard_path, sharded, total_used
from shared.domain.identity import Role, StaffIdentity
from shared.domain.leads import Lead, lead_path
from shared.domain.referrals import (
    Referral,
    ReferralCreate,
    ReferralStatus,
    new_code,
    referral_path,
)
from shared.errors import AlreadyExists, Contention, InvalidInput, NotFound, Transient
from shared.ports import Clock, DocumentStore, Filter, PagedStore, Snapshot, Transaction, Write
from shared.services.lead_visibility import about_visible_leads
from shared.services.periodic import Page, Step, page_of
from shared.services.task_handlers import TaskContext

log = logging.getLogger("growthkit.referrals")

CODE_ATTEMPTS = 5
LIST_LIMIT = 500
EXPIRY_PAGE = 200  # codes per task (one commit); a company with more continues


def create_referral(
    store: DocumentStore,
    clock: Clock,
    staff: StaffIdentity,
    req: ReferralCreate,
    make_code: Callable[[], str] = new_code,
) -> Referral:
    """Create a code for an existing lead to share.

    Args:
        store: Where leads and codes live.
        clock: Creation time, and the present ``expires_at`` must be after.
        staff: The caller; needs the manager role in the code's company.
        req: The referrer (lead id or e-mail), offer, expiry and maximum uses.
        make_code: Source of fresh codes (tests force collisions with it).

    Returns:
        The stored code.

    Raises:
        PermissionDenied: Another company, or a role below manager.
        InvalidInput: ``expires_at`` is not in the future.
        NotFound: No such referrer lead.
        Transient: Every generated code was taken (practically impossible).
    """
    company_id = req.company_id or staff.company_id
    staff.require_company(company_id)
    staff.require_role(Role.MANAGER)
    now = clock.now()
    if req.expires_at is not None and req.expires_at <= now:
        raise InvalidInput("expires_at must be in the future.", {"fields": {"expires_at": "past"}})
    snap = store.get_all([lead_path(company_id, req.lead_id)])[0]
    if snap.data is None:
        raise NotFound("The referrer is not a lead of this company.")
    template = Referral(
        code="",
        company_id=company_id,
        referrer_lead_id=req.lead_id,
        referrer_email=Lead.model_validate(snap.data).email,
        offer_details=req.offer_details,
        expires_at=req.expires_at,
        max_uses=req.max_uses,
        created_by=staff.uid,
        created_at=now,
        updated_at=now,
    )
    return _insert(store, template, make_code)


def _insert(store: DocumentStore, template: Referral, make_code: Callable[[], str]) -> Referral:
    """Store ``template`` under a fresh code; "create" fails on an existing document, so a
    collision draws another code instead of overwriting someone else's."""
    for _ in range(CODE_ATTEMPTS):
        referral = template.model_copy(update={"code": make_code()})
        path = referral_path(referral.company_id, referral.code)
        try:
            store.commit(_creates(path, referral))
        except AlreadyExists:
            log.warning(
                "referral code collision in company %s; drawing another", referral.company_id
            )
            continue
        log.info(
            "referral %s created for lead %s by %s",
            referral.code,
            referral.referrer_lead_id,
            referral.created_by,
        )
        return referral
    raise Transient("Could not allocate a free referral code; try again.")


def _creates(path: str, referral: Referral) -> list[Write]:
    """The code's document, and its shards when it allows enough uses to need them."""
    if not sharded(referral.max_uses):
        return [Write(path, referral.model_dump(), "create")]
    shards = [
        Write(shard_path(path, s["index"]), s, "create") for s in new_shards(referral.max_uses)
    ]
    return [Write(path, {**referral.model_dump(), "shards": SHARDS}, "create"), *shards]


def with_shard_counts(store: DocumentStore, snaps: list[Snapshot]) -> list[Referral]:
    """The codes, a sharded code's count and leads gathered from its shards (one read)."""
    sharded_paths = [s.path for s in snaps if (s.data or {}).get("shards")]
    paths = [shard_path(p, i) for p in sharded_paths for i in range(SHARDS)]
    found = {s.path: s.data for s in store.get_all(paths)} if paths else {}
    codes = []
    for snap in (s for s in snaps if s.data is not None):
        referral = Referral.model_validate(snap.data)
        if snap.path in sharded_paths:
            shards = [found.get(shard_path(snap.path, i)) for i in range(SHARDS)]
            referral = _summed(referral, shards)
        codes.append(referral)
    return codes


def _summed(referral: Referral, shards: list[dict[str, Any] | None]) -> Referral:
    used = total_used(shards)
    leads = [lead for s in shards for lead in (s or {}).get("referred_leads", [])]
    status = referral.status
    if status is ReferralStatus.ACTIVE and used >= referral.max_uses:
        status = ReferralStatus.USED
    return referral.model_copy(
        update={"times_used": used, "referred_leads": leads, "status": status}
    )


def list_referrals(
    store: DocumentStore, staff: StaffIdentity, company_id: str, status: ReferralStatus | None
) -> list[Referral]:
    """A company's codes, newest first (at most ``LIST_LIMIT``), optionally of one status;
    a user sees only the codes of the leads assigned to them.

    Raises:
        PermissionDenied: Another company's codes.
    """
    staff.require_company(company_id)
    staff.require_role(Role.USER)
    filters = [Filter("status", "==", status.value)] if status else []
    if status is ReferralStatus.USED:
        # A sharded code is used up when its shards are; its document still says active.
        filters = [Filter("status", "in", [ReferralStatus.USED.value, ReferralStatus.ACTIVE.value])]
    snaps = store.query(
        f"companies/{company_id}/referrals", filters, [("created_at", True)], LIST_LIMIT
    )
    codes = with_shard_counts(store, snaps)
    dumped = [{"code": c.code, "referrer_lead_id": c.referrer_lead_id} for c in codes]
    seen = about_visible_leads(store, staff, company_id, dumped, "referrer_lead_id")
    visible = {d["code"] for d in seen}
    return [c for c in codes if c.code in visible and (status is None or c.status is status)]


def expire_referral(
    store: DocumentStore, clock: Clock, staff: StaffIdentity, company_id: str, code: str
) -> Referral:
    """End a code now. Expiring an expired or used-up code changes nothing.

    Raises:
        PermissionDenied: Another company, or a role below manager.
        NotFound: No such code.
    """
    staff.require_company(company_id)
    staff.require_role(Role.MANAGER)

    def expire(tx: Transaction) -> Referral:
        snap = tx.get(referral_path(company_id, code))
        if snap.data is None:
            raise NotFound("Unknown referral code.")
        referral = Referral.model_validate(snap.data)
        if referral.status is not ReferralStatus.ACTIVE:
            return referral
        now = clock.now()
        referral = referral.model_copy(update={"status": ReferralStatus.EXPIRED, "updated_at": now})
        tx.write(Write(snap.path, referral.model_dump()))
        return referral

    result = store.run_transaction(expire)
    log.info("referral %s of company %s expired by %s", code, company_id, staff.uid)
    return result


def due_page(store: PagedStore, when: datetime, after: Snapshot | None, limit: int) -> Page:
    """The expiry's source: a page of the active codes whose ``expires_at`` has passed by
    the run's schedule time ``when``, across every company, soonest first: their
    companies, each once. (Expired codes leave the query: a rerun finds nothing to do.)"""
    due = store.query(
        "referrals",
        [
            Filter("status", "==", ReferralStatus.ACTIVE.value),
            Filter("expires_at", "<=", when),
        ],
        [("expires_at", False)],
        limit,
        collection_group=True,
        start_after=after,
    )
    return page_of(due, limit, ("expires_at",))


def expire_unit(ctx: TaskContext, company_id: str, _when: datetime, after: Snapshot | None) -> Step:
    """A page of one company's codes due by now, expired: how many, and where the next
    page starts (after the codes that changed meanwhile and were left alone)."""
    page = ctx.store.query(
        f"companies/{company_id}/referrals",
        [
            Filter("status", "==", ReferralStatus.ACTIVE.value),
            Filter("expires_at", "<=", ctx.now),
        ],
        [("expires_at", False)],
        EXPIRY_PAGE,
        start_after=after,
    )
    return Step(
        _expire_page(ctx.store, page, ctx.now), page_of(page, EXPIRY_PAGE, ("expires_at",)).cursor
    )


def _expire_page(store: DocumentStore, page: list[Snapshot], now: datetime) -> int:
    """Expire a page in one commit; each write only applies if the code is unchanged since
    the query. If any changed, fall back to one commit per code and skip the changed ones."""
    writes = [
        Write(
            s.path,
            {"status": ReferralStatus.EXPIRED.value, "updated_at": now},
            "update",
            s.update_time,
        )
        for s in page
    ]
    try:
        store.commit(writes)
        done = [w.path for w in writes]
    except (Contention, NotFound):
        done = []
        for write in writes:
            try:
                store.commit([write])
                done.append(write.path)
            except (Contention, NotFound):
                log.info("referral %s changed during expiry; left for the next run", write.path)
    if done:
        log.info("expired referral codes: %s", ", ".join(done))
    return len(done)
