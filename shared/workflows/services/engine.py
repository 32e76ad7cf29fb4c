"""Running enrolments: the ``workflow_step`` task handler.

A task runs the enrolment from its cursor: one step after another, each in its own
commit, until a wait (which commits the task for the step after it, due when the wait
ends), the end, an exit step or a reached goal. Nothing is held in memory between steps:
everything a step needs is read again from Firestore, and a task only runs the
enrolment while its cursor names that task, so a late or repeated delivery of an old
task does nothing.

Each step's commit holds the step's ledger entry
(``workflow_executions/{e}/ledger/{step}-{visit}``, create-only), its record on the
enrolment (guarded by the enrolment's update time), its writes and the next task. A
retried task resumes after the last committed step; a step whose effect went out but
whose commit was lost runs again with the same idempotency key, so its message is
deduplicated by the messaging layer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from msgspec import Struct

from shared.domain.company import Company, company_path
from shared.domain.leads import lead_path
from shared.domain.tasks import ScheduledTask
from shared.errors import DomainError, InvalidInput, Transient
from shared.ports import DocumentStore, Filter, Messenger, Snapshot, TaskQueue
from shared.services.once import retrying
from shared.services.task_handlers import TaskContext
from shared.workflows.domain.conditions import EngagementCondition
from shared.workflows.domain.definition import END, MAX_STEPS, Workflow, workflow_path
from shared.workflows.domain.runtime import (
    Execution,
    ExecutionStatus,
    execution_path,
    needs_interactions,
    reached_goal,
)
from shared.workflows.services.context import StepContext, StepEffect, Webhooks
from shared.workflows.services.enrolment import finish_writes, wake
from shared.workflows.services.record import Advance, commit_step, guarded
from shared.workflows.services.steps import perform

log = logging.getLogger("growthkit.workflows")

INTERACTION_LIMIT = 200


class EnrolmentRef(Struct, frozen=True):
    """An enrolment, and the task running it."""

    company_id: str
    execution_id: str
    lead_id: str
    workflow_id: str
    task_id: str


def workflow_step_task(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """Task ``workflow_step`` (data: ``execution_id``, ``lead_id``, ``workflow_id``):
    run the enrolment from its cursor. The composition root of webhook calls."""
    from shared.adapters.webhooks import HttpWebhooks
    from shared.settings import get_settings

    execution_id, lead_id, workflow_id = (
        str(task.data.get(k) or "") for k in ("execution_id", "lead_id", "workflow_id")
    )
    if not (execution_id and lead_id and workflow_id):
        raise InvalidInput("A workflow_step task needs execution_id, lead_id and workflow_id.")
    ref = EnrolmentRef(task.company_id, execution_id, lead_id, workflow_id, task.id)
    webhooks = HttpWebhooks(allow_loopback=get_settings().webhooks_allow_loopback)
    return run_enrolment(ctx.store, ctx.queue, ctx.messenger, webhooks, ctx.now, ref)


def run_enrolment(
    store: DocumentStore,
    queue: TaskQueue,
    messenger: Messenger,
    webhooks: Webhooks,
    now: datetime,
    ref: EnrolmentRef,
) -> dict[str, Any]:
    """Run an enrolment's steps from its cursor until it waits or ends.

    Args:
        store: The document store.
        queue: For the Cloud Task of the step after a wait.
        messenger: Sends the e-mail and SMS steps.
        webhooks: Calls the webhook steps.
        now: The time of this run.
        ref: The enrolment and the task running it.

    Returns:
        The steps run (``"step: outcome"``) and how the run ended.

    Raises:
        Transient: a step failed in a way worth retrying (the task is retried and resumes
            at that step), or the enrolment kept changing under this run.
    """
    ran: list[str] = []
    began = time.monotonic()

    def wall() -> datetime:
        """The run's time moved on by what it took so far: steps are timed truly (a
        webhook may take seconds) while waits count from the run's time."""
        return now + timedelta(seconds=time.monotonic() - began)

    # Validation forbids cycles without a wait, so a run passes each step at most once.
    for _ in range(MAX_STEPS + 2):
        advance = retrying(partial(_advance, store, messenger, webhooks, now, ref, wall))
        if advance.request is not None:
            wake(queue, advance.request)
        if advance.step is not None:
            ran.append(f"{advance.step}: {advance.outcome}")
        if advance.stop:
            log.info("enrolment %s ran %s, then %s", ref.execution_id, ran, advance.outcome)
            return {"execution_id": ref.execution_id, "steps": ran, "then": advance.outcome}
    raise RuntimeError(f"enrolment {ref.execution_id} ran more steps than it has")


