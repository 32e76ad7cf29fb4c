"""Lead scoring rules as a staff REST resource (``staff_api``): ``companies/{c}/scoring_rules``.

| resource | read | create, update | delete |
| --- | --- | --- | --- |
| scoring_rules | user | admin | admin |

A rule is checked as ``LeadScoringRule`` checks it (criteria and their operators, points
-100..100 and never 0, priority 0..1000, no fit rule on interactions), with each fault
named by its field path (``criteria.0.op``). What is stored is what the scoring services
read, plus the API's stamps; ``on_scoring_rule_written`` rebuilds the company's rules copy
after an API write as after a hand edit. Lists filter by ``category`` and ``active`` and
sort by ``created_at`` or ``priority``; a rule written by hand without ``id`` and
``created_at`` (and ``priority``) is not listed until it is saved through the API.
"""

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, StrictBool, StrictInt, field_validator

from shared.domain.identity import Role
from shared.errors import InvalidInput
from shared.scoring.domain.rules import (
    FIT_CATEGORIES,
    INTERACTION,
    Criterion,
    LeadScoringRule,
    RuleCategory,
)
from shared.staff_api.domain.edits import EditModel
from shared.staff_api.services import queries
from shared.staff_api.services.resources import ResourceSpec


class ScoringRuleFields(EditModel):
    """What admins write: ``LeadScoringRule`` without its id, numbers and flags strict
    (``"5"`` or ``true`` is not a number of points)."""

    name: str = Field(default="", min_length=1, max_length=100)
    category: RuleCategory = RuleCategory.DEMOGRAPHIC
    criteria: list[Criterion] = Field(default=[], min_length=1, max_length=10)
    points: StrictInt = Field(default=0, ge=-100, le=100)
    priority: StrictInt = Field(default=0, ge=0, le=1000)
    active: StrictBool = True
    repeatable: StrictBool = True

    @field_validator("points")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("points must not be 0")
        return value


class StoredScoringRule(LeadScoringRule):
    """A rule as stored through the API: the scoring model and who wrote it when."""

    model_config = ConfigDict(extra="allow", frozen=True)

    company_id: str | None = None
    created_at: datetime | None = None
    created_by: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None


def scoring_rule_check(merged: dict[str, Any]) -> None:
    """The rules across fields, each fault at its path: a fit rule (demographic,
    firmographic) scores lead fields, so no criterion of it may be on ``interaction.*``;
    the points of a whole rule are never 0."""
    faults: dict[str, str] = {}
    if merged.get("points") == 0:
        faults["points"] = "points must not be 0"
    category = merged.get("category")
    criteria = merged.get("criteria")
    if category in FIT_CATEGORIES and isinstance(criteria, list):
        for n, criterion in enumerate(criteria):
            field = criterion.get("field") if isinstance(criterion, dict) else None
            if isinstance(field, str) and field.startswith(INTERACTION):
                faults[f"criteria.{n}.field"] = (
                    f"{category} rules score lead fields, not interactions"
                )
    if faults:
        raise InvalidInput("The scoring_rules item would not be valid.", {"fields": faults})


SCORING_RULE_RESOURCES = (
    ResourceSpec(
        "scoring_rules",
        StoredScoringRule,
        {
            "created_at": ("time", queries.scoring_rules_by_created_at),
            "priority": ("number", queries.scoring_rules_by_priority),
        },
        ScoringRuleFields,
        filters={
            "category": tuple(c.value for c in RuleCategory),
            "active": ("true", "false"),
        },
        required=frozenset({"name", "category", "criteria", "points"}),
        read=Role.USER,
        write=Role.ADMIN,
        delete=Role.ADMIN,
        check=scoring_rule_check,
    ),
)
