"""Lead intake from a public web form, in two Firestore round trips.

One batched read fetches the company, the lead (its id is derived from the e-mail, so no
query), and the rate-limit counters; one commit writes the lead, the submission's
interaction and the counters. The lead and counter writes carry preconditions (create, or
"still at the update time we read"), so concurrent submissions for one e-mail merge
instead of overwriting each other and a burst cannot overshoot a rate limit: a failed
precondition retries the whole attempt in a transaction. The company's per-minute window,
which every lead writes, is sharded (``RateWindow``): concurrent leads usually count in
different documents, so they seldom fall back to that transaction, and the limit stays
exact.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from msgspec import Struct

from shared.domain.common import is_header_url, random_id, stable_id
from shared.domain.company import Company, company_id_from_form_key, company_path
from shared.domain.intake import (
    RateWindow,
    merge_submission,
    new_lead,
    rate_windows,
    spam_reason,
    submitted,
)
from shared.domain.leads import (
    Interaction,
    InteractionType,
    Lead,
    LeadSubmission,
    SpamStatus,
    interaction_path,
    lead_id_for,
    lead_path,
    spam_path,
)
from shared.errors import AlreadyExists, Contention, NotFound, PermissionDenied, RateLimited
from shared.ports import Clock, DocumentStore, Increment, Snapshot, Transaction, Write

log = logging.getLogger("growthkit.intake")


class _ReadCommit(Protocol):
    def get_all(self, paths: Sequence[str]) -> list[Snapshot]: ...
    def commit(self, writes: Sequence[Write]) -> None: ...


class IntakeResult(Struct, frozen=True):
    outcome: Literal["created", "merged", "spam", "duplicate"]
    company: Company
    lead_id: str | None = None
    redirect_url: str | None = None


def load_company(store: DocumentStore, form_key: str, now: datetime) -> Company:
    """The company a public form key belongs to at ``now`` (its current key, or a retired
    one still in its grace period); 404 for any unknown, wrong or expired key."""
    company_id = company_id_from_form_key(form_key)
    if company_id is None:
        raise NotFound("Unknown form key.")
    return _company_from(store.get_all([company_path(company_id)])[0], form_key, now)


def _company_from(snap: Snapshot, form_key: str, now: datetime) -> Company:
    if snap.data is None:
        raise NotFound("Unknown form key.")
    company = Company.model_validate({**snap.data, "id": snap.path.rsplit("/", 1)[1]})
    if not company.form_key_matches(form_key, now):
        raise NotFound("Unknown form key.")
    return company


def check_origin(company: Company, origin: str | None) -> None:
    """Browsers send ``Origin`` on cross-site posts; only the company's sites may post."""
    if origin and origin not in company.allowed_origins:
        raise PermissionDenied(f"Origin {origin} is not allowed to post to this form.")


def intake_lead(
    store: DocumentStore, clock: Clock, sub: LeadSubmission, ip: str, origin: str | None
) -> IntakeResult:
    """Store a form submission as a new or merged lead, or set it apart as spam.

    Raises:
        NotFound: unknown form key. PermissionDenied: origin not allowed.
        RateLimited: too many submissions from this IP or to this company.
        Contention: the transaction kept failing (the caller may retry).
    """
    company_id = company_id_from_form_key(sub.form_key)
    if company_id is None:
        raise NotFound("Unknown form key.")
    try:
        return _attempt(store, clock.now(), sub, ip, origin, company_id)
    except (Contention, AlreadyExists):
        log.info("lead write raced with another submission; retrying in a transaction")
    # Under contention a transaction serialises the writers, so every submission lands.
    return store.run_transaction(
        lambda tx: _attempt(_TransactionAsStore(tx), clock.now(), sub, ip, origin, company_id)
    )


