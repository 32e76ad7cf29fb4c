"""Lead scoring rules per company: the points a lead's data and interactions earn.

Rules live at ``companies/{c}/scoring_rules/{id}``. Demographic and firmographic rules
make the *fit* score, behavioural and engagement rules the *engagement* score. A rule
whose criteria are all on lead fields is a *state* rule: its points count while the lead
matches (repeatable) or from the first time it matched (first-time-only). A rule with a
criterion on ``interaction.*`` is an *event* rule: each matching interaction awards its
points (repeatable) or only the first one does. Event points (and workflow adjustments)
accumulate in ``engagement_points``, which may decay over time.

Each lead carries a score sheet (``shared.scoring.domain.sheet``); the functions here
turn rules and events into the changes of that sheet, rule by rule.
"""

from enum import StrEnum
from typing import Any, Self

from pydantic import ConfigDict, Field, model_validator

from shared.domain.common import DeferredModel
from shared.scoring.domain.fit import DERIVED_FIELDS, RuleOp, ScoringConfig, condition_holds
from shared.scoring.domain.sheet import Bucket, Delta, ScoreSheet

INTERACTION = "interaction."


class RuleCategory(StrEnum):
    DEMOGRAPHIC = "demographic"
    FIRMOGRAPHIC = "firmographic"
    BEHAVIOURAL = "behavioural"
    ENGAGEMENT = "engagement"


FIT_CATEGORIES = frozenset({RuleCategory.DEMOGRAPHIC, RuleCategory.FIRMOGRAPHIC})


class Criterion(DeferredModel):
    """``{"field": "interaction.status", "op": "==", "value": "opened"}``; fields without
    the ``interaction.`` prefix are (dotted) lead fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(min_length=1, max_length=200)
    op: RuleOp = "exists"
    value: Any = None


class LeadScoringRule(DeferredModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = ""
    name: str = Field(min_length=1, max_length=100)
    category: RuleCategory
    criteria: list[Criterion] = Field(min_length=1, max_length=10)
    points: int = Field(ge=-100, le=100)
    priority: int = Field(default=0, ge=0, le=1000)  # higher first, in history too
    active: bool = True
    repeatable: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.points == 0:
            raise ValueError("points must not be 0")
        if self.category in FIT_CATEGORIES and self.on_interactions:
            raise ValueError(f"{self.category.value} rules score lead fields, not interactions")
        return self

    @property
    def on_interactions(self) -> bool:
        return any(c.field.startswith(INTERACTION) for c in self.criteria)

    @property
    def bucket(self) -> Bucket:
        return "fit" if self.category in FIT_CATEGORIES else "engagement"


def legacy_rules(config: ScoringConfig) -> list[LeadScoringRule]:
    """The single-document rules (``config/scoring`` or the defaults) as fit rules, for
    companies that have no ``scoring_rules`` yet."""
    return [
        LeadScoringRule(
            id=f"config:{rule.label}",
            name=rule.label,
            category=RuleCategory.DEMOGRAPHIC,
            criteria=[Criterion(field=rule.field, op=rule.op, value=rule.value)],
            points=rule.points,
            priority=len(config.rules) - position,
        )
        for position, rule in enumerate(config.rules)
    ]


def ordered(rules: list[LeadScoringRule]) -> list[LeadScoringRule]:
    return sorted((r for r in rules if r.active), key=lambda r: (-r.priority, r.id))


def rule_matches(
    rule: LeadScoringRule, lead: dict[str, Any], interaction: dict[str, Any] | None = None
) -> bool:
    """All criteria hold; the lead's own score fields are never seen (they could not
    settle), and an interaction criterion never holds without an interaction."""
    data = {k: v for k, v in lead.items() if k not in DERIVED_FIELDS}
    if interaction is not None:
        data["interaction"] = interaction
    elif rule.on_interactions:
        return False
    return all(condition_holds(data, c.field, c.op, c.value) for c in rule.criteria)


def state_deltas(
    rules: list[LeadScoringRule], lead: dict[str, Any]
) -> list[tuple[Delta, ScoreSheet]]:
    """The state rules' changes for the lead as it is now, each with the sheet after it:
    newly matching rules award, repeatable rules no longer matching (or gone) withdraw,
    edited points are corrected."""
    sheet = ScoreSheet.of(lead)
    changes: list[tuple[Delta, str | None, bool]] = []
    active = {r.id: r for r in ordered(rules) if not r.on_interactions}
    for rule in active.values():
        applied = int(sheet.state.get(rule.id, {}).get("points", 0))
        matching = rule_matches(rule, lead)
        if not rule.repeatable:
            if matching and rule.id not in sheet.once:
                changes.append((_delta(rule, rule.points, "matched"), rule.id, True))
            continue
        if matching and applied != rule.points:
            reason = "matched" if not applied else "points changed"
            changes.append((_delta(rule, rule.points - applied, reason), rule.id, False))
        elif not matching and applied:
            changes.append((_delta(rule, -applied, "no longer matches"), rule.id, False))
    for rule_id, entry in sheet.state.items():
        points = int(entry.get("points", 0))
        if rule_id not in active and points:
            name, bucket = str(entry.get("name", rule_id)), entry.get("bucket", "fit")
            changes.append((Delta(rule_id, name, bucket, -points, "rule removed"), rule_id, False))
    return _accumulate(sheet, changes)


def _delta(rule: LeadScoringRule, points: int, reason: str) -> Delta:
    return Delta(rule.id, rule.name, rule.bucket, points, reason, rule.category.value)


def _accumulate(
    sheet: ScoreSheet, changes: list[tuple[Delta, str | None, bool]]
) -> list[tuple[Delta, ScoreSheet]]:
    out = []
    for delta, rule_id, once in changes:
        sheet = sheet.apply(delta, rule_id, once)
        out.append((delta, sheet))
    return out


def interaction_deltas(
    rules: list[LeadScoringRule], lead: dict[str, Any], interaction: dict[str, Any]
) -> list[tuple[Delta, ScoreSheet]]:
    """The event rules an interaction matches, each awarding its points to the
    engagement points (first-time-only rules only if never awarded)."""
    sheet = ScoreSheet.of(lead)
    changes: list[tuple[Delta, str | None, bool]] = []
    for rule in ordered(rules):
        if not rule.on_interactions or not rule_matches(rule, lead, interaction):
            continue
        if not rule.repeatable and rule.id in sheet.once:
            continue
        changes.append((_delta(rule, rule.points, "interaction"), None, not rule.repeatable))
    return _accumulate(sheet, changes)


def adjustment(
    lead: dict[str, Any], rule_id: str, name: str, points: int, reason: str
) -> list[tuple[Delta, ScoreSheet]]:
    """A change to the engagement points that no rule makes (a workflow step, decay)."""
    delta = Delta(rule_id, name, "engagement", points, reason)
    return _accumulate(ScoreSheet.of(lead), [(delta, None, False)])


def rules_collection(company_id: str) -> str:
    return f"companies/{company_id}/scoring_rules"


def rules_copy_path(company_id: str) -> str:
    """The one document holding a copy of every rule (see ``services.scoring_rules_copy``)."""
    return f"companies/{company_id}/config/scoring_rules"
