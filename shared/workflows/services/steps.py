"""What each workflow step does, as an effect the engine commits with the step's record.

Steps that change the lead (status, tags, assignee, score) or add documents (a staff task,
a round-robin turn) return writes; the engine commits them with the step's ledger entry
and the enrolment's new cursor, so each happens exactly once. Messages and webhooks are in
``workflows_outbound``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from shared.domain.common import stable_id
from shared.errors import InvalidInput
from shared.ports import Write
from shared.scoring.domain.fit import scoring_config_path
from shared.scoring.services.engagement import adjust_writes
from shared.scoring.services.on_lead import scoring_config
from shared.workflows.domain.definition import (
    END,
    AddTag,
    AdjustScore,
    Assign,
    Branch,
    CreateTask,
    RemoveTag,
    Step,
    UpdateStatus,
    Wait,
)
from shared.workflows.domain.runtime import holds, render, time_zone, wait_until
from shared.workflows.services.context import StepContext, StepEffect
from shared.workflows.services.outbound import call_webhook, send


def _wait(ctx: StepContext, step: Wait) -> StepEffect:
    """Waits end on the lead's wall clock: its own time zone, else the company's."""
    default = ctx.company.settings.time_zone or "UTC"
    until = wait_until(step, ctx.now, time_zone(ctx.lead_data, default))
    return StepEffect(f"waiting until {until.isoformat()}", ctx.after, resume_at=until)


def _branch(ctx: StepContext, step: Branch) -> StepEffect:
    condition = step.branch.condition
    taken = holds(condition, ctx.lead_data, ctx.interactions, ctx.now, ctx.execution.id)
    return StepEffect("then" if taken else "else", step.branch.then if taken else step.branch.else_)


def _status(ctx: StepContext, step: UpdateStatus) -> StepEffect:
    status = step.status.value
    if ctx.lead_data.get("status") == status:
        return StepEffect(f"already {status}", ctx.after)
    return StepEffect(f"status {status}", ctx.after, [ctx.lead_update({"status": status})])


def _tags(ctx: StepContext, step: AddTag | RemoveTag) -> StepEffect:
    tags = [t for t in ctx.lead_data.get("tags") or [] if isinstance(t, str)]
    adding = isinstance(step, AddTag)
    if (step.tag in tags) == adding:
        return StepEffect(f"tag {step.tag!r} already {'on' if adding else 'off'}", ctx.after)
    changed = [*tags, step.tag] if adding else [t for t in tags if t != step.tag]
    outcome = f"tag {step.tag!r} {'added' if adding else 'removed'}"
    return StepEffect(outcome, ctx.after, [ctx.lead_update({"tags": changed})])


def _assign(ctx: StepContext, step: Assign) -> StepEffect:
    if step.user_id is not None:
        update = ctx.lead_update({"assigned_to": step.user_id})
        return StepEffect(f"assigned to {step.user_id}", ctx.after, [update])
    base = f"companies/{ctx.company_id}"
    team, counter = ctx.store.get_all(
        [f"{base}/teams/{step.team_id}", f"{base}/assignment_counters/{step.team_id}"]
    )
    members = [m for m in (team.data or {}).get("members") or [] if isinstance(m, str) and m]
    if not members:
        raise InvalidInput(f"Team {step.team_id!r} has no members to assign to.")
    turn = int((counter.data or {}).get("next", 0))
    user = members[turn % len(members)]
    # The counter is guarded like the lead: two enrolments taking the same turn at once
    # fail one commit, and its retry takes the next turn.
    fields = {"next": turn + 1, "team_id": step.team_id, "updated_at": ctx.now}
    bump = Write(counter.path, fields, "set", counter.update_time)
    if not counter.exists:
        bump = Write(counter.path, fields, "create")
    writes = [ctx.lead_update({"assigned_to": user}), bump]
    return StepEffect(f"assigned to {user} (round robin)", ctx.after, writes)


def _score(ctx: StepContext, step: AdjustScore) -> StepEffect:
    config = scoring_config(ctx.store.get_all([scoring_config_path(ctx.company_id)])[0])
    writes = adjust_writes(
        ctx.company_id,
        ctx.lead,
        config,
        points=step.points,
        rule_id=f"workflow:{ctx.execution.workflow_id}:{step.id}",
        name=step.name or f"workflow step {step.id}",
        cause=ctx.key,
        now=ctx.now,
    )
    return StepEffect(f"score {step.points:+d}", ctx.after, writes)


def _task(ctx: StepContext, step: CreateTask) -> StepEffect:
    """A staff to-do; its id derives from the step's key, so a replay rewrites it."""
    task_id = stable_id("workflow-task", ctx.key)
    data = {
        "id": task_id,
        "title": render(step.title, ctx.lead_data, ctx.company_name),
        "description": render(step.description, ctx.lead_data, ctx.company_name),
        "lead_id": ctx.execution.lead_id,
        "assignee": step.assignee or ctx.lead_data.get("assigned_to"),
        "status": "open",
        "due_at": ctx.now + timedelta(hours=step.due_in_hours) if step.due_in_hours else None,
        "source": {
            "workflow_id": ctx.execution.workflow_id,
            "execution_id": ctx.execution.id,
            "step_id": step.id,
        },
        "created_at": ctx.now,
        "updated_at": ctx.now,
    }
    write = Write(f"companies/{ctx.company_id}/staff_tasks/{task_id}", data, "set")
    return StepEffect("task created", ctx.after, [write], detail={"task_id": task_id})


def _exit(_ctx: StepContext, step: Step) -> StepEffect:
    return StepEffect(f"exited at {step.id}", END, exit=True)


_PERFORM: dict[str, Callable[[StepContext, Any], StepEffect]] = {
    "send_email": send,
    "send_sms": send,
    "wait": _wait,
    "branch": _branch,
    "update_status": _status,
    "add_tag": _tags,
    "remove_tag": _tags,
    "assign": _assign,
    "adjust_score": _score,
    "create_task": _task,
    "webhook": call_webhook,
    "exit": _exit,
}


def perform(ctx: StepContext) -> StepEffect:
    """Run the context's step: outside effects now, writes returned for the commit."""
    return _PERFORM[ctx.step.type](ctx, ctx.step)
