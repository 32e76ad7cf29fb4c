"""The benchmark's arithmetic: busiest-document windows, percentiles, report tables."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from bench.deployed import STAMP, _environment, _hold, version_of
from bench.instance import busiest
from bench.instructions import FIRST_ANSWER, Count
from bench.instructions import table as instruction_table
from bench.report import Table, percentile
from tests.support import ROOT, in_fresh_interpreter

SECOND = 1_000_000_000


def test_busiest_document_counts_writes_within_any_one_second() -> None:
    """Windows slide: five writes spread over 1.5 s give at most four within one second."""
    writes = [("a", int(t * SECOND)) for t in (0.0, 0.3, 0.6, 0.9, 1.5)]
    writes += [("b", int(t * SECOND)) for t in (0.0, 0.1)]
    assert ("a", 4) == busiest(writes)


def test_percentile_is_the_nearest_rank() -> None:
    """p50 of 1..100 is 50, p95 is 95, p99 is 99, and one sample is every percentile."""
    values = [float(v) for v in range(100, 0, -1)]
    assert (50.0, 95.0, 99.0, 7.0) == (
        percentile(values, 50),
        percentile(values, 95),
        percentile(values, 99),
        percentile([7.0], 99),
    )


def test_table_renders_markdown_rows_and_keeps_raw_figures() -> None:
    """A header, a separator, one line per row, notes after; raw figures kept apart."""
    table = Table("T", ["a", "b"])
    table.add([1, "x"], a=1.25)
    table.notes.append("note")
    assert ("### T\n\n| a | b |\n| --- | --- |\n| 1 | x |\n\nnote\n", [{"a": 1.25}]) == (
        table.markdown(),
        table.data,
    )


def test_the_counted_first_answer_is_a_real_one() -> None:
    """bench/instructions.py counts this script under valgrind: run plainly, it creates the
    baseline's app through functions-framework and answers its first request."""
    payload = json.dumps({"path": "/", "method": "GET", "headers": {}, "body": ""})
    source = str(ROOT / "bench" / "baseline" / "main.py")
    assert in_fresh_interpreter(FIRST_ANSWER, "baseline", source, payload).split() == ["200"]


def test_instruction_ratios_and_verdicts() -> None:
    counts = {
        "baseline": Count(1_000_000_000, 200),
        "floor: + pydantic": Count(1_150_000_000, 200),
        "lead_intake": Count(1_200_000_000, 201),
        "campaigns": Count(1_201_000_000, 200),
    }
    rows = {row[0]: row for row in instruction_table(counts).rows}
    assert rows["baseline"][1:4] == ["1,000 M", "1.000x", "0.870x"]
    assert rows["floor: + pydantic"][2] == "1.150x"  # a reference row: no verdict
    assert (rows["lead_intake"][2], rows["campaigns"][2]) == ("1.200x met", "1.201x MISSED")


def test_the_deploy_environment_is_reused_while_its_pins_stay(tmp_path: Path) -> None:
    """Made once per set of pins: with the same requirements recorded, nothing is
    installed (a new install of the made-up pin below would fail)."""
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.write_text("")
    (tmp_path / STAMP).write_text("no-such-dist==0.0.1\n", encoding="utf-8")
    assert _environment(tmp_path, "no-such-dist==0.0.1\n") == python
    assert python.exists()


def test_an_interpreter_is_named_by_its_version() -> None:
    """``--python`` environments are kept apart by version; a missing one is refused."""
    assert version_of(sys.executable) == platform.python_version()
    with pytest.raises(SystemExit, match="no Python interpreter"):
        version_of("no-such-python-3.99")


HOLD = """
import sys
from pathlib import Path
from bench.deployed import _hold
_hold(Path(sys.argv[1]))
print("held", flush=True)
sys.stdin.read()
"""


def test_a_second_bench_is_refused_the_build_folder(tmp_path: Path) -> None:
    """While one bench holds build/bench, another may not rebuild the package under its
    running instances; once the first ends, the folder is free."""
    command = [sys.executable, "-c", HOLD, str(tmp_path)]
    pipe = subprocess.PIPE
    with subprocess.Popen(command, cwd=ROOT, stdin=pipe, stdout=pipe, text=True) as holder:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SystemExit, match="another bench is using"):
            _hold(tmp_path)
        holder.stdin.close()
    _hold(tmp_path)


def test_a_run_of_some_sections_keeps_the_others(tmp_path: Path) -> None:
    """``--only tenants``: the earlier run's other sections stay (in their order, saying
    when they were measured) and its keys too; the section run again is replaced, and its
    rows are under its key."""
    from bench.report import write

    first = {"date": "2026-12-01 10:00 UTC", "nproc": 2, "cpu": "x", "python": "3", "platform": "p"}
    older = [Table("Cold start", ["a"], [["1"]]), Table("Tenants", ["b"], [["old"]], key="tenants")]
    for table in older:
        table.data.append({"old": True})
    write(older, first, "full", tmp_path)
    again = Table("Tenants", ["b"], [["new"]], key="tenants")
    again.data.append({"companies": 100})
    second = {**first, "date": "2026-12-05 10:00 UTC"}
    text = write([again], second, "--only tenants", tmp_path)
    saved = json.loads((tmp_path / "latest.json").read_text())
    assert ["Cold start", "Tenants"] == [s["title"] for s in saved["sections"]]
    assert ([["1"]], [["new"]]) == (saved["sections"][0]["rows"], saved["sections"][1]["rows"])
    assert [{"companies": 100}] == saved["tenants"]
    assert "(Measured 2026-12-01 10:00 UTC, full.)" in text
    assert text.count("(Measured") == 1
