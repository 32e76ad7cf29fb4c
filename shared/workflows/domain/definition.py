"""Workflow definitions: a trigger with conditions, ordered steps, goals.

A workflow lives at ``companies/{c}/workflows/{id}``. Steps run in list order unless a
step names its ``next`` one or is a branch (``then`` / ``else``); ``"end"`` as a target
ends the enrolment. Conditions and steps are tagged unions: the tags are spelt
``kind=...`` / ``type=...`` so that validation errors can drop them from the path they
report (``steps[3].branch.else``, not ``steps.3.type=branch.branch.else``).
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Discriminator, Field, Tag, model_validator

from shared.domain.common import ONE_LINE, DeferredModel, as_utc
from shared.domain.leads import LeadStatus
from shared.workflows.domain.conditions import (
    MAX_CONDITIONS,
    Condition,
    Goal,
    StepId,
    Strict,
    TriggerType,
    WorkflowTrigger,
)

# Workflows are written at this schema (shared.migrations: 4 added next_fire_at).
SCHEMA_VERSION = 4
END = "end"
MAX_STEPS = 50
Text = Annotated[str, Field(min_length=1, max_length=500), ONE_LINE]


# --- steps ---------------------------------------------------------------------------


class StepBase(Strict):
    id: StepId
    name: str = Field(default="", max_length=200)
    next: StepId | None = None  # default: the following step


class SendEmail(StepBase):
    """``subject`` and ``body`` may use ``{first_name}``, ``{name}``, ``{company}`` or any
    dotted lead field, e.g. ``{custom_fields.budget}``."""

    type: Literal["send_email"] = "send_email"
    subject: Text
    body: str = Field(min_length=1, max_length=20_000)


class SendSms(StepBase):
    type: Literal["send_sms"] = "send_sms"
    body: str = Field(min_length=1, max_length=1600)


class Duration(Strict):
    days: float = Field(default=0, ge=0)
    hours: float = Field(default=0, ge=0)
    minutes: float = Field(default=0, ge=0)
    seconds: float = Field(default=0, ge=0)

    @property
    def total_seconds(self) -> float:
        return ((self.days * 24 + self.hours) * 60 + self.minutes) * 60 + self.seconds

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if not 0 < self.total_seconds <= 366 * 86400:
            raise ValueError("a duration must be more than 0 and at most a year")
        return self


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = Weekday.__args__  # type: ignore[attr-defined]


class Wait(StepBase):
    """Exactly one of: a ``duration``; ``until`` a moment; the next ``weekday`` at
    ``at`` (HH:MM, default 09:00) in the lead's time zone."""

    type: Literal["wait"] = "wait"
    duration: Duration | None = None
    until: datetime | None = None
    weekday: Weekday | None = None
    at: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        given = [x is not None for x in (self.duration, self.until, self.weekday)]
        if sum(given) != 1:
            raise ValueError("a wait needs exactly one of duration, until or weekday")
        if self.until is not None and self.until.tzinfo is None:
            raise ValueError("until needs a time zone (e.g. 2026-12-01T09:00:00Z)")
        return self


class BranchSpec(Strict):
    condition: Condition
    then: StepId
    else_: StepId = Field(alias="else")


class Branch(StepBase):
    type: Literal["branch"] = "branch"
    branch: BranchSpec


class UpdateStatus(StepBase):
    type: Literal["update_status"] = "update_status"
    status: LeadStatus


class AddTag(StepBase):
    type: Literal["add_tag"] = "add_tag"
    tag: str = Field(min_length=1, max_length=100)


class RemoveTag(StepBase):
    type: Literal["remove_tag"] = "remove_tag"
    tag: str = Field(min_length=1, max_length=100)


class Assign(StepBase):
    """To one user, or round robin among a team (``companies/{c}/teams/{team_id}``)."""

    type: Literal["assign"] = "assign"
    user_id: str | None = Field(default=None, min_length=1, max_length=128)
    team_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,100}$")

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.user_id is None) == (self.team_id is None):
            raise ValueError("assign needs exactly one of user_id or team_id")
        return self


class AdjustScore(StepBase):
    type: Literal["adjust_score"] = "adjust_score"
    points: int = Field(ge=-100, le=100)


class CreateTask(StepBase):
    """A to-do for staff at ``companies/{c}/staff_tasks``; assigned to the lead's
    assignee unless ``assignee`` names a user."""

    type: Literal["create_task"] = "create_task"
    title: Text
    description: str = Field(default="", max_length=5000)
    due_in_hours: float | None = Field(default=None, gt=0, le=24 * 366)
    assignee: str | None = Field(default=None, max_length=128)


