"""Sending a campaign: throttled batches chained as Cloud Tasks, pausable, resumable.

A ``campaign_batch`` task (data: campaign, run, seq) sends to queued recipients, as many
as the company's rate for the channel leaves in the current window
(``companies/{c}/send_rate/{channel}-{window}``, shared by all its campaigns), then
schedules the next batch at the next window. Every batch first checks the campaign: only
a ``sending`` campaign's current run goes on, so pausing or cancelling stops the chain at
its next batch (and within a batch every few recipients), and resuming starts a new run.
One batch at a time holds the campaign's lease. Recipients deferred by quiet hours are
queued again by a ``campaign_wake`` task at their time, which restarts the chain if it
ended meanwhile; when nothing is queued or deferred, the campaign is completed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from msgspec import Struct

from shared.campaigns.domain.campaigns import Campaign, CampaignStatus, SendState
from shared.campaigns.domain.compliance import (
    Channel,
    cap_counter_path_of,
    cap_window,
)
from shared.campaigns.domain.keys import campaign_path, recipients_collection
from shared.campaigns.domain.tracking import LinkSigner
from shared.campaigns.services.audience import materialize
from shared.campaigns.services.delivery import send_to
from shared.campaigns.services.policy import links_from_settings
from shared.domain.company import Company, company_path
from shared.domain.tasks import LEASE, ScheduledTask
from shared.errors import Contention, DomainError, InvalidInput, Transient
from shared.ports import (
    DocumentStore,
    Filter,
    Increment,
    Messenger,
    Snapshot,
    TaskQueue,
    Transaction,
    Write,
)
from shared.services.scheduling import schedule_task
from shared.services.task_handlers import TaskContext

log = logging.getLogger("growthkit.campaigns")

CHECK_EVERY = 10  # recipients between re-reads of the campaign's status within a batch
READ_AHEAD = 30  # recipients whose frequency counters one query reads (an "in" of 30)
REQUEUE_LIMIT = 400


class BatchRef(Struct, frozen=True):
    company_id: str
    campaign_id: str
    run: int
    seq: int
    task_id: str


def batch_key(company_id: str, campaign_id: str, run: int, seq: int) -> str:
    return f"campaign_batch:{company_id}:{campaign_id}:{run}:{seq}"


def schedule_batch(
    store: DocumentStore, queue: TaskQueue, now: datetime, ref: BatchRef, at: datetime
) -> str:
    """The batch ``ref`` names, due ``at`` (scheduling it again is a no-op)."""
    return schedule_task(
        store,
        queue,
        now,
        company_id=ref.company_id,
        task_type="campaign_batch",
        data={"campaign_id": ref.campaign_id, "run": ref.run, "seq": ref.seq},
        run_at=at,
        key=batch_key(ref.company_id, ref.campaign_id, ref.run, ref.seq),
    )


def campaign_batch_task(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """Task ``campaign_batch`` (data: ``campaign_id``, ``run``, ``seq``)."""
    campaign_id = str(task.data.get("campaign_id") or "")
    if not campaign_id:
        raise InvalidInput("A campaign_batch task needs data.campaign_id.")
    run, seq = int(task.data.get("run", 0)), int(task.data.get("seq", 1))
    ref = BatchRef(task.company_id, campaign_id, run, seq, task.id)
    try:
        return run_batch(ctx.store, ctx.queue, ctx.messenger, links_from_settings(), ctx.now, ref)
    except DomainError:
        raise
    except Exception as err:
        # Deliberately broad: a batch cut short by anything (a provider library failing
        # oddly, a bug) is retried, and the retry resumes without sending anything twice.
        raise Transient(f"Campaign batch crashed: {type(err).__name__}: {err}") from err


def run_batch(
    store: DocumentStore,
    queue: TaskQueue,
    messenger: Messenger,
    links: LinkSigner,
    now: datetime,
    ref: BatchRef,
) -> dict[str, Any]:
    """Send one throttled batch of the campaign and chain the next.

    Args:
        store: The document store.
        queue: For the next batch and wake-up tasks.
        messenger: Sends the messages (through the outreach policy).
        links: Signs the links in the messages.
        now: The time of this batch.
        ref: The campaign, the run and place in it, and this task.

    Returns:
        What the batch did: counts per outcome and what comes next.

    Raises:
        Transient: another batch of the campaign holds the lease, or a send failed in a
            way worth retrying (the retry resumes without sending anything twice).
    """
    acquired = store.run_transaction(lambda tx: _acquire(tx, now, ref))
    if isinstance(acquired, str):
        log.info("campaign batch %s stopped: %s", ref.task_id, acquired)
        return {"stopped": acquired}
    company, campaign = acquired
    if campaign.ends_at is not None and now >= campaign.ends_at:
        store.run_transaction(lambda tx: _end(tx, ref, now, "ended at ends_at"))
        return {"stopped": "ended at ends_at"}
    if not campaign.materialized:
        materialize(store, campaign, now)
        store.commit(
            [Write(campaign_path(ref.company_id, ref.campaign_id), {"materialized": True}, "merge")]
        )
    granted, window = claim_rate(store, now, company, campaign.channel)
    counts = _send_queued(store, queue, messenger, links, now, company, campaign, ref, granted)
    done = sum(counts.values())
    if done < granted:  # give the unused rate back to the company's other campaigns
        store.commit([Write(window[0], {"count": Increment(done - granted)}, "merge")])
    more = granted in (0, done)  # no room in this window, or a full batch (maybe more)
    then = store.run_transaction(lambda tx: _finish(tx, ref, now, more))
    if then == "next batch":
        next_ref = BatchRef(ref.company_id, ref.campaign_id, ref.run, ref.seq + 1, "")
        schedule_batch(store, queue, now, next_ref, window[1])
    log.info(
        "campaign %s batch %d.%d: %s, then %s", ref.campaign_id, ref.run, ref.seq, counts, then
    )
    return {**counts, "then": then}


def _acquire(tx: Transaction, now: datetime, ref: BatchRef) -> tuple[Company, Campaign] | str:
    """Take the campaign's batch lease, or say why this batch does not run."""
    company_snap, snap = tx.get_all(
        [company_path(ref.company_id), campaign_path(ref.company_id, ref.campaign_id)]
    )
    if snap.data is None:
        return "campaign deleted"
    campaign = Campaign.model_validate({**snap.data, "id": ref.campaign_id})
    if campaign.status != CampaignStatus.SENDING:
        return f"campaign {campaign.status.value}"
    if campaign.run != ref.run:
        return "superseded by a later run"
    lease = campaign.batch_lease or {}
    until = lease.get("until")
    if (
        lease.get("task_id") not in (None, ref.task_id)
        and isinstance(until, datetime)
        and until > now
    ):
        raise Transient(f"Another batch of campaign {ref.campaign_id} is running.")
    tx.write(
        Write(snap.path, {"batch_lease": {"task_id": ref.task_id, "until": now + LEASE}}, "merge")
    )
    company = Company.model_validate({**(company_snap.data or {}), "id": ref.company_id})
    return company, campaign