def _advance(
    store: DocumentStore,
    messenger: Messenger,
    webhooks: Webhooks,
    now: datetime,
    ref: EnrolmentRef,
    wall: Callable[[], datetime],
) -> Advance:
    """One step: read everything afresh, check the enrolment may go on, run, commit."""
    snap, lead, company, live = store.get_all(
        [
            execution_path(ref.company_id, ref.execution_id),
            lead_path(ref.company_id, ref.lead_id),
            company_path(ref.company_id),
            workflow_path(ref.company_id, ref.workflow_id),
        ]
    )
    refusal = _not_runnable(snap, ref)
    if refusal is not None:
        return refusal
    execution = Execution.model_validate(snap.data)
    workflow = execution.workflow()
    interactions = _interactions(store, workflow, execution, now)
    ended = _ended(workflow, execution, lead, live, interactions, now)
    if ended is not None:
        status, reason = ended
        store.commit(guarded(finish_writes(execution, status, reason, now), snap))
        return Advance(reason, stop=True)
    assert execution.cursor is not None  # checked by _not_runnable
    step = workflow.step(execution.cursor.step_id)
    visit = execution.visits.get(step.id, 0) + 1
    # The company read through its model, so a renamed setting is caught, not read as None.
    company_model = Company.model_validate({**(company.data or {}), "id": ref.company_id})
    context = (execution, workflow, step, visit, lead, company_model, interactions)
    ctx = StepContext(store, messenger, webhooks, now, *context)
    started = wall()
    effect = _perform(ctx)
    return commit_step(store, snap, ctx, effect, (started, wall()))


def _not_runnable(snap: Snapshot, ref: EnrolmentRef) -> Advance | None:
    """Why this task may not run the enrolment (gone, ended, or owned by another task)."""
    if snap.data is None:
        return Advance("enrolment missing", stop=True)
    execution = Execution.model_validate(snap.data)
    if execution.status != ExecutionStatus.ACTIVE:
        return Advance(f"enrolment {execution.status.value}", stop=True)
    if execution.cursor is None or execution.cursor.task_id != ref.task_id:
        return Advance("superseded by a later task", stop=True)
    return None


def _ended(
    workflow: Workflow,
    execution: Execution,
    lead: Snapshot,
    live: Snapshot,
    interactions: list[dict[str, Any]],
    now: datetime,
) -> tuple[ExecutionStatus, str] | None:
    """Why the enrolment ends before its next step, or None to go on."""
    if execution.cursor is not None and execution.cursor.step_id == END:
        return ExecutionStatus.COMPLETED, "completed"
    if lead.data is None:
        return ExecutionStatus.EXITED, "lead deleted"
    if (live.data or {}).get("status") != "active":
        return ExecutionStatus.EXITED, "workflow inactive"
    goal = reached_goal(workflow.goals, lead.data, interactions, execution.started_at or now)
    if goal is not None:
        return ExecutionStatus.GOAL_REACHED, f"goal reached: {goal}"
    return None


def _interactions(
    store: DocumentStore, workflow: Workflow, execution: Execution, now: datetime
) -> list[dict[str, Any]]:
    """The lead's interactions touched since enrolment or within the longest engagement
    period a branch asks about (read only when a goal or branch needs them)."""
    if not needs_interactions(workflow):
        return []
    hours = [
        s.branch.condition.within_hours
        for s in workflow.steps
        if s.type == "branch" and isinstance(s.branch.condition, EngagementCondition)
    ]
    since = min([execution.started_at or now, now - timedelta(hours=max(hours, default=0))])
    snaps = store.query(
        f"companies/{execution.company_id}/leads/{execution.lead_id}/interactions",
        [Filter("updated_at", ">=", since)],
        limit=INTERACTION_LIMIT,
    )
    return [s.data for s in snaps if s.data is not None]


def _perform(ctx: StepContext) -> StepEffect:
    """Run the step; a permanent failure is recorded on it and the enrolment goes on."""
    try:
        return perform(ctx)
    except Transient:
        raise
    except DomainError as err:
        log.warning("step %s of %s failed: %s", ctx.step.id, ctx.execution.id, err.message)
        return StepEffect("failed", ctx.after, detail={"error": err.message})