class Webhook(StepBase):
    type: Literal["webhook"] = "webhook"
    url: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$", max_length=2000)
    timeout_seconds: float = Field(default=10, gt=0, le=30)


class Exit(StepBase):
    type: Literal["exit"] = "exit"


STEP_TYPES: dict[str, type[StepBase]] = {
    cls.model_fields["type"].default: cls
    for cls in (
        SendEmail,
        SendSms,
        Wait,
        Branch,
        UpdateStatus,
        AddTag,
        RemoveTag,
        Assign,
        AdjustScore,
        CreateTask,
        Webhook,
        Exit,
    )
}


def _step_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return f"type={kind}"


Step = Annotated[
    Annotated[SendEmail, Tag("type=send_email")]
    | Annotated[SendSms, Tag("type=send_sms")]
    | Annotated[Wait, Tag("type=wait")]
    | Annotated[Branch, Tag("type=branch")]
    | Annotated[UpdateStatus, Tag("type=update_status")]
    | Annotated[AddTag, Tag("type=add_tag")]
    | Annotated[RemoveTag, Tag("type=remove_tag")]
    | Annotated[Assign, Tag("type=assign")]
    | Annotated[AdjustScore, Tag("type=adjust_score")]
    | Annotated[CreateTask, Tag("type=create_task")]
    | Annotated[Webhook, Tag("type=webhook")]
    | Annotated[Exit, Tag("type=exit")],
    Discriminator(
        _step_tag,
        custom_error_type="unknown_step_type",
        custom_error_message="unknown step type; expected one of " + ", ".join(STEP_TYPES),
    ),
]


# --- the workflow --------------------------------------------------------------------


class WorkflowStatus(StrEnum):
    ACTIVE = "active"  # enrols leads
    INACTIVE = "inactive"  # enrols nobody; running enrolments exit at their next step


class WorkflowDefinition(Strict):
    """What staff send to create or update a workflow."""

    name: Text
    status: WorkflowStatus = WorkflowStatus.ACTIVE
    trigger: WorkflowTrigger
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)
    goals: list[Goal] = Field(default=[], max_length=MAX_CONDITIONS)
    allow_reenrolment: bool = False


class Workflow(WorkflowDefinition):
    """A stored workflow: the definition plus bookkeeping."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    id: str
    company_id: str
    version: int = 1
    created_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    schedule_fired_at: datetime | None = None
    # A schedule trigger's next cron time: the every-minute run queries only those due.
    next_fire_at: datetime | None = None
    schema_version: int = SCHEMA_VERSION

    @model_validator(mode="before")
    @classmethod
    def _read_as_current(cls, data: Any) -> Any:
        """A workflow stored before schema 4 reads as migration 4 leaves it."""
        if isinstance(data, dict) and _version(data) < SCHEMA_VERSION:
            return {**data, **schedule_fields(data), "schema_version": SCHEMA_VERSION}
        return data

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


def _version(data: dict[str, Any]) -> int:
    version = data.get("schema_version", 1)
    return version if isinstance(version, int) else 1


def schedule_fields(data: dict[str, Any]) -> dict[str, Any]:
    """``next_fire_at`` of a stored workflow (its cron's first time after it was created
    or last fired); nothing for a workflow whose trigger is not a readable schedule."""
    from shared.workflows.domain.triggers import next_fire  # it imports this module

    try:
        trigger = WorkflowTrigger.model_validate(data.get("trigger"))
    except ValueError:
        return {}
    since = [t for t in (data.get("created_at"), data.get("schedule_fired_at")) if t]
    if trigger.type != TriggerType.SCHEDULE or not since:
        return {}
    return {"next_fire_at": next_fire(trigger, max(as_utc(t) for t in since))}


def workflow_path(company_id: str, workflow_id: str) -> str:
    return f"companies/{company_id}/workflows/{workflow_id}"


def workflows_collection(company_id: str) -> str:
    return f"companies/{company_id}/workflows"


class WorkflowRequest(DeferredModel):
    """A POST to the ``workflows`` function: create or update (with ``workflow``, the
    definition) or enrol a lead by hand."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["create", "update", "enrol"] = "create"
    company_id: str | None = Field(default=None, max_length=200)
    id: StepId | None = None  # the workflow (create: optional, update and enrol: required)
    workflow: dict[str, Any] | None = None
    expected_version: int | None = Field(default=None, ge=1)
    lead_id: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^/]+$")

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.action in ("create", "update") and self.workflow is None:
            raise ValueError(f"{self.action} needs the workflow definition in 'workflow'")
        if self.action in ("update", "enrol") and self.id is None:
            raise ValueError(f"{self.action} needs the workflow's 'id'")
        if self.action == "enrol" and self.lead_id is None:
            raise ValueError("enrol needs a 'lead_id'")
        return self
