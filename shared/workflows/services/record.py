"""Recording a workflow step: one commit holds the step's ledger entry, its record on the
enrolment, the enrolment's moved cursor, the step's own writes and the task that runs the
step after a wait, so a step is recorded, and its effects applied, exactly once.

The ledger entry (``workflow_executions/{e}/ledger/{step}-{visit}``) is create-only and the
enrolment's write is guarded by the update time read before the step: a second run of the
same step, however it came about, cannot commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct

from shared.errors import AlreadyExists, Contention
from shared.ports import DocumentStore, Snapshot, TaskRequest, Write
from shared.workflows.domain.definition import END
from shared.workflows.domain.runtime import (
    MAX_RECORDED_STEPS,
    Cursor,
    Execution,
    ExecutionStatus,
    StepRun,
    ledger_path,
)
from shared.workflows.services.context import StepContext, StepEffect
from shared.workflows.services.enrolment import finish_writes, step_task


class Advance(Struct, frozen=True):
    """What one pass did: the step it ran (if any), and whether the run stops there."""

    outcome: str
    stop: bool
    step: str | None = None
    request: TaskRequest | None = None


def guarded(writes: list[Write], snap: Snapshot) -> list[Write]:
    """The enrolment's write (the first) only if nobody changed it since it was read."""
    first = writes[0]
    return [Write(first.path, first.data, first.mode, snap.update_time), *writes[1:]]


def commit_step(
    store: DocumentStore,
    snap: Snapshot,
    ctx: StepContext,
    effect: StepEffect,
    timed: tuple[datetime, datetime],
) -> Advance:
    """Commit the step's outcome (``timed``: when it started and ended) with its effects.

    Raises:
        Contention: the enrolment (or a document the step writes) changed meanwhile.
    """
    execution = ctx.execution
    cursor = execution.cursor
    assert cursor is not None  # checked by the caller
    record = StepRun(
        seq=cursor.seq,
        step_id=ctx.step.id,
        type=ctx.step.type,
        visit=ctx.visit,
        started_at=timed[0],
        ended_at=timed[1],
        outcome=effect.outcome,
        error=effect.detail.get("error"),
        next=effect.next,
    )
    update, extra, request = _moved(execution, ctx, effect, record)
    ledger = {**record.model_dump(), **effect.detail, "execution_id": execution.id}
    writes = [
        Write(snap.path, update, "merge", snap.update_time),
        Write(ledger_path(ctx.company_id, execution.id, ctx.step.id, ctx.visit), ledger, "create"),
        *effect.writes,
        *extra,
    ]
    try:
        store.commit(writes)
    except AlreadyExists as err:
        if store.get_all([writes[1].path])[0].exists:
            return Advance("already run by another delivery", stop=True, step=ctx.step.id)
        raise Contention(str(err)) from err  # a counter created meanwhile: try again
    stop = update.get("status", ExecutionStatus.ACTIVE.value) != ExecutionStatus.ACTIVE.value
    return Advance(effect.outcome, stop or request is not None, ctx.step.id, request)


def _moved(
    execution: Execution, ctx: StepContext, effect: StepEffect, record: StepRun
) -> tuple[dict[str, Any], list[Write], TaskRequest | None]:
    """The enrolment after the step: its record, and its cursor moved on, to a new task
    after a wait, or cleared at the end."""
    assert execution.cursor is not None
    seq, now = execution.cursor.seq + 1, ctx.now
    steps = [*execution.steps, record][-MAX_RECORDED_STEPS:]
    visits = {**execution.visits, ctx.step.id: ctx.visit}
    update: dict[str, Any] = {"steps": [s.model_dump() for s in steps], "visits": visits}
    update["updated_at"] = now
    if effect.resume_at is not None:
        task = step_task(ctx.company_id, execution, seq, effect.resume_at, now)
        cursor = Cursor(step_id=effect.next, seq=seq, task_id=task.task_id, due_at=effect.resume_at)
        return {**update, "cursor": cursor.model_dump()}, [task.write], task.request
    if effect.exit or effect.next == END:
        status = ExecutionStatus.EXITED if effect.exit else ExecutionStatus.COMPLETED
        ended = finish_writes(
            execution, status, effect.outcome if effect.exit else "completed", now
        )
        return {**update, **ended[0].data}, ended[1:], None
    cursor = Cursor(step_id=effect.next, seq=seq, task_id=execution.cursor.task_id, due_at=now)
    return {**update, "cursor": cursor.model_dump()}, [], None
