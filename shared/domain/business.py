"""Business development: profiles of the businesses a company works on, their audits and
their growth strategies with milestones.

A company may keep several profiles (its own business, or the client businesses it
advises); audits and strategies name the profile they belong to. A strategy's milestones
live inside it (at most ``MAX_MILESTONES``): they are read, changed and deleted with it, so
a strategy and its milestones can never disagree. Each model pair follows the staff API:
``*Fields`` is what staff may write, the other how the document reads back.
"""

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from shared.domain.common import ShortText, StoredModel, random_id
from shared.staff_api.domain.edits import DocId, EditModel

MAX_MILESTONES = 50
MAX_LIST_ITEMS = 20
Item = Annotated[str, Field(min_length=1, max_length=1000)]
Score = Annotated[float, Field(ge=0, le=10)]
Money = Annotated[float, Field(ge=0, le=1e12)]


def _real_date(value: str) -> str:
    date.fromisoformat(value)  # ValueError for 2025-02-30
    return value


# Calendar dates are stored as ISO strings: Firestore has timestamps, not dates, and a
# date is the same day wherever it is read.
IsoDate = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(_real_date)]


class BusinessStage(StrEnum):
    IDEA = "idea"
    STARTUP = "startup"
    GROWING = "growing"
    ESTABLISHED = "established"


class ProfileFields(EditModel):
    business_name: str = Field(default="", min_length=1, max_length=200)
    industry: ShortText | None = None
    stage: BusinessStage = BusinessStage.IDEA
    annual_revenue: Money | None = None
    target_revenue: Money | None = None
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    business_model: str | None = Field(default=None, max_length=2000)
    main_challenges: list[Item] = Field(default=[], max_length=MAX_LIST_ITEMS)


class BusinessProfile(StoredModel, ProfileFields):
    model_config = ConfigDict(extra="allow")

    id: str
    company_id: str


class AuditFields(EditModel):
    business_profile_id: DocId = "x"  # create only, required
    audit_date: IsoDate = "2000-01-01"  # required on create
    overall_score: Score = 0
    operations_score: Score = 0
    marketing_score: Score = 0
    finance_score: Score = 0
    technology_score: Score = 0
    summary: str | None = Field(default=None, max_length=5000)
    recommendations: list[Item] = Field(default=[], max_length=MAX_LIST_ITEMS)


class BusinessAudit(StoredModel, AuditFields):
    model_config = ConfigDict(extra="allow")

    id: str
    company_id: str


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class StrategyStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    COMPLETED = "completed"
    PAUSED = "paused"


class MilestoneStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class Milestone(EditModel):
    """One step of a strategy; ``id`` is given on creation when the client sends none."""

    id: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")] | None = (
        None
    )
    title: str = Field(min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=2000)
    target_date: IsoDate | None = None
    completed_date: IsoDate | None = None
    status: MilestoneStatus = MilestoneStatus.PENDING

    @model_validator(mode="after")
    def _completion(self) -> Self:
        if self.completed_date is not None and self.status is not MilestoneStatus.COMPLETED:
            raise ValueError("only a completed milestone has a completed_date")
        return self


class StrategyFields(EditModel):
    business_profile_id: DocId = "x"  # create only, required
    name: str = Field(default="", min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    target_timeline: str | None = Field(default=None, max_length=200)
    target_date: IsoDate | None = None
    priority: Priority = Priority.MEDIUM
    status: StrategyStatus = StrategyStatus.DRAFT
    expected_impact: str | None = Field(default=None, max_length=2000)
    resources: list[Item] = Field(default=[], max_length=MAX_LIST_ITEMS)
    milestones: list[Milestone] = Field(default=[], max_length=MAX_MILESTONES)


class GrowthStrategy(StoredModel, StrategyFields):
    model_config = ConfigDict(extra="allow")

    id: str
    company_id: str


def stored_milestones(milestones: list[Any], today: str) -> list[dict[str, Any]]:
    """Milestones as stored: each with an id (new ones get one), and a completed one dated
    ``today`` unless it says when it was completed.

    Raises:
        ValueError: Two milestones share an id.
    """
    out: list[dict[str, Any]] = []
    for raw in milestones:
        item = dict(raw.model_dump() if isinstance(raw, Milestone) else raw)
        item["id"] = item.get("id") or random_id(12)
        if item.get("status") == MilestoneStatus.COMPLETED.value and not item.get("completed_date"):
            item["completed_date"] = today
        out.append(item)
    ids = [m["id"] for m in out]
    if len(set(ids)) != len(ids):
        raise ValueError("milestone ids must be unique")
    return out


def milestone_progress(milestones: list[dict[str, Any]]) -> float:
    """The share of milestones completed, 0..1 (0 without milestones)."""
    if not milestones:
        return 0.0
    done = sum(1 for m in milestones if m.get("status") == MilestoneStatus.COMPLETED.value)
    return round(done / len(milestones), 3)
