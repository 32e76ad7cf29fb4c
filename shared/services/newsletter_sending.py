"""Sending a newsletter issue: throttled batches chained as Cloud Tasks, as campaigns send.

A ``newsletter_batch`` task (data: issue, run, seq) takes the issue's lease, writes its
recipients on the first batch (every confirmed subscriber of its topics, create-only, one
per subscription), takes as many sends as the company's e-mail rate leaves in the current
window (the counter campaigns use: one rate per company), sends to that many queued
recipients and chains the next batch at the next window. A cancelled issue's chain stops
at its next batch, and within a batch every few recipients.

Each mail goes through ``send_marketing`` under the key ``newsletter:{c}:{issue}:{sub}``:
its send record is created before the mail goes out and the recipient is marked done in
one commit after, so a batch retried or killed half-way finds the recipient still queued
and sends again under the same key, which the messaging layer folds: nobody gets an issue
twice. A subscriber's frequency slot (``shared.domain.newsletter_issues``) is created
before the send too, naming the issue, so a retry finds its own slot.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from msgspec import Struct

from shared.campaigns.domain.compliance_content import ListMail
from shared.campaigns.domain.templates import TemplateProblem
from shared.campaigns.domain.tracking import LinkSigner
from shared.campaigns.services.policy import Outreach, links_from_settings, send_marketing
from shared.campaigns.services.sending import claim_rate
from shared.domain.company import Company, company_path
from shared.domain.newsletter_issues import (
    IssueStatus,
    NewsletterIssue,
    frequency_window,
    issue_context,
    issue_path,
    issue_send_key,
    not_reached,
    recipients_collection,
    render_issue,
    slot_path,
    subscriber_as_person,
)
from shared.domain.newsletters import subscription_path
from shared.domain.tasks import LEASE, ScheduledTask
from shared.errors import AlreadyExists, DomainError, InvalidInput, Transient
from shared.ports import DocumentStore, Filter, Increment, Messenger, TaskQueue, Transaction, Write
from shared.services import newsletters
from shared.services.scheduling import schedule_task
from shared.services.task_handlers import TaskContext

log = logging.getLogger("growthkit.newsletters")

CHECK_EVERY = 10  # recipients between re-reads of the issue's status within a batch
PAGE = 200  # subscriptions read at a time when writing the recipients


class IssueBatch(Struct, frozen=True):
    company_id: str
    issue_id: str
    run: int
    seq: int
    task_id: str = ""


class Senders(Struct, frozen=True):
    """What signs the links of an issue's mails: tracking, and the list's unsubscribe."""

    tracking: LinkSigner
    newsletter: newsletters.Links


def senders_from_settings() -> Senders:
    from shared.settings import get_settings

    settings = get_settings()
    key = settings.signing_key.get_secret_value()
    return Senders(links_from_settings(), newsletters.Links(settings.functions_base_url, key))


def schedule_issue_batch(
    store: DocumentStore, queue: TaskQueue, now: datetime, ref: IssueBatch, at: datetime
) -> str:
    """The batch ``ref`` names, due ``at`` (scheduling it again is a no-op)."""
    return schedule_task(
        store,
        queue,
        now,
        company_id=ref.company_id,
        task_type="newsletter_batch",
        data={"issue_id": ref.issue_id, "run": ref.run, "seq": ref.seq},
        run_at=at,
        key=f"newsletter_batch:{ref.company_id}:{ref.issue_id}:{ref.run}:{ref.seq}",
    )


def newsletter_batch_task(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """Task ``newsletter_batch`` (data: ``issue_id``, ``run``, ``seq``)."""
    issue_id = str(task.data.get("issue_id") or "")
    if not issue_id:
        raise InvalidInput("A newsletter_batch task needs data.issue_id.")
    run, seq = int(task.data.get("run", 0)), int(task.data.get("seq", 1))
    ref = IssueBatch(task.company_id, issue_id, run, seq, task.id)
    try:
        return run_issue_batch(
            ctx.store, ctx.queue, ctx.messenger, senders_from_settings(), ctx.now, ref
        )
    except DomainError:
        raise
    except Exception as err:
        # Deliberately broad, as for campaigns: a batch cut short by anything is retried,
        # and the retry resumes without sending anything twice.
        raise Transient(f"Newsletter batch crashed: {type(err).__name__}: {err}") from err


def run_issue_batch(
    store: DocumentStore,
    queue: TaskQueue,
    messenger: Messenger,
    senders: Senders,
    now: datetime,
    ref: IssueBatch,
) -> dict[str, Any]:
    """Send one throttled batch of the issue and chain the next.

    Returns:
        What the batch did: counts per outcome and what comes next.

    Raises:
        Transient: another batch of the issue holds the lease, or a send failed in a way
            worth retrying (the retry sends nothing twice).
    """
    acquired = store.run_transaction(lambda tx: _acquire(tx, now, ref))
    if isinstance(acquired, str):
        log.info("newsletter batch %s stopped: %s", ref.task_id, acquired)
        return {"stopped": acquired}
    company, issue = acquired
    if not issue.materialized:
        _materialize(store, issue, now)
    granted, window = claim_rate(store, now, company, "email")
    counts = _send_queued(store, messenger, senders, now, company, issue, ref, granted)
    done = sum(counts.values())
    if done < granted:  # give the unused rate back to the company's other sends
        store.commit([Write(window[0], {"count": Increment(done - granted)}, "merge")])
    more = granted in (0, done)
    then = store.run_transaction(lambda tx: _finish(tx, ref, now, more))
    if then == "next batch":
        following = IssueBatch(ref.company_id, ref.issue_id, ref.run, ref.seq + 1)
        schedule_issue_batch(store, queue, now, following, window[1])
    log.info("newsletter issue %s batch %d.%d: %s, then %s", ref.issue_id, ref.run, ref.seq,
             counts, then)  # fmt: skip
    return {**counts, "then": then}


def _acquire(
    tx: Transaction, now: datetime, ref: IssueBatch
) -> tuple[Company, NewsletterIssue] | str:
    """Take the issue's batch lease, or say why this batch does not run."""
    company_snap, snap = tx.get_all(
        [company_path(ref.company_id), issue_path(ref.company_id, ref.issue_id)]
    )
    if snap.data is None or company_snap.data is None:
        return "issue deleted"
    issue = NewsletterIssue.model_validate({**snap.data, "id": ref.issue_id})
    if issue.status != IssueStatus.SENDING:
        return f"issue {issue.status.value}"
    if issue.run != ref.run:
        return "superseded by a later run"
    lease = issue.batch_lease or {}
    until, holder = lease.get("until"), lease.get("task_id")
    if holder not in (None, ref.task_id) and isinstance(until, datetime) and until > now:
        raise Transient(f"Another batch of newsletter issue {ref.issue_id} is running.")
    lease_write = {"batch_lease": {"task_id": ref.task_id, "until": now + LEASE}}
    tx.write(Write(snap.path, lease_write, "merge"))
    return Company.model_validate({**company_snap.data, "id": ref.company_id}), issue


