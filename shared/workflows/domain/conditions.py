"""Workflow conditions, triggers and goals: what enrols a lead, what a branch asks,
what ends an enrolment early.

Conditions are a tagged union whose tags are spelt ``kind=...`` so that validation errors
can drop them from the path they report (``steps[2].branch.condition.kind``).
"""

from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Discriminator, Field, Tag, model_validator

from shared.domain.common import DeferredModel
from shared.domain.leads import LeadStatus
from shared.scoring.domain.fit import RuleOp

MAX_CONDITIONS = 20
StepId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")]


class Strict(DeferredModel):
    """Definitions are typed by staff: an unknown or misspelt key is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- conditions ----------------------------------------------------------------------


class FieldCondition(Strict):
    """A (dotted) lead field compared with a value, as scoring rules compare."""

    kind: Literal["field"] = "field"
    field: str = Field(min_length=1, max_length=200)
    op: RuleOp = "exists"
    value: Any = None


class ScoreCondition(Strict):
    kind: Literal["score"] = "score"
    of: Literal["score", "fit_score", "engagement_score"] = "score"
    op: Literal["==", "!=", ">", ">=", "<", "<="] = ">="
    value: int = Field(ge=-1000, le=1000)


class EngagementCondition(Strict):
    """Did (or did not) the lead open / click / reply within the last ``within_hours``;
    with ``step``: to the message that step of this enrolment sent, within
    ``within_hours`` of sending it."""

    kind: Literal["engagement"] = "engagement"
    event: Literal["opened", "clicked", "replied"]
    did: bool = True
    within_hours: float = Field(gt=0, le=24 * 90)
    step: StepId | None = None


def _condition_tag(value: Any) -> str:
    kind = value.get("kind", "field") if isinstance(value, dict) else getattr(value, "kind", "")
    return f"kind={kind}"


Condition = Annotated[
    Annotated[FieldCondition, Tag("kind=field")]
    | Annotated[ScoreCondition, Tag("kind=score")]
    | Annotated[EngagementCondition, Tag("kind=engagement")],
    Discriminator(
        _condition_tag,
        custom_error_type="unknown_condition",
        custom_error_message="unknown condition kind; expected field, score or engagement",
    ),
]


def _lead_condition_tag(value: Any) -> str:
    tag = _condition_tag(value)
    return tag if tag in ("kind=field", "kind=score") else "kind=not-on-the-lead"


# Triggers and goals look at the lead alone: engagement conditions belong in branches.
LeadCondition = Annotated[
    Annotated[FieldCondition, Tag("kind=field")] | Annotated[ScoreCondition, Tag("kind=score")],
    Discriminator(
        _lead_condition_tag,
        custom_error_type="unknown_condition",
        custom_error_message="unknown condition kind here; expected field or score",
    ),
]


# --- triggers and goals --------------------------------------------------------------


class TriggerType(StrEnum):
    LEAD_CREATED = "lead_created"
    STATUS_CHANGED = "status_changed"
    TAG_ADDED = "tag_added"
    FORM_SUBMITTED = "form_submitted"
    SCORE_REACHED = "score_reached"
    MANUAL = "manual"
    SCHEDULE = "schedule"


class WorkflowTrigger(Strict):
    """What enrols a lead; ``conditions`` must all hold on the lead as well."""

    type: TriggerType
    status: LeadStatus | None = None  # status_changed: to this status (None: any change)
    tag: str | None = Field(default=None, min_length=1, max_length=100)
    form_id: str | None = Field(default=None, max_length=100)  # form_submitted: None = any
    score: int | None = Field(default=None, ge=1, le=1000)  # score_reached
    cron: str | None = Field(default=None, max_length=100)  # schedule
    time_zone: str = "UTC"
    conditions: list[LeadCondition] = Field(default=[], max_length=MAX_CONDITIONS)

    @model_validator(mode="after")
    def _parameters(self) -> Self:
        if self.type == TriggerType.TAG_ADDED and not self.tag:
            raise ValueError("a tag_added trigger needs a tag")
        if self.type == TriggerType.SCORE_REACHED and self.score is None:
            raise ValueError("a score_reached trigger needs a score")
        if self.type == TriggerType.SCHEDULE and not self.cron:
            raise ValueError("a schedule trigger needs a cron expression")
        return self


class Goal(Strict):
    """Reaching a goal ends the enrolment early: the lead replied, converted, or a
    condition on the lead holds."""

    kind: Literal["replied", "converted", "condition"]
    condition: LeadCondition | None = None

    @model_validator(mode="after")
    def _needs_condition(self) -> Self:
        if (self.kind == "condition") != (self.condition is not None):
            raise ValueError("a condition goal needs a condition, and only it takes one")
        return self
