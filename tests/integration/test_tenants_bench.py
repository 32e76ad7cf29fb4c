"""``make bench``'s tenants section at a tiny size, so that its code path runs in
``make test``: 30 and 90 companies through the local Scheduler, Cloud Tasks and the
functions in a process of their own, each invocation's documents counted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from bench import tenants
from bench.stack import BenchStack


@pytest.fixture
def stack() -> Iterator[BenchStack]:
    """The bench's stack; the environment it sets is put back afterwards."""
    from shared import bootstrap

    saved = dict(os.environ)
    bench = BenchStack()
    yield bench
    bench.close()
    os.environ.clear()
    os.environ.update(saved)
    bootstrap.reset()


def test_work_per_invocation_stays_flat_and_a_repeated_run_adds_nothing(
    stack: BenchStack,
) -> None:
    """Three times the companies: the same largest invocation, the documents read in
    proportion to the active companies, every invocation answered 2xx, and the rollup's
    Scheduler call repeated (same schedule time) schedules nothing."""
    small, large = (tenants.measure(stack, size) for size in (30, 90))
    rows: list[dict[str, Any]] = [small, large]
    assert [0, 0] == [r["failed_invocations"] for r in rows]
    assert [0, 0] == [r["repeat_scheduled"] for r in rows]
    assert small["max_docs_per_invocation"] == large["max_docs_per_invocation"]
    per_active = [r["total_docs_read"] / r["active"] for r in rows]
    assert per_active[1] == pytest.approx(per_active[0], rel=0.2)
    assert set(tenants.JOBS) <= set(large["invocations_by_function"])