def _materialize(store: DocumentStore, issue: NewsletterIssue, now: datetime) -> None:
    """One queued recipient per subscription the issue reaches, each created once (a
    batch retried after writing some writes only the rest)."""
    after, selected = "", 0
    while True:
        page = store.query(
            f"companies/{issue.company_id}/newsletter_subscriptions",
            [Filter("status", "==", "active"), Filter("id", ">", after)],
            [("id", False)],
            PAGE,
        )
        reached = [s for s in page if s.data and not_reached(issue.topics, s.data) is None]
        selected += _write_recipients(
            store, issue, [s.path.rsplit("/", 1)[1] for s in reached], now
        )
        if len(page) < PAGE:
            break
        after = page[-1].path.rsplit("/", 1)[1]
    done = {"materialized": True, "updated_at": now}
    store.commit([Write(issue_path(issue.company_id, issue.id), done, "merge")])
    log.info("newsletter issue %s/%s: %d recipients", issue.company_id, issue.id, selected)


def _write_recipients(
    store: DocumentStore, issue: NewsletterIssue, ids: list[str], now: datetime
) -> int:
    collection = recipients_collection(issue.company_id, issue.id)
    paths = [f"{collection}/{i}" for i in ids]
    existing = {s.path for s in store.get_all(paths) if s.exists} if paths else set()
    fresh = [(i, p) for i, p in zip(ids, paths, strict=True) if p not in existing]
    if not fresh:
        return 0
    writes = [
        Write(p, {"id": i, "company_id": issue.company_id, "issue_id": issue.id,
                  "send_state": "queued", "status": "pending", "created_at": now}, "create")
        for i, p in fresh
    ]  # fmt: skip
    stats = {"stats": {"recipients": Increment(len(fresh))}, "updated_at": now}
    try:
        store.commit([*writes, Write(issue_path(issue.company_id, issue.id), stats, "merge")])
    except AlreadyExists as err:  # written meanwhile by another batch: read again on retry
        raise Transient(f"Recipients of issue {issue.id} changed meanwhile.") from err
    return len(fresh)


