"""Lead scoring: a company's rules (or sensible defaults) turn a lead into points and a
temperature.

Rules live in one document, ``companies/{c}/config/scoring``, so the trigger reads them in
the same batched read as the lead. A rule names a (dotted) field of the stored lead, an
operator, a value and the points it is worth; the score is the sum of matching rules,
clamped to 0..100.
"""

import functools
import operator
from typing import Any, Literal, Self

from msgspec import Struct
from pydantic import Field, model_validator

from shared.domain.common import DeferredModel

RuleOp = Literal["exists", "missing", "==", "!=", ">", ">=", "<", "<=", "in", "not-in", "contains"]
MAX_SCORE = 100
MAX_RULES = 100
# Written by scoring itself, so never seen by rules (see ``score_lead``).
DERIVED_FIELDS = frozenset(
    {
        "score",
        "temperature",
        "scored_at",
        "fit_score",
        "engagement_score",
        "engagement_points",
        "engagement_decay_from",
        "score_state",
        "score_once",
    }
)


class ScoringRule(DeferredModel):
    """``{"field": "custom_fields.budget", "op": ">=", "value": 5000, "points": 20}``."""

    name: str = Field(default="", max_length=100)
    field: str = Field(min_length=1, max_length=200)
    op: RuleOp = "exists"
    value: Any = None
    points: int = Field(ge=-100, le=100)

    @property
    def label(self) -> str:
        return self.name or f"{self.field} {self.op} {self.value!r}"


@functools.cache
def default_rules() -> tuple[ScoringRule, ...]:
    """The rules of a company without its own, built on first need (not at import: the
    model's validator is built on first use, see shared.domain.common.DeferredModel)."""
    return (
        ScoringRule(name="has_phone", field="phone", op="exists", points=10),
        ScoringRule(name="has_name", field="name", op="exists", points=5),
        ScoringRule(name="consent", field="consent.given", op="==", value=True, points=5),
        ScoringRule(name="utm_source", field="first_touch.utm.source", op="exists", points=5),
        ScoringRule(name="returning", field="submission_count", op=">=", value=2, points=10),
        ScoringRule(name="referred", field="referred_by", op="exists", points=15),
    )


class ScoringConfig(DeferredModel):
    """The stored scoring document; a company without one gets the defaults."""

    rules: list[ScoringRule] = Field(default_factory=lambda: list(default_rules()))
    warm_at: int = 15
    hot_at: int = 30

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if len(self.rules) > MAX_RULES:
            raise ValueError(f"at most {MAX_RULES} scoring rules")
        if self.warm_at > self.hot_at:
            raise ValueError("warm_at must not be above hot_at")
        return self


class Score(Struct, frozen=True):
    points: int
    temperature: str
    matched: tuple[str, ...]


def field_value(data: dict[str, Any], path: str) -> Any:
    """The value at a dotted path, or None when any step is missing."""
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _present(value: Any) -> bool:
    return value is not None and value not in ("", [], {})


def _comparable(actual: Any, expected: Any) -> tuple[Any, Any]:
    """Form fields arrive as strings: compare ``"5000"`` with ``1000`` as numbers."""
    if isinstance(expected, int | float) and isinstance(actual, str):
        try:
            return float(actual), expected
        except ValueError:
            return actual, expected
    return actual, expected


_ORDER = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def _compare(op: str, actual: Any, expected: Any) -> bool:
    actual, expected = _comparable(actual, expected)
    if op == "==":
        return bool(actual == expected)
    if op == "!=":
        return bool(actual != expected)
    if op == "in":
        return isinstance(expected, list) and actual in expected
    if op == "not-in":
        return isinstance(expected, list) and actual not in expected
    if op == "contains":  # a list holding the value, or a text holding the text
        if isinstance(actual, str):
            return isinstance(expected, str) and expected in actual
        return isinstance(actual, list) and expected in actual
    try:
        return bool(_ORDER[op](actual, expected))
    except TypeError:  # a number compared with a missing or text field never matches
        return False


def condition_holds(data: dict[str, Any], field: str, op: str, expected: Any) -> bool:
    """Whether ``data``'s (dotted) ``field`` satisfies ``op`` against ``expected``."""
    actual = field_value(data, field)
    if op == "exists":
        return _present(actual)
    if op == "missing":
        return not _present(actual)
    return _compare(op, actual, expected)


def matches(rule: ScoringRule, data: dict[str, Any]) -> bool:
    return condition_holds(data, rule.field, rule.op, rule.value)


def temperature(points: int, config: ScoringConfig) -> str:
    if points >= config.hot_at:
        return "hot"
    return "warm" if points >= config.warm_at else "cold"


def score_lead(data: dict[str, Any], config: ScoringConfig) -> Score:
    """Score a stored lead document with the company's rules.

    The score's own fields are left out of what rules see: a rule on ``score`` would make
    every score write change the score again, and the trigger would never settle.
    """
    data = {k: v for k, v in data.items() if k not in DERIVED_FIELDS}
    matched = [rule for rule in config.rules if matches(rule, data)]
    points = max(0, min(MAX_SCORE, sum(rule.points for rule in matched)))
    return Score(points, temperature(points, config), tuple(r.label for r in matched))


def scoring_config_path(company_id: str) -> str:
    return f"companies/{company_id}/config/scoring"