class _TransactionAsStore:
    """Lets ``_attempt`` read and write through a transaction instead of the store."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    def get_all(self, paths: Sequence[str]) -> list[Snapshot]:
        return self.tx.get_all(paths)

    def commit(self, writes: Sequence[Write]) -> None:
        for write in writes:
            self.tx.write(write)


def _attempt(
    store: _ReadCommit,
    now: datetime,
    sub: LeadSubmission,
    ip: str,
    origin: str | None,
    company_id: str,
) -> IntakeResult:
    lead_id, record_id = lead_id_for(sub.email), _record_id(company_id, sub)
    replays = _replay_paths(company_id, lead_id, record_id) if sub.submission_id else []
    windows = rate_windows(ip, Company(id=company_id).settings, now)
    paths = [company_path(company_id), lead_path(company_id, lead_id), *replays]
    paths += [f"companies/{company_id}/rate_limits/{w.own_doc_id(lead_id)}" for w in windows]
    company_snap, lead_snap, *snaps = store.get_all(paths)
    replay_snaps, counter_snaps = snaps[: len(replays)], snaps[len(replays) :]
    company = _company_from(company_snap, sub.form_key, now)
    check_origin(company, origin)
    if any(s.exists for s in replay_snaps):
        return _duplicate(company, replay_snaps[0], sub)
    windows = rate_windows(ip, company.settings, now)
    counters = _within_limits(store, windows, counter_snaps, lead_id, now)
    reason = spam_reason(sub, company.settings, now)
    if reason is not None:
        return _record_spam(store, company, sub, ip, now, reason.value, counters, record_id)
    return _save_lead(store, company, lead_snap, sub, ip, now, counters, record_id)


def _record_id(company_id: str, sub: LeadSubmission) -> str:
    """The id of what a submission stores (its interaction, or its spam record): derived
    from the client's submission id, so a retry finds what the first attempt stored."""
    if sub.submission_id is None:
        return random_id()
    return stable_id(company_id, "submission", sub.submission_id)


def _replay_paths(company_id: str, lead_id: str, record_id: str) -> list[str]:
    return [interaction_path(company_id, lead_id, record_id), spam_path(company_id, record_id)]


def _duplicate(company: Company, interaction: Snapshot, sub: LeadSubmission) -> IntakeResult:
    """A retry of a stored submission: answered as before, nothing written or counted."""
    lead_id = interaction.path.split("/")[3] if interaction.exists else None
    log.info("submission %s of company %s was already stored", sub.submission_id, company.id)
    return IntakeResult("duplicate", company, lead_id, safe_redirect(company, sub.redirect_url))


def _within_limits(
    store: _ReadCommit, windows: list[RateWindow], snaps: list[Snapshot], key: str, now: datetime
) -> list[Write]:
    """The counter writes of one more submission (in ``key``'s own shard of a sharded
    window while it has room); RateLimited if a window is full."""
    writes = []
    for window, snap in zip(windows, snaps, strict=True):
        room = window.has_room(int((snap.data or {}).get("count", 0)), key)
        writes.append(
            _counted(window, snap if room else _shard_with_room(store, window, snap, key, now))
        )
    return writes


def _shard_with_room(
    store: _ReadCommit, window: RateWindow, own: Snapshot, key: str, now: datetime
) -> Snapshot:
    """Another shard when the own one is spent (a round trip more, only near the limit)."""
    company = own.path.split("/")[1]
    shards = [own]
    if window.shards > 1:
        prefix = own.path.rsplit("/", 1)[0]
        shards = store.get_all([f"{prefix}/{doc_id}" for doc_id in window.doc_ids()])
    shard = window.pick([int((s.data or {}).get("count", 0)) for s in shards], key)
    if shard is None or window.shards == 1:
        log.warning("rate limit %s hit (%s)", window.doc_id, company)
        raise RateLimited("Too many submissions; please try again later.", window.retry_after(now))
    return shards[shard]