def _send_queued(
    store: DocumentStore,
    messenger: Messenger,
    senders: Senders,
    now: datetime,
    company: Company,
    issue: NewsletterIssue,
    ref: IssueBatch,
    granted: int,
) -> dict[str, int]:
    counts: dict[str, int] = {}
    if granted == 0:
        return counts
    queued = store.query(
        recipients_collection(ref.company_id, ref.issue_id),
        [Filter("send_state", "==", "queued")],
        limit=granted,
    )
    for position, snap in enumerate(queued):
        if position and position % CHECK_EVERY == 0 and not _still_sending(store, ref):
            break
        sub_id = snap.path.rsplit("/", 1)[1]
        outcome = send_issue_to(store, messenger, senders, now, company, issue, sub_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _still_sending(store: DocumentStore, ref: IssueBatch) -> bool:
    data = store.get_all([issue_path(ref.company_id, ref.issue_id)])[0].data or {}
    return data.get("status") == IssueStatus.SENDING.value and data.get("run") == ref.run


def send_issue_to(
    store: DocumentStore,
    messenger: Messenger,
    senders: Senders,
    now: datetime,
    company: Company,
    issue: NewsletterIssue,
    sub_id: str,
) -> str:
    """Send the issue to one queued recipient and record the outcome.

    Returns:
        sent, skipped (frequency), excluded (no longer subscribed, template), blocked
        (suppressed, consent) or failed.
    """
    sub = store.get_all([subscription_path(company.id, sub_id)])[0].data
    why_not = "subscription deleted" if sub is None else not_reached(issue.topics, sub)
    if why_not is not None or sub is None:
        return _done(store, issue, sub_id, "excluded", why_not or "", now)
    skipped = _claim_slot(store, issue, sub_id, str(sub.get("frequency") or "weekly"), now)
    if skipped is not None:
        return _done(store, issue, sub_id, "skipped", skipped, now)
    try:
        outreach = _outreach(senders, company, issue, sub_id, sub)
    except TemplateProblem as err:
        return _done(store, issue, sub_id, "excluded", f"template: {err}", now)
    result = send_marketing(store, messenger, senders.tracking, now, company, outreach)
    reason = result.reason if result.outcome != "sent" else ""
    return _done(store, issue, sub_id, result.outcome, reason, now, result.writes, result.send_id)


def _claim_slot(
    store: DocumentStore, issue: NewsletterIssue, sub_id: str, frequency: str, now: datetime
) -> str | None:
    """Take the subscriber's slot in the issue's frequency window (kept if this issue
    took it before); why not, when another issue has it."""
    window = frequency_window(frequency, issue.started_at or now)
    path = slot_path(issue.company_id, sub_id, window)
    slot = {"issue_id": issue.id, "subscription_id": sub_id, "window": window, "at": now}
    try:
        store.commit([Write(path, slot, "create")])
        return None
    except AlreadyExists:
        holder = (store.get_all([path])[0].data or {}).get("issue_id")
    if holder == issue.id:
        return None
    return f"frequency: a {frequency} subscriber got issue {holder} in {window}"


def _outreach(
    senders: Senders, company: Company, issue: NewsletterIssue, sub_id: str, sub: dict[str, Any]
) -> Outreach:
    fields = {"name": company.name, "website": company.website, "industry": company.industry}
    rendered = render_issue(issue.subject, issue.body, issue.format, issue_context(sub, fields))
    name = company.name or company.id
    list_mail = ListMail(
        rendered.html,
        rendered.html_links,
        newsletters.unsubscribe_url(senders.newsletter, company.id, sub_id),
        f"You receive this because you subscribed to {name}'s newsletter.",
    )
    return Outreach(
        "email", str(sub.get("email") or ""), rendered.subject, rendered.text,
        issue_send_key(company.id, issue.id, sub_id), subscriber_as_person(sub),
        {"issue_id": issue.id, "subscription_id": sub_id}, rendered.filled, list_mail,
    )  # fmt: skip


def _done(
    store: DocumentStore,
    issue: NewsletterIssue,
    sub_id: str,
    outcome: str,
    reason: str,
    now: datetime,
    writes: tuple[Write, ...] = (),
    send_id: str = "",
) -> str:
    """The recipient's outcome, the issue's count of it and the send's own record, in
    one commit (a batch cut short before it finds the recipient still queued)."""
    path = f"{recipients_collection(issue.company_id, issue.id)}/{sub_id}"
    mark = {"send_state": "done", "status": outcome, "reason": reason or None, "updated_at": now}
    if send_id:
        mark["send_id"] = send_id
    stats = {"stats": {outcome: Increment(1)}, "updated_at": now}
    store.commit(
        [Write(path, mark, "merge"), Write(issue_path(issue.company_id, issue.id), stats, "merge"),
         *writes]
    )  # fmt: skip
    return outcome


def _finish(tx: Transaction, ref: IssueBatch, now: datetime, more: bool) -> str:
    """Release the lease and decide: the next batch, or the issue is sent."""
    snap = tx.get(issue_path(ref.company_id, ref.issue_id))
    data = snap.data or {}
    release: dict[str, Any] = {"batch_lease": None, "updated_at": now}
    if data.get("status") != IssueStatus.SENDING.value or data.get("run") != ref.run:
        tx.write(Write(snap.path, release, "merge"))
        return "stopped"
    collection = recipients_collection(ref.company_id, ref.issue_id)
    queued = tx.query(collection, [Filter("send_state", "==", "queued")], limit=1)
    if more or queued:
        tx.write(Write(snap.path, release, "merge"))
        return "next batch"
    sent = {**release, "status": IssueStatus.SENT.value, "completed_at": now,
            "status_reason": "sent to every recipient"}  # fmt: skip
    tx.write(Write(snap.path, sent, "merge"))
    return "sent"
