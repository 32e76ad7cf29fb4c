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
    """One section: a Markdown table, notes under it, and the raw figures for JSON."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: list[dict[str, Any]] = field(default_factory=list)

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
    """Write latest.md and latest.json under ``out``; returns the Markdown."""
    text = header(info, options) + "".join("\n" + t.markdown() for t in tables)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.md").write_text(text, encoding="utf-8")
    payload = {"machine": info, "options": options, "sections": [asdict(t) for t in tables]}
    (out / "latest.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
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
