"""Enrolling leads in workflows, and ending enrolments early.

An enrolment is one transaction: the per-(workflow, lead) registry says whether the lead
was enrolled before (refused unless the workflow allows re-enrolment) or is still
enrolled (always refused); the new execution, the ``workflow_step`` task that runs its
first step and, for events, the duplicate marker are written with it. The Cloud Task is
then created best effort: ``dispatch_due_tasks`` enqueues the stored task if that fails.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from msgspec import Struct

from shared.domain.common import stable_id
from shared.domain.tasks import ScheduledTask, cloud_task_name, task_path, task_payload
from shared.ports import DocumentStore, TaskQueue, TaskRequest, Transaction, Write
from shared.workflows.domain.definition import Workflow
from shared.workflows.domain.runtime import (
    Cursor,
    Execution,
    ExecutionStatus,
    enrolment_id,
    execution_path,
    registry_path,
    step_task_key,
)

log = logging.getLogger("growthkit.workflows")

TASK_TYPE = "workflow_step"
EnrolOutcome = Literal["enrolled", "already enrolled", "still enrolled", "duplicate"]


class StepTask(Struct, frozen=True):
    """A ``workflow_step`` task: its document (for a commit) and its Cloud Task."""

    task_id: str
    write: Write
    request: TaskRequest


def step_task(
    company_id: str, execution: Execution, seq: int, run_at: datetime, now: datetime
) -> StepTask:
    """The task that runs an enrolment's step number ``seq``, as ``schedule_task`` would
    store it, but as a write, so it commits atomically with the step that needs it."""
    key = step_task_key(company_id, execution.id, seq)
    task_id = stable_id(key)
    data = {"execution_id": execution.id, "lead_id": execution.lead_id, "seq": seq}
    data["workflow_id"] = execution.workflow_id
    task = ScheduledTask(
        id=task_id,
        company_id=company_id,
        type=TASK_TYPE,
        scheduled_for=run_at,
        data=data,
        key=key,
        created_at=now,
        updated_at=now,
    )
    request = TaskRequest(
        cloud_task_name(company_id, task_id), task_payload(company_id, task_id), run_at
    )
    return StepTask(
        task_id, Write(task_path(company_id, task_id), task.model_dump(), "create"), request
    )


def wake(queue: TaskQueue, request: TaskRequest) -> None:
    """Create the Cloud Task of a committed task document, best effort."""
    try:
        queue.enqueue(request)
    except Exception:
        # Deliberately broad: the task document is committed and dispatch_due_tasks
        # enqueues due pending tasks every minute, so no failure here loses the step.
        log.warning("could not enqueue %s; the dispatcher will", request.name, exc_info=True)


class Enrolment(Struct, frozen=True):
    outcome: EnrolOutcome
    execution_id: str | None = None
    run: int = 0
    request: TaskRequest | None = None


def enrol(
    store: DocumentStore,
    queue: TaskQueue,
    now: datetime,
    *,
    workflow: Workflow,
    lead_id: str,
    enrolled_by: str,
    cause: str,
    marker: Write | None = None,
) -> Enrolment:
    """Enrol a lead, once per workflow unless the workflow allows re-enrolment.

    Args:
        store: The document store.
        queue: For the first step's Cloud Task.
        now: The enrolment time; the first step is due now.
        workflow: The workflow (its definition is copied into the enrolment).
        lead_id: The lead.
        enrolled_by: Who or what enrolled: a trigger type, or ``manual:{uid}``.
        cause: What enrolled it (an event id, a Scheduler run, a request).
        marker: A create-only duplicate marker committed with the enrolment: a second
            delivery of the same event finds it and enrols nobody.

    Returns:
        enrolled (with the enrolment id and run number), already enrolled (no
        re-enrolment), still enrolled (the last run is active) or duplicate.
    """
    result = store.run_transaction(
        lambda tx: _enrol(tx, now, workflow, lead_id, enrolled_by, cause, marker)
    )
    if result.request is not None:
        wake(queue, result.request)
        log.info("lead %s enrolled in %s as %s", lead_id, workflow.id, result.execution_id)
    return result


def _enrol(
    tx: Transaction,
    now: datetime,
    workflow: Workflow,
    lead_id: str,
    enrolled_by: str,
    cause: str,
    marker: Write | None,
) -> Enrolment:
    registry = registry_path(workflow.company_id, workflow.id, lead_id)
    snaps = tx.get_all([registry] + ([marker.path] if marker else []))
    if len(snaps) > 1 and snaps[1].exists:
        return Enrolment("duplicate")
    known = snaps[0].data or {}
    runs, latest = int(known.get("runs", 0)), known.get("execution_id")
    if runs and not workflow.allow_reenrolment:
        return Enrolment("already enrolled", latest, runs)
    if known.get("active"):
        return Enrolment("still enrolled", latest, runs)
    execution, first = _new_execution(workflow, lead_id, runs + 1, enrolled_by, cause, now)
    entry = {"workflow_id": workflow.id, "lead_id": lead_id, "runs": runs + 1}
    entry.update(execution_id=execution.id, active=True, updated_at=now)
    path = execution_path(workflow.company_id, execution.id)
    tx.write(Write(registry, entry, "set"))
    tx.write(Write(path, execution.model_dump(), "create"))
    tx.write(first.write)
    if marker is not None:
        tx.write(marker)
    return Enrolment("enrolled", execution.id, runs + 1, first.request)


def _new_execution(
    workflow: Workflow, lead_id: str, run: int, enrolled_by: str, cause: str, now: datetime
) -> tuple[Execution, StepTask]:
    """The enrolment, its cursor on the first step, and the task that runs it now."""
    execution = Execution(
        id=enrolment_id(workflow.id, lead_id, run),
        company_id=workflow.company_id,
        workflow_id=workflow.id,
        workflow_version=workflow.version,
        lead_id=lead_id,
        run=run,
        enrolled_by=enrolled_by,
        cause=cause,
        definition=workflow.model_dump(by_alias=True),
        started_at=now,
        created_at=now,
        updated_at=now,
    )
    first = step_task(workflow.company_id, execution, 1, now, now)
    cursor = Cursor(step_id=workflow.steps[0].id, seq=1, task_id=first.task_id, due_at=now)
    return execution.model_copy(update={"cursor": cursor}), first


def finish_writes(
    execution: Execution, status: ExecutionStatus, reason: str, now: datetime
) -> list[Write]:
    """The enrolment ended (its cursor cleared) and its registry entry freed for a
    re-enrolment."""
    path = execution_path(execution.company_id, execution.id)
    ended: dict[str, Any] = {"status": status.value, "finished_at": now, "exit_reason": reason}
    ended.update(cursor=None, updated_at=now)
    registry = registry_path(execution.company_id, execution.workflow_id, execution.lead_id)
    free = {"active": False, "updated_at": now}
    return [Write(path, ended, "merge"), Write(registry, free, "merge")]
