"""The cold-start count of ``make bench``, really taken under valgrind's callgrind.

bench/instructions.py decides the cold-start verdicts; its script is tested plainly in
tests/unit/test_bench_helpers.py, and this runs the count itself once: the baseline (a
bare functions-framework function importing Firestore) from bench/baseline, with this
environment's interpreter, under valgrind. About 30 s, the price of knowing that the
counting step (valgrind's command line and the total it prints) still works.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest

from bench.coldstart import IMPORT_BASELINE, Subject
from bench.deployed import Runtime
from bench.instructions import count
from bench.scenarios import Request
from tests.support import ROOT


@pytest.mark.timeout(600)
def test_a_cold_start_is_counted_to_its_first_answer() -> None:
    """The baseline answers 200 under callgrind, and the total counts the imports of
    functions-framework and Firestore (above a billion instructions, where this
    environment's bare interpreter start counts 93 M), not just the interpreter's start."""
    python = Path(sys.executable)
    framework, folder = python.parent / "functions-framework", ROOT / "bench" / "baseline"
    here = Runtime(python, framework, folder, platform.python_version())
    found = count(here, Subject("baseline", "baseline", "main.py", IMPORT_BASELINE), Request("GET"))
    assert found.status == 200
    assert 1_000_000_000 < found.instructions < 10_000_000_000
