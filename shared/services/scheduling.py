"""Scheduling work for later: the task document first, then a Cloud Task to wake it up.

``schedule_task`` and ``cancel_task`` are the contract other areas code against. A task's
id is derived from its key, so scheduling the same thing twice is a no-op. The Cloud Task
is best effort: if creating it fails, ``dispatch_due_tasks`` (every minute) enqueues due
pending tasks again, and Cloud Tasks' ALREADY_EXISTS keeps that from doubling them. It also
wakes tasks left ``processing`` by a run that died, once their lease has expired.

Production needs composite indexes on the ``scheduled_tasks`` collection group (status ASC
with scheduled_for ASC, and with lease_until ASC: the dispatcher's two queries), and a TTL
policy on ``scheduler_runs.expires_at`` (the per-run markers).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from msgspec import Struct

from shared.domain.common import stable_id
from shared.domain.tasks import (
    ScheduledTask,
    TaskStatus,
    cloud_task_name,
    ids_from_path,
    task_path,
    task_payload,
)
from shared.errors import AlreadyExists, InvalidInput
from shared.ports import (
    DocumentStore,
    Filter,
    Snapshot,
    TaskQueue,
    TaskRequest,
    Transaction,
    Write,
)

log = logging.getLogger("growthkit.scheduling")

DISPATCH_LIMIT = 500
# Firestore takes at most this many writes in one commit.
MAX_WRITES = 500
# Scheduler run markers only need to outlive Scheduler's retries of one run.
RUN_MARKER_TTL = timedelta(days=2)


def schedule_task(
    store: DocumentStore,
    queue: TaskQueue | None,
    now: datetime,
    *,
    company_id: str,
    task_type: str,
    data: dict[str, Any],
    run_at: datetime,
    key: str,
) -> str:
    """Store a task to run at ``run_at`` and enqueue its Cloud Task.

    Args:
        store: Where the task document is written.
        queue: The Cloud Tasks queue that delivers it to ``run_task``; None leaves the
            stored task to the dispatcher, which enqueues due pending tasks every minute
            (for a function whose work can wait that minute, so that its instances never
            load the Cloud Tasks client: about 100 M instructions of a cold start).
        now: The current time (``created_at``).
        company_id: The tenant the task works for.
        task_type: A type registered in ``shared.services.task_handlers``.
        data: The handler's input (Firestore-serialisable).
        run_at: When to run it (timezone-aware; in the past means now).
        key: What makes the task unique: the same key is the same task.

    Returns:
        The task id, ``stable_id(key)``, whether or not the task already existed.

    Raises:
        InvalidInput: ``run_at`` has no timezone or ``key`` is empty.
    """
    if run_at.tzinfo is None or not key:
        raise InvalidInput("run_at must be timezone-aware and key non-empty.")
    task_id = stable_id(key)
    task = ScheduledTask(
        id=task_id,
        company_id=company_id,
        type=task_type,
        scheduled_for=run_at,
        data=data,
        key=key,
        created_at=now,
        updated_at=now,
    )
    try:
        store.commit([Write(task_path(company_id, task_id), task.model_dump(), "create")])
    except AlreadyExists:
        log.info("task %s (%s) already scheduled", task_id, key)
        return task_id
    if queue is not None:
        _enqueue_best_effort(queue, company_id, task_id, run_at)
    log.info("scheduled %s task %s for %s at %s", task_type, task_id, company_id, run_at)
    return task_id


class TaskSpec(Struct, frozen=True):
    """A task to schedule (``schedule_task``'s arguments)."""

    company_id: str
    task_type: str
    data: dict[str, Any]
    run_at: datetime
    key: str


def schedule_tasks(
    store: DocumentStore, queue: TaskQueue, now: datetime, specs: Sequence[TaskSpec]
) -> list[str]:
    """``schedule_task`` for many tasks, their documents created in one commit (per 500):
    the ones already stored (the same keys scheduled before) are left as they are.

    Returns:
        The ids of the tasks this call created (and enqueued).

    Raises:
        InvalidInput: a ``run_at`` without timezone or an empty key.
    """
    tasks = {spec.key: _task(spec, now) for spec in specs}
    created: list[ScheduledTask] = []
    chunk = list(tasks.values())
    for start in range(0, len(chunk), MAX_WRITES):
        created += _create_missing(store, chunk[start : start + MAX_WRITES])
    for task in created:
        _enqueue_best_effort(queue, task.company_id, task.id, task.scheduled_for)
    log.info("scheduled %d of %d tasks", len(created), len(tasks))
    return [task.id for task in created]


def _task(spec: TaskSpec, now: datetime) -> ScheduledTask:
    if spec.run_at.tzinfo is None or not spec.key:
        raise InvalidInput("run_at must be timezone-aware and key non-empty.")
    return ScheduledTask(
        id=stable_id(spec.key),
        company_id=spec.company_id,
        type=spec.task_type,
        scheduled_for=spec.run_at,
        data=spec.data,
        key=spec.key,
        created_at=now,
        updated_at=now,
    )


def _create_missing(store: DocumentStore, tasks: list[ScheduledTask]) -> list[ScheduledTask]:
    """Create the tasks' documents in one commit; if some exist (a repeated run), read
    which, and create only the others."""
    writes = [Write(task_path(t.company_id, t.id), t.model_dump(), "create") for t in tasks]
    try:
        store.commit(writes)
        return tasks
    except AlreadyExists:
        found = store.get_all([w.path for w in writes])
    missing = [(t, w) for t, w, snap in zip(tasks, writes, found, strict=True) if not snap.exists]
    if not missing:
        return []
    try:
        store.commit([w for _, w in missing])
    except AlreadyExists:
        # Another run created some of these meanwhile: one by one, then.
        return [t for t, w in missing if _created(store, w)]
    return [t for t, _ in missing]


def _created(store: DocumentStore, write: Write) -> bool:
    try:
        store.commit([write])
    except AlreadyExists:
        return False
    return True


def _enqueue_best_effort(queue: TaskQueue, company_id: str, task_id: str, run_at: datetime) -> None:
    request = TaskRequest(
        cloud_task_name(company_id, task_id), task_payload(company_id, task_id), run_at
    )
    try:
        queue.enqueue(request)
    except Exception:
        # Deliberately broad: the task document is already stored, and the dispatcher
        # enqueues due pending tasks every minute, so no enqueue failure loses work.
        log.warning("could not enqueue task %s; the dispatcher will", task_id, exc_info=True)


def cancel_task(
    store: DocumentStore, queue: TaskQueue, now: datetime, *, company_id: str, task_id: str
) -> bool:
    """Cancel a pending task and delete its Cloud Task.

    Args:
        store: Where the task document lives.
        queue: The queue holding its Cloud Task.
        now: The current time (``updated_at``).
        company_id: The tenant.
        task_id: The id ``schedule_task`` returned.

    Returns:
        True if the task was pending and is now cancelled; False if it did not exist or
        had already started, finished or been cancelled.
    """

    def cancel(tx: Transaction) -> bool:
        write = cancel_write(tx.get(task_path(company_id, task_id)), now)
        if write is None:
            return False
        tx.write(write)
        return True

    cancelled = store.run_transaction(cancel)
    if cancelled:
        drop_cloud_task(queue, company_id, task_id)
    return cancelled


def cancel_write(snap: Snapshot, now: datetime) -> Write | None:
    """The write cancelling a task read as ``snap``, or None unless it is pending.

    Guarded by the update time read, so outside a transaction it still only applies if
    nobody (a run taking its lease) changed the task since.
    """
    if snap.data is None or snap.data.get("status") != TaskStatus.PENDING:
        return None
    update = {"status": TaskStatus.CANCELLED.value, "updated_at": now, "lease_until": None}
    return Write(snap.path, update, "update", snap.update_time)


def drop_cloud_task(queue: TaskQueue, company_id: str, task_id: str) -> None:
    """Delete a cancelled task's Cloud Task, best effort."""
    try:
        queue.cancel(cloud_task_name(company_id, task_id))
    except Exception:
        # The cancelled status already makes any delivery a no-op; deleting the Cloud
        # Task only saves that delivery, so a failure here is not worth failing for.
        log.warning("could not delete the Cloud Task of %s", task_id, exc_info=True)
    log.info("cancelled task %s of %s", task_id, company_id)


class DispatchResult(Struct, frozen=True):
    due: int = 0
    enqueued: int = 0
    already_queued: int = 0
    failed: int = 0
    skipped: bool = False
    # Tasks whose run died holding them (lease expired), woken again this run.
    abandoned: int = 0


def dispatch_due_tasks(
    store: DocumentStore, queue: TaskQueue, now: datetime, *, run_key: str
) -> DispatchResult:
    """Make sure every due task has a Cloud Task (the catch-up for lost enqueues and runs).

    One collection-group query for pending tasks due by ``now``, oldest first, at most
    ``DISPATCH_LIMIT``: the cost follows the number of due tasks, not of all tasks. A second
    one finds tasks still ``processing`` after their lease expired: the run holding them
    died, and Cloud Tasks may have given up on its task, so each gets a Cloud Task of its
    own, named after the dead lease (a repeated run of the dispatcher does not double it;
    ``run_task`` takes a new lease, or finds the task done).

    Args:
        store: The document store.
        queue: The Cloud Tasks queue.
        now: The scheduled run time (tasks due by then are dispatched).
        run_key: Identifies the Scheduler run; a finished run is not repeated.

    Returns:
        Counts of due tasks and what enqueueing each gave.
    """
    marker = f"scheduler_runs/{stable_id(run_key)}"
    if store.get_all([marker])[0].exists:
        log.info("dispatch run %s already done", run_key)
        return DispatchResult(skipped=True)
    due = store.query(
        "scheduled_tasks",
        [Filter("status", "==", TaskStatus.PENDING.value), Filter("scheduled_for", "<=", now)],
        order_by=[("scheduled_for", False)],
        limit=DISPATCH_LIMIT,
        collection_group=True,
    )
    abandoned = store.query(
        "scheduled_tasks",
        [Filter("status", "==", TaskStatus.PROCESSING.value), Filter("lease_until", "<=", now)],
        order_by=[("lease_until", False)],
        limit=DISPATCH_LIMIT,
        collection_group=True,
    )
    if DISPATCH_LIMIT in (len(due), len(abandoned)):
        log.warning("%d tasks or more to wake; the rest wait for the next run", DISPATCH_LIMIT)
    counts = {"enqueued": 0, "already_queued": 0, "failed": 0}
    for snap in due:
        company_id, task_id = ids_from_path(snap.path)
        counts[_enqueue(queue, cloud_task_name(company_id, task_id), company_id, task_id)] += 1
    for snap in abandoned:
        company_id, task_id = ids_from_path(snap.path)
        name = f"{cloud_task_name(company_id, task_id)}-{(snap.data or {}).get('lease_id')}"
        log.warning("task %s/%s: its run died (lease expired); woken again", company_id, task_id)
        counts[_enqueue(queue, name, company_id, task_id)] += 1
    _mark_run(store, marker, run_key, now)
    result = DispatchResult(
        due=len(due),
        enqueued=counts["enqueued"],
        already_queued=counts["already_queued"],
        failed=counts["failed"],
        abandoned=len(abandoned),
    )
    log.info("dispatch %s: %s", run_key, result)
    return result


def _enqueue(queue: TaskQueue, name: str, company_id: str, task_id: str) -> str:
    try:
        created = queue.enqueue(TaskRequest(name, task_payload(company_id, task_id)))
    except Exception:
        # One task's failure must not stop the rest of the run; the next run retries it.
        log.warning("could not enqueue task %s of %s", task_id, company_id, exc_info=True)
        return "failed"
    return "enqueued" if created else "already_queued"


def _mark_run(store: DocumentStore, marker: str, run_key: str, now: datetime) -> None:
    data = {"run_key": run_key, "finished_at": now, "expires_at": now + RUN_MARKER_TTL}
    try:
        store.commit([Write(marker, data, "create")])
    except AlreadyExists:
        pass  # a concurrent delivery of the same run finished first; both were harmless
