"""Deciding one request against a ruleset: the applicable ``allow`` statements are
evaluated until one holds; a denial lists why each failed, as the emulator reports it
(``false for 'update' @ L12``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from localcloud.firestore.rules import ast
from localcloud.firestore.rules.errors import EvalError, Undecided
from localcloud.firestore.rules.evaluator import Documents, Evaluator, Scope
from localcloud.firestore.rules.matcher import grants
from localcloud.firestore.rules.parser import parse


@dataclass
class Decision:
    allowed: bool
    reasons: list[str] = field(default_factory=list)

    def explain(self) -> str:
        return ", ".join(self.reasons) or "No matching allow statements"


class Rules:
    """A parsed rules file; ``decide`` evaluates one request."""

    def __init__(self, ruleset: ast.Ruleset, source: str = "firestore.rules") -> None:
        self.ruleset = ruleset
        self.source = source

    @classmethod
    def parse(cls, text: str, source: str = "firestore.rules") -> Rules:
        """Raises ``RulesSyntaxError`` with the line and column of the first error."""
        return cls(parse(text, source), source)

    @classmethod
    def load(cls, path: Path) -> Rules:
        return cls.parse(path.read_text(encoding="utf-8"), str(path))

    def decide(
        self,
        method: str,
        path: Sequence[object],
        request: dict[str, object],
        resource: object,
        documents: Documents,
    ) -> Decision:
        """Whether some ``allow`` for ``method`` on ``path`` holds."""
        root = Scope({"request": request, "resource": resource})
        decision = Decision(False)
        evaluator = Evaluator(documents)
        for grant in grants(self.ruleset, path, method, root):
            where = f"for '{method}' @ L{grant.allow.line}"
            if grant.allow.condition is None:
                return Decision(True)
            try:
                if evaluator.condition(grant.allow.condition, grant.scope):
                    return Decision(True)
                decision.reasons.append(f"false {where}")
            except Undecided as err:
                decision.reasons.append(
                    f"query not limited to what the rule allows: {err.message} "
                    f"(L{err.line}:{err.column}) {where}"
                )
            except EvalError as err:
                decision.reasons.append(
                    f"evaluation error at L{err.line}:{err.column}: {err.message} {where}"
                )
        return decision
