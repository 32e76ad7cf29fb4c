"""The figures ``make stress`` prints: one block per phase."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from stress.load import Outcome
from stress.verify import Findings


@dataclass
class Phase:
    name: str
    outcomes: list[Outcome]
    seconds: float
    findings: Findings
    notes: dict[str, object] = field(default_factory=dict)


def figures(phase: Phase) -> dict[str, object]:
    """The load figures (when the phase posted anything), what was found, and notes."""
    f = phase.findings
    found = {
        "submissions accepted so far": f.accepted,
        "duplicates found": len(f.duplicates),
        "lost found": len(f.lost),
        "stored without a 2xx": len(f.unacknowledged),
        "counter mismatches": len(f.counters),
    }
    shown = {**_load(phase), **(found if f.accepted else {}), **phase.notes}
    shown.pop("ok", None)
    return shown


def _load(phase: Phase) -> dict[str, object]:
    outs = phase.outcomes
    if not outs:
        return {}
    retries: Counter[str] = Counter()
    for outcome in outs:
        retries.update(outcome.retries)
    rejects = Counter(o.reason for o in outs if o.status >= 400)
    return {
        "requests sent (with retries)": sum(o.attempts for o in outs),
        "posts": len(outs),
        "accepted (2xx)": sum(o.accepted for o in outs),
        "of which replays answered as before": sum(o.replayed for o in outs),
        "rejects by reason": dict(sorted(rejects.items())) or "none",
        "retried by cause": dict(sorted(retries.items())) or "none",
        "5xx final answers": sum(o.status >= 500 for o in outs),
        "never answered": sum(o.status == 0 for o in outs),
        "posts per second": round(len(outs) / phase.seconds, 1) if phase.seconds else 0,
    }


def render(phase: Phase) -> str:
    lines = [f"== {phase.name} ({phase.seconds:.1f} s)"]
    lines += [f"  {key:<38} {value}" for key, value in figures(phase).items()]
    problems = [*phase.findings.lost, *phase.findings.duplicates]
    problems += [*phase.findings.unacknowledged, *phase.findings.counters]
    lines += [f"  ! {problem}" for problem in problems[:20]]
    return "\n".join(lines)


def passed(phase: Phase) -> bool:
    """Nothing lost or doubled, no 5xx left unretried, every post answered."""
    final_5xx = any(o.status >= 500 or o.status == 0 for o in phase.outcomes)
    return phase.findings.ok and not final_5xx and bool(phase.notes.get("ok", True))
