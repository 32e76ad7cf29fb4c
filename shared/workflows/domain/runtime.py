"""Workflow enrolments as they run: the stored execution, and the pure rules that move it.

An enrolment is stored at ``companies/{c}/workflow_executions/{enrolment id}`` with a copy
of the workflow it started with (edits do not change enrolments under way), a cursor (the
step to run next and the task that owns it), and a record per step run. Its id is derived
from the workflow and the lead, and from the run number on re-enrolment.
"""

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from shared.campaigns.domain.compliance import zone_of
from shared.campaigns.domain.tracking import Spans
from shared.domain.common import DeferredModel, StoredModel, as_utc, stable_id
from shared.domain.leads import greeting_name
from shared.scoring.domain.fit import condition_holds, field_value
from shared.workflows.domain.conditions import (
    Condition,
    EngagementCondition,
    FieldCondition,
    Goal,
    ScoreCondition,
)
from shared.workflows.domain.definition import END, WEEKDAYS, Branch, Exit, Step, Wait, Workflow

MAX_RECORDED_STEPS = 200  # a looping enrolment keeps its latest step runs only
_ENGAGED = {
    "opened": {"opened", "clicked", "replied"},
    "clicked": {"clicked"},
    "replied": {"replied"},
}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)\}")


class ExecutionStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"  # ran off the end
    EXITED = "exited"  # an exit step, an inactive workflow or a deleted lead
    GOAL_REACHED = "goal_reached"
    FAILED = "failed"


class StepRun(DeferredModel):
    """One step's run: when it started and ended, what came of it, where it went."""

    seq: int
    step_id: str
    type: str
    visit: int = 1
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str = ""
    error: str | None = None
    next: str | None = None


class Cursor(DeferredModel):
    """The step to run next, and the one task allowed to run it (an older task of the
    same enrolment, delivered late, finds it is not the owner and does nothing)."""

    step_id: str
    seq: int
    task_id: str
    due_at: datetime


class Execution(StoredModel):
    id: str
    company_id: str
    workflow_id: str
    workflow_version: int = 1
    lead_id: str
    run: int = 1
    status: ExecutionStatus = ExecutionStatus.ACTIVE
    enrolled_by: str = ""
    cause: str = ""
    definition: dict[str, Any] = {}
    cursor: Cursor | None = None
    visits: dict[str, int] = {}
    steps: list[StepRun] = []
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_reason: str | None = None

    def workflow(self) -> Workflow:
        return Workflow.model_validate(self.definition)


def enrolment_id(workflow_id: str, lead_id: str, run: int = 1) -> str:
    """Run 1 is the workflow and lead alone: a lead is enrolled once unless re-enrolled."""
    return (
        stable_id(workflow_id, lead_id) if run == 1 else stable_id(workflow_id, lead_id, str(run))
    )


def execution_path(company_id: str, execution_id: str) -> str:
    return f"companies/{company_id}/workflow_executions/{execution_id}"


def registry_path(company_id: str, workflow_id: str, lead_id: str) -> str:
    """One document per workflow and lead: how many runs, and whether one is active."""
    return f"companies/{company_id}/workflow_enrolments/{stable_id(workflow_id, lead_id)}"


def ledger_path(company_id: str, execution_id: str, step_id: str, visit: int) -> str:
    """The step ledger: created in the commit that records the step's outcome."""
    return f"{execution_path(company_id, execution_id)}/ledger/{step_id}-{visit}"


def step_task_key(company_id: str, execution_id: str, seq: int) -> str:
    return f"workflow_step:{company_id}:{execution_id}:{seq}"


def message_key(company_id: str, execution_id: str, step_id: str, visit: int) -> str:
    """The idempotency key of a step's message: the outbox and SMTP dedupe on it."""
    return f"workflow:{company_id}:{execution_id}:{step_id}:{visit}"


def following(workflow: Workflow, step: Step) -> str:
    """Where a step (other than a branch) leads: its ``next``, the next one, or the end."""
    if isinstance(step, Exit):
        return END
    if step.next is not None:
        return step.next
    ids = [s.id for s in workflow.steps]
    position = ids.index(step.id)
    return ids[position + 1] if position + 1 < len(ids) else END


def time_zone(lead: dict[str, Any], default: str = "UTC") -> ZoneInfo:
    """The lead's time zone (``timezone``, ``time_zone``, or either among its custom
    fields), else ``default``; an unknown name falls back rather than stopping the
    workflow. The same clock as SMS quiet hours (``shared.campaigns.domain.compliance.zone_of``)."""
    return zone_of(lead, default)