def _counted(window: RateWindow, snap: Snapshot) -> Write:
    """One more in the window's counter, only if nobody counted since we read it: in a
    burst every post would otherwise read the same count and all get in (50 of 50 against a
    limit of 20, measured). The losers of that race retry in a transaction, which reads
    the count they must respect, so the limit is exact."""
    data = {"count": Increment(1), "expires_at": window.expires_at}
    if snap.data is None:
        return Write(snap.path, data, "create")
    return Write(snap.path, data, "merge", if_update_time=snap.update_time)


def _save_lead(
    store: _ReadCommit,
    company: Company,
    snap: Snapshot,
    sub: LeadSubmission,
    ip: str,
    now: datetime,
    counters: list[Write],
    record_id: str,
) -> IntakeResult:
    store.commit([*submission_writes(company, snap, sub, ip, now, record_id), *counters])
    lead_id = snap.path.rsplit("/", 1)[1]
    outcome: Literal["created", "merged"] = "created" if snap.data is None else "merged"
    log.info("lead %s %s for company %s", lead_id, outcome, company.id)
    return IntakeResult(outcome, company, lead_id, safe_redirect(company, sub.redirect_url))


def submission_writes(
    company: Company,
    snap: Snapshot,
    sub: LeadSubmission,
    ip: str,
    now: datetime,
    record_id: str,
    sent_at: datetime | None = None,
    metadata: dict[str, Any] | None = None,
) -> list[Write]:
    """What one submission writes: the person's lead (new, or merged into the one read as
    ``snap``) and the submission's form interaction ``record_id`` (with ``metadata``).
    ``sent_at``: when it was sent, if before ``now``, for its consent evidence."""
    lead_id = snap.path.rsplit("/", 1)[1]
    if snap.data is None:
        lead = new_lead(company.id, lead_id, sub, ip, now, sent_at)
        lead_write = Write(snap.path, lead.model_dump(), "create")
    else:
        lead = merge_submission(Lead.model_validate(snap.data), sub, ip, now, sent_at)
        lead_write = Write(snap.path, lead.model_dump(), "set", if_update_time=snap.update_time)
    interaction = Interaction(
        id=record_id,
        lead_id=lead_id,
        company_id=company.id,
        type=InteractionType.FORM,
        body=sub.message,
        created_at=now,
        updated_at=now,
        metadata={"form_id": sub.form_id, "page_url": sub.page_url, "ip": ip}
        | {"submitted": submitted(sub, ip, sent_at or now)}
        | (metadata or {}),
    )
    path = interaction_path(company.id, lead_id, interaction.id)
    return [lead_write, Write(path, interaction.model_dump(), "create")]


def _record_spam(
    store: _ReadCommit,
    company: Company,
    sub: LeadSubmission,
    ip: str,
    now: datetime,
    reason: str,
    counters: list[Write],
    spam_id: str,
) -> IntakeResult:
    """Keep the submission apart (staff may list it, and release it: ``release_spam``);
    it counts against the limits (else a bot filling the honeypot could store spam
    records without end)."""
    data: dict[str, Any] = {"id": spam_id, "company_id": company.id, "reason": reason, "ip": ip}
    data |= {"submission": sub.model_dump(), "status": SpamStatus.HELD.value}
    data |= {"created_at": now, "updated_at": now}
    path = spam_path(company.id, spam_id)
    store.commit([Write(path, data, "create"), *counters])
    log.warning("spam submission %s (%s) kept apart for company %s", spam_id, reason, company.id)
    return IntakeResult("spam", company, None, safe_redirect(company, sub.redirect_url))


def safe_redirect(company: Company, requested: str | None) -> str | None:
    """Only redirect to the company's own sites (no open redirect), and only to a URL a
    Location header can carry (a thank-you URL stored before that was checked may not)."""
    url = requested or company.settings.thank_you_url
    if not url:
        return None
    if not is_header_url(url):
        log.warning("no redirect for %s: the URL has blanks or control characters", company.id)
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket: not a URL we would send anyone to
        return None
    origin = f"{parts.scheme}://{parts.netloc}"
    if url == company.settings.thank_you_url or origin in company.allowed_origins:
        return url
    return None
