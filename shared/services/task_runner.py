"""Running one scheduled task, at most once in effect, however often it is delivered.

A run first takes a processing lease in a transaction (a pending task, or one whose
holder died and let the lease expire), runs the handler, then records the outcome only if
it still holds that lease. Cloud Tasks retries on non-2xx answers, so only a ``Transient``
failure (or a live lease held by another run) raises; everything else is answered as done.
A ``RetryLater`` (a provider's rate limit) reschedules the task for the time it names.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from msgspec import Struct

from shared.domain.common import random_id
from shared.domain.tasks import (
    LEASE,
    MAX_ATTEMPTS,
    Claim,
    ScheduledTask,
    TaskStatus,
    cloud_task_name,
    decide_claim,
    task_path,
    task_payload,
)
from shared.errors import RetryLater, Transient
from shared.events import TaskEvent
from shared.ports import Clock, DocumentStore, Messenger, TaskQueue, TaskRequest, Transaction, Write
from shared.services.task_handlers import TaskContext, resolve

log = logging.getLogger("growthkit.tasks")

Outcome = Literal["completed", "failed", "duplicate", "deferred", "missing", "exhausted"]


class RunResult(Struct, frozen=True):
    outcome: Outcome
    task_id: str
    result: dict[str, Any] | None = None
    error: str | None = None


def run_scheduled_task(
    store: DocumentStore,
    queue: TaskQueue,
    messenger: Messenger,
    clock: Clock,
    delivery: TaskEvent,
    *,
    company_id: str,
    task_id: str,
) -> RunResult:
    """Run the task named by a Cloud Tasks delivery, unless it already ran or is running.

    Args:
        store: Holds the task document.
        queue: Re-enqueues tasks delivered before they are due; handlers schedule with it.
        messenger: Handed to handlers.
        clock: The time of the lease and of ``executed_at``.
        delivery: The Cloud Tasks delivery (for the logs).
        company_id: The tenant.
        task_id: The scheduled task's id.

    Returns:
        What happened: completed, failed (for good), duplicate (already final), deferred
        (not due yet, re-enqueued), missing (no such task) or exhausted (too many attempts).

    Raises:
        Transient: another run holds a live lease, or the handler failed transiently (the
            task is pending again with the error recorded); Cloud Tasks should retry.
    """
    now, lease_id = clock.now(), random_id()
    log.info(
        "task %s/%s delivered as %s (retry %d)",
        company_id,
        task_id,
        delivery.task_name or "direct call",
        delivery.retry_count,
    )
    path = task_path(company_id, task_id)
    claim = store.run_transaction(lambda tx: _claim(tx, path, now, lease_id))
    if claim.outcome == "busy":
        raise Transient(f"Task {task_id} is being run by another delivery.")
    if claim.outcome == "claimed" and claim.task is not None:
        return _execute(store, queue, messenger, clock, claim.task, lease_id)
    if claim.outcome == "not_due" and claim.task is not None:
        _defer(queue, claim.task, now)
        return RunResult("deferred", task_id)
    outcome: Outcome = "exhausted" if claim.outcome == "exhausted" else "duplicate"
    if claim.outcome == "missing":
        outcome = "missing"
    log.info("task %s/%s not run: %s", company_id, task_id, outcome)
    return RunResult(outcome, task_id)


def _claim(tx: Transaction, path: str, now: datetime, lease_id: str) -> Claim:
    snap = tx.get(path)
    task = ScheduledTask.model_validate(snap.data) if snap.data is not None else None
    outcome = decide_claim(task, now)
    if task is None:
        return Claim(outcome)
    if outcome == "exhausted":
        error = f"Gave up after {task.retry_count} attempts; last error: {task.error}"
        tx.write(Write(path, _final(TaskStatus.FAILED, now, error=error), "merge"))
    if outcome != "claimed":
        return Claim(outcome, task)
    update = {
        "status": TaskStatus.PROCESSING.value,
        "retry_count": task.retry_count + 1,
        "lease_until": now + LEASE,
        "lease_id": lease_id,
        "updated_at": now,
    }
    tx.write(Write(path, update, "merge"))
    return Claim(outcome, task.model_copy(update={**update, "status": TaskStatus.PROCESSING}))


def _execute(
    store: DocumentStore,
    queue: TaskQueue,
    messenger: Messenger,
    clock: Clock,
    task: ScheduledTask,
    lease_id: str,
) -> RunResult:
    ctx = TaskContext(store, queue, messenger, clock.now())
    try:
        result = resolve(task.type)(ctx, task)
    except Transient as err:
        return _transient(store, queue, clock, task, lease_id, err)
    except Exception as err:
        # Deliberately broad: anything but Transient is a permanent failure of this task,
        # recorded on it and answered 200 so Cloud Tasks does not retry a lost cause.
        error = _describe(err)
        log.exception("task %s (%s) failed permanently", task.id, task.type)
        _record(store, task, lease_id, _final(TaskStatus.FAILED, clock.now(), error=error))
        return RunResult("failed", task.id, error=error)
    _record(store, task, lease_id, _final(TaskStatus.COMPLETED, clock.now(), result=result))
    log.info("task %s (%s) completed: %s", task.id, task.type, result)
    return RunResult("completed", task.id, result=result)


def _transient(
    store: DocumentStore,
    queue: TaskQueue,
    clock: Clock,
    task: ScheduledTask,
    lease_id: str,
    err: Transient,
) -> RunResult:
    """Record a transient failure: failed for good past the attempts allowed; rescheduled
    for the time a ``RetryLater`` names (answered 200: our own Cloud Task wakes it then,
    so Cloud Tasks' backoff does not call the provider early); else pending, re-raised for
    Cloud Tasks to retry."""
    error, now = _describe(err), clock.now()
    if task.retry_count >= MAX_ATTEMPTS:
        _record(store, task, lease_id, _final(TaskStatus.FAILED, now, error=error))
        log.error("task %s failed for good after %d attempts", task.id, task.retry_count)
        return RunResult("failed", task.id, error=error)
    retry = {"status": TaskStatus.PENDING.value, "error": error, "updated_at": now}
    retry |= {"lease_until": None, "lease_id": None}
    if isinstance(err, RetryLater) and err.at > now:
        _record(store, task, lease_id, {**retry, "scheduled_for": err.at})
        # A new name: the Cloud Task delivering this run still holds the task's own.
        name = f"{cloud_task_name(task.company_id, task.id)}-retry-{lease_id}"
        _enqueue_best_effort(queue, name, task, err.at)
        log.warning("task %s (%s) rescheduled for %s: %s", task.id, task.type, err.at, error)
        return RunResult("deferred", task.id, error=error)
    _record(store, task, lease_id, retry)
    log.warning("task %s (%s) failed transiently, will retry: %s", task.id, task.type, error)
    raise err


def _enqueue_best_effort(queue: TaskQueue, name: str, task: ScheduledTask, at: datetime) -> None:
    try:
        queue.enqueue(TaskRequest(name, task_payload(task.company_id, task.id), at))
    except Exception:
        # Deliberately broad: the task is stored pending and due at ``at``, so the
        # dispatcher (every minute) wakes it if this Cloud Task was never created.
        log.warning("could not enqueue the retry of task %s; the dispatcher will", task.id)


def _final(
    status: TaskStatus,
    now: datetime,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    fields: dict[str, Any] = {"status": status.value, "updated_at": now, "lease_until": None}
    fields["lease_id"] = None
    if status == TaskStatus.COMPLETED:
        fields.update(executed_at=now, result=result, error=None)
    else:
        fields["error"] = error
    return fields


def _record(
    store: DocumentStore, task: ScheduledTask, lease_id: str, fields: dict[str, Any]
) -> None:
    """Write the outcome only while still holding the lease (a slower, superseded run of
    the same task must not overwrite what the run that took over recorded)."""
    path = task_path(task.company_id, task.id)

    def record(tx: Transaction) -> bool:
        snap = tx.get(path)
        if snap.data is None or snap.data.get("lease_id") != lease_id:
            return False
        tx.write(Write(path, fields, "merge"))
        return True

    if not store.run_transaction(record):
        log.warning("task %s: lease lost before recording %s", task.id, fields["status"])


def _defer(queue: TaskQueue, task: ScheduledTask, now: datetime) -> None:
    """Delivered early (Cloud Tasks schedules at most 30 days ahead): wake up again later.
    The name is new because the delivering Cloud Task still holds the old one."""
    name = f"{cloud_task_name(task.company_id, task.id)}-at-{int(now.timestamp())}"
    queue.enqueue(TaskRequest(name, task_payload(task.company_id, task.id), task.scheduled_for))
    log.info("task %s not due until %s; re-enqueued as %s", task.id, task.scheduled_for, name)


def _describe(err: Exception) -> str:
    return f"{type(err).__name__}: {err}"[:1000]