def wait_until(step: Wait, now: datetime, zone: ZoneInfo) -> datetime:
    """When a wait ends: after the duration, at ``until`` (now if past), or at the next
    ``weekday`` and ``at`` on the lead's wall clock (a week on if that is now or past)."""
    if step.duration is not None:
        return now + timedelta(seconds=step.duration.total_seconds)
    if step.until is not None:
        return max(as_utc(step.until), now)
    local = now.astimezone(zone)
    hour, minute = (int(part) for part in step.at.split(":"))
    days = (WEEKDAYS.index(step.weekday or "monday") - local.weekday()) % 7
    day = (local + timedelta(days=days)).date()
    target = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
    if target <= local:
        target = datetime.combine(day + timedelta(days=7), target.timetz())
    return target.astimezone(UTC)


def _when(interaction: dict[str, Any]) -> datetime | None:
    at = interaction.get("updated_at") or interaction.get("created_at")
    return as_utc(at) if isinstance(at, datetime) else None


def engaged(
    condition: EngagementCondition,
    interactions: Iterable[dict[str, Any]],
    now: datetime,
    execution_id: str | None = None,
) -> bool:
    """Whether the condition's engagement happened: within the last ``within_hours``, or
    (with ``step``) on the message that step of this enrolment sent, within
    ``within_hours`` of sending it."""
    period = timedelta(hours=condition.within_hours)
    for item in interactions:
        meta, when = item.get("metadata") or {}, _when(item)
        if item.get("status") not in _ENGAGED[condition.event] or when is None:
            continue
        if condition.step is None:
            if when >= now - period:
                return condition.did
            continue
        sent = item.get("created_at")
        mine = (meta.get("execution_id"), meta.get("step_id")) == (execution_id, condition.step)
        if mine and isinstance(sent, datetime) and when - as_utc(sent) <= period:
            return condition.did
    return not condition.did


def holds(
    condition: Condition | FieldCondition | ScoreCondition,
    lead: dict[str, Any],
    interactions: Iterable[dict[str, Any]],
    now: datetime,
    execution_id: str | None = None,
) -> bool:
    if isinstance(condition, EngagementCondition):
        return engaged(condition, interactions, now, execution_id)
    if isinstance(condition, ScoreCondition):
        return condition_holds(lead, condition.of, condition.op, condition.value)
    return condition_holds(lead, condition.field, condition.op, condition.value)


def needs_interactions(workflow: Workflow) -> bool:
    """Whether running it needs the lead's interactions (reply goals, engagement)."""
    if any(goal.kind == "replied" for goal in workflow.goals):
        return True
    return any(
        isinstance(s, Branch) and isinstance(s.branch.condition, EngagementCondition)
        for s in workflow.steps
    )


def reached_goal(
    goals: Iterable[Goal],
    lead: dict[str, Any],
    interactions: Iterable[dict[str, Any]],
    since: datetime,
) -> str | None:
    """The first goal the lead has reached since enrolment (``since``), or None."""
    items = list(interactions)
    for goal in goals:
        if goal.kind == "converted" and lead.get("status") == "converted":
            return "converted"
        if goal.kind == "replied" and any(
            i.get("status") == "replied" and (_when(i) or since) >= since for i in items
        ):
            return "replied"
        if goal.kind == "condition" and goal.condition and holds(goal.condition, lead, [], since):
            return "condition"
    return None


def render(template: str, lead: dict[str, Any], company_name: str) -> str:
    """Fill ``{first_name}``, ``{name}``, ``{company}`` and dotted lead fields; a
    missing name reads "there" (``Hi {first_name}`` -> ``Hi there``), other gaps blank."""
    return render_spans(template, lead, company_name)[0]


def render_spans(template: str, lead: dict[str, Any], company_name: str) -> tuple[str, Spans]:
    """``render``, and the spans of the result that were filled in (not written by
    staff: only the template's own links are tracked, ``shared.campaigns.domain.tracking``)."""
    name = str(lead.get("name") or "").strip()
    first = greeting_name(lead.get("first_name"), name)
    known = {"name": name or "there", "first_name": first or "there"}
    known["company"] = company_name
    parts: list[str] = []
    spans, size, last = [], 0, 0
    for match in _PLACEHOLDER.finditer(template):
        value = known.get(match.group(1), field_value(lead, match.group(1)))
        text = "" if value is None else str(value)
        literal = template[last : match.start()]
        parts += [literal, text]
        spans.append((size + len(literal), size + len(literal) + len(text)))
        size, last = size + len(literal) + len(text), match.end()
    parts.append(template[last:])
    return "".join(parts), tuple(spans)
