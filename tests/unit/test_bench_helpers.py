"""The benchmark's arithmetic: busiest-document windows, percentiles, report tables."""

from __future__ import annotations

from bench.instance import busiest
from bench.report import Table, percentile

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
