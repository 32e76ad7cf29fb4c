"""The score sheet each lead carries, and the history records of its changes.

A lead stores its sheet (``score_state``: the state rules applied, ``score_once``: the
first-time-only rules awarded, ``engagement_points``) next to ``fit_score``,
``engagement_score`` and ``score`` (their sum, clamped to 0..100), so every change is a
difference between two sheets, recorded rule by rule in ``lead_score_history``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from msgspec import Struct, field

from shared.domain.common import stable_id
from shared.scoring.domain.fit import MAX_SCORE, ScoringConfig, temperature

Bucket = Literal["fit", "engagement"]


class Delta(Struct, frozen=True):
    """One rule's change to a lead's score, as history records it."""

    rule_id: str
    rule_name: str
    bucket: Bucket
    points: int
    reason: str
    category: str = ""


class ScoreSheet(Struct, frozen=True):
    """What makes up a lead's score: applied state rules, first-time-only rules already
    awarded, and accumulated engagement points."""

    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    once: tuple[str, ...] = ()
    engagement_points: int = 0

    @classmethod
    def of(cls, lead: dict[str, Any]) -> ScoreSheet:
        state = lead.get("score_state")
        once = lead.get("score_once")
        return cls(
            dict(state) if isinstance(state, dict) else {},
            tuple(once) if isinstance(once, list) else (),
            int(lead.get("engagement_points") or 0),
        )

    def _sum(self, bucket: Bucket) -> int:
        return sum(
            int(v.get("points", 0)) for v in self.state.values() if v.get("bucket") == bucket
        )

    @property
    def fit(self) -> int:
        return self._sum("fit")

    @property
    def engagement(self) -> int:
        return self._sum("engagement") + self.engagement_points

    @property
    def total(self) -> int:
        return max(0, min(MAX_SCORE, self.fit + self.engagement))

    def apply(self, delta: Delta, rule_id: str | None = None, once: bool = False) -> ScoreSheet:
        """This sheet with ``delta`` applied: to the rule's state entry, or (no
        ``rule_id``) to the engagement points."""
        state, points = dict(self.state), self.engagement_points
        if rule_id is None:
            points += delta.points
        else:
            current = int(state.get(rule_id, {}).get("points", 0)) + delta.points
            entry = {"points": current, "bucket": delta.bucket, "name": delta.rule_name}
            if current == 0 and rule_id in state:
                del state[rule_id]
            elif current:
                state[rule_id] = entry
        awarded = (
            (*self.once, delta.rule_id) if once and delta.rule_id not in self.once else self.once
        )
        return ScoreSheet(state, awarded, points)


def decayed(points: int, percent: float, periods: int) -> int:
    """Engagement points after ``periods`` decays of ``percent`` each, rounded toward 0
    so that points do run out."""
    value = points * (1 - percent / 100) ** periods
    return math.floor(value) if value >= 0 else math.ceil(value)


def sheet_fields(sheet: ScoreSheet, config: ScoringConfig, now: datetime) -> dict[str, Any]:
    """The lead fields a sheet stands for."""
    return {
        "score_state": sheet.state,
        "score_once": list(sheet.once),
        "engagement_points": sheet.engagement_points,
        "fit_score": sheet.fit,
        "engagement_score": sheet.engagement,
        "score": sheet.total,
        "temperature": temperature(sheet.total, config),
        "scored_at": now,
    }


def history_entries(
    lead_id: str,
    lead: dict[str, Any],
    changes: list[tuple[Delta, ScoreSheet]],
    config: ScoringConfig,
    cause: str,
    now: datetime,
) -> list[tuple[str, dict[str, Any]]]:
    """``lead_score_history`` documents, one per rule change, with the running score;
    ids derive from the cause and the rule, so a replay writes the same documents."""
    previous = int(lead.get("score") or 0)
    previous_temperature = lead.get("temperature")
    entries = []
    for delta, sheet in changes:
        doc_id = f"{lead_id}-{stable_id(cause, delta.rule_id, length=16)}"
        entries.append(
            (
                doc_id,
                {
                    "lead_id": lead_id,
                    "rule_id": delta.rule_id,
                    "rule_name": delta.rule_name,
                    "category": delta.category,
                    "bucket": delta.bucket,
                    "points": delta.points,
                    "reason": delta.reason,
                    "fit_score": sheet.fit,
                    "engagement_score": sheet.engagement,
                    "score": sheet.total,
                    "previous_score": previous,
                    "temperature": temperature(sheet.total, config),
                    "previous_temperature": previous_temperature,
                    "cause": cause,
                    "created_at": now,
                },
            )
        )
        previous, previous_temperature = sheet.total, temperature(sheet.total, config)
    return entries


def history_path(company_id: str, doc_id: str) -> str:
    return f"companies/{company_id}/lead_score_history/{doc_id}"
