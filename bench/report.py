"""Benchmark results: tables printed as Markdown and written to results/latest.{md,json}."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class Table:
    """One section: a Markdown table, notes under it, and the raw figures for JSON (also
    under ``key`` at the top of latest.json, when it has one)."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: list[dict[str, Any]] = field(default_factory=list)
    key: str = ""

    def add(self, cells: list[Any], **raw: Any) -> None:
        self.rows.append([str(c) for c in cells])
        self.data.append(raw)

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join(" --- " for _ in self.columns) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            lines += ["", *self.notes]
        return "\n".join(lines) + "\n"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        model = names[0].split(":", 1)[1].strip() if names else ""
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def header(info: dict[str, Any], options: str) -> str:
    return (
        "## `make bench` results\n\n"
        f"Machine: {info['nproc']} CPUs (`nproc`), {info['cpu'] or 'unknown CPU'}; "
        f"Python {info['python']}; {info['platform']}; {info['date']}. "
        f"Options: {options}.\n"
    )


def write(tables: list[Table], info: dict[str, Any], options: str, out: Path) -> str:
    """Write latest.md and latest.json under ``out``; returns the Markdown. The sections
    of an earlier run that this one did not run (``--only``) are kept, each saying when
    it was measured, and so are the earlier keys this run does not replace."""
    out.mkdir(parents=True, exist_ok=True)
    previous = _previous(out / "latest.json")
    stamp = {"date": info["date"], "options": options}
    fresh = [asdict(t) | {"measured": stamp} for t in tables]
    sections = _merged(previous.get("sections", []), fresh, previous)
    payload = {k: v for k, v in previous.items() if k not in ("machine", "options", "sections")}
    payload |= {"machine": info, "options": options, "sections": sections}
    payload |= {t.key: t.data for t in tables if t.key}
    text = header(info, options) + "".join("\n" + _markdown(s, stamp) for s in sections)
    (out / "latest.md").write_text(text, encoding="utf-8")
    (out / "latest.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return text


def _previous(path: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded


def _merged(
    old: list[dict[str, Any]], fresh: list[dict[str, Any]], previous: dict[str, Any]
) -> list[dict[str, Any]]:
    """The earlier sections in their order, this run's in place of theirs or after."""
    earlier = {"date": previous.get("machine", {}).get("date"), "options": previous.get("options")}
    by_title = {s["title"]: s for s in fresh}
    merged = [by_title.pop(s["title"], {**s, "measured": s.get("measured", earlier)}) for s in old]
    return merged + [s for s in fresh if s["title"] in by_title]


def _markdown(section: dict[str, Any], stamp: dict[str, Any]) -> str:
    names = ("title", "columns", "rows", "notes")
    text = Table(**{k: section[k] for k in names}).markdown()
    measured = section.get("measured") or {}
    if measured and measured != stamp:
        text += f"\n(Measured {measured.get('date')}, {measured.get('options')}.)\n"
    return text


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}x" if reference else "n/a"