def claim_rate(
    store: DocumentStore, now: datetime, company: Company, channel: str
) -> tuple[int, tuple[str, datetime]]:
    """Take up to the channel's rate from the company's current window, which all its
    campaigns and newsletter issues share: (granted, (the window's counter path, when the
    next window opens))."""
    settings = company.settings
    seconds = settings.send_window_seconds
    window = int(now.timestamp() // seconds)
    opens = datetime.fromtimestamp((window + 1) * seconds, UTC)
    limit = settings.send_rate_email if channel == "email" else settings.send_rate_sms
    path = f"{company_path(company.id)}/send_rate/{channel}-{window}"

    def claim(tx: Transaction) -> int:
        used = int((tx.get(path).data or {}).get("count", 0))
        granted = max(0, limit - used)
        if granted:
            data = {"count": used + granted, "expires_at": opens + timedelta(days=1)}
            tx.write(Write(path, data, "set"))
        return granted

    return store.run_transaction(claim), (path, opens)


def _send_queued(
    store: DocumentStore,
    queue: TaskQueue,
    messenger: Messenger,
    links: LinkSigner,
    now: datetime,
    company: Company,
    campaign: Campaign,
    ref: BatchRef,
    granted: int,
) -> dict[str, int]:
    counts: dict[str, int] = {}
    if granted == 0:
        return counts
    queued = store.query(
        recipients_collection(ref.company_id, ref.campaign_id),
        [Filter("send_state", "==", SendState.QUEUED.value)],
        limit=granted,
    )
    counters: dict[str, Snapshot] = {}
    for position, snap in enumerate(queued):
        if position and position % CHECK_EVERY == 0 and not _still_sending(store, ref):
            break
        if position % READ_AHEAD == 0:
            coming = queued[position : position + READ_AHEAD]
            counters = _counters_ahead(store, now, company, campaign.channel, coming)
        outcome = send_to(store, queue, messenger, links, now, company, campaign, snap, counters)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _counters_ahead(
    store: DocumentStore, now: datetime, company: Company, channel: Channel, snaps: list[Snapshot]
) -> dict[str, Snapshot]:
    """The frequency counters of the next recipients' addresses (their ``address_id``, as
    the audience recorded it), by path, in one query whose results cost a read each (at
    least one), instead of a read per recipient; a counter not found is absent. A
    recipient whose address changed since reads its own counter, and a counter written
    since fails the reservation's precondition and is read again (``send_marketing``)."""
    keys = sorted({str(s.data["address_id"]) for s in snaps if s.data and s.data.get("address_id")})
    if not keys:
        return {}
    days = company.settings.frequency_cap_days
    paths = {cap_counter_path_of(company.id, channel, key, now, days) for key in keys}
    filters = [Filter("address_id", "in", keys), Filter("window", "==", cap_window(now, days))]
    try:
        found = store.query(f"{company_path(company.id)}/frequency_counters", filters)
    except Contention:
        # Firestore refuses a query whose index is still building (just deployed): each
        # send reads its own counter then, as it would without this read-ahead.
        log.warning("frequency counters not read ahead: their index is not ready")
        return {}
    return {p: Snapshot(p, None) for p in paths} | {s.path: s for s in found if s.path in paths}


def _still_sending(store: DocumentStore, ref: BatchRef) -> bool:
    data = store.get_all([campaign_path(ref.company_id, ref.campaign_id)])[0].data or {}
    return data.get("status") == CampaignStatus.SENDING.value and data.get("run") == ref.run


def _finish(tx: Transaction, ref: BatchRef, now: datetime, more: bool) -> str:
    """Release the lease and decide what follows: the next batch, waiting for deferred
    recipients (a wake-up restarts the chain), or the campaign's completion."""
    snap = tx.get(campaign_path(ref.company_id, ref.campaign_id))
    data = snap.data or {}
    release: dict[str, Any] = {"batch_lease": None, "updated_at": now}
    if data.get("status") != CampaignStatus.SENDING.value or data.get("run") != ref.run:
        tx.write(Write(snap.path, release, "merge"))
        return "stopped"
    collection = recipients_collection(ref.company_id, ref.campaign_id)
    queued = tx.query(collection, [Filter("send_state", "==", SendState.QUEUED.value)], limit=1)
    if more or queued:
        tx.write(Write(snap.path, release, "merge"))
        return "next batch"
    deferred = tx.query(collection, [Filter("send_state", "==", SendState.DEFERRED.value)], limit=1)
    if deferred:
        tx.write(Write(snap.path, {**release, "chain_active": False}, "merge"))
        return "waiting for deferred recipients"
    return _end(tx, ref, now, "sent to every recipient")


def _end(tx: Transaction, ref: BatchRef, now: datetime, reason: str) -> str:
    done = {
        "status": CampaignStatus.COMPLETED.value,
        "status_reason": reason,
        "completed_at": now,
        "chain_active": False,
        "batch_lease": None,
        "updated_at": now,
    }
    tx.write(Write(campaign_path(ref.company_id, ref.campaign_id), done, "merge"))
    return "completed"


def requeue_due(tx: Transaction, company_id: str, campaign_id: str, now: datetime) -> int:
    """Queue again the recipients whose deferral has ended (in the caller's transaction)."""
    due = tx.query(
        f"companies/{company_id}/campaigns/{campaign_id}/recipients",
        [
            Filter("send_state", "==", SendState.DEFERRED.value),
            Filter("deferred_until", "<=", now),
        ],
        limit=REQUEUE_LIMIT,
    )
    for snap in due:
        again = {"send_state": SendState.QUEUED.value, "deferred_until": None, "updated_at": now}
        tx.write(Write(snap.path, again, "merge"))
    return len(due)


def campaign_wake_task(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """Task ``campaign_wake`` (data: ``campaign_id``): deferred recipients whose time came
    are queued again, and the chain of batches restarted if it had ended."""
    campaign_id = str(task.data.get("campaign_id") or "")

    def wake(tx: Transaction) -> tuple[int, int | None]:
        snap = tx.get(campaign_path(task.company_id, campaign_id))
        data = snap.data or {}
        if data.get("status") != CampaignStatus.SENDING.value:
            return 0, None
        queued = requeue_due(tx, task.company_id, campaign_id, ctx.now)
        run, update = int(data.get("run", 0)), dict[str, Any](woken_at=ctx.now)
        if not data.get("chain_active"):
            run += 1
            update |= {"run": run, "chain_active": True}
        tx.write(Write(snap.path, update, "merge"))
        return queued, run

    queued, run = ctx.store.run_transaction(wake)
    if run is not None:  # a no-op while the run's first batch exists: the chain is alive
        ref = BatchRef(task.company_id, campaign_id, run, 1, "")
        schedule_batch(ctx.store, ctx.queue, ctx.now, ref, ctx.now)
    return {"queued": queued, "run": run}
