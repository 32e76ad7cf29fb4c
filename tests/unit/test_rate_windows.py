"""The sharded company window of lead intake: exact limit, spread writes."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.domain.company import CompanySettings
from shared.domain.intake import COMPANY_SHARDS, RateWindow, rate_windows

NOW = datetime(2026, 11, 22, 1, 30, 15, tzinfo=UTC)


def test_company_window_is_sharded_and_the_ip_window_is_not() -> None:
    """One document per IP and hour; COMPANY_SHARDS documents for the company's minute."""
    ip, company = rate_windows("203.0.113.9", CompanySettings(), NOW)
    assert [1, COMPANY_SHARDS] == [len(ip.doc_ids()), len(company.doc_ids())]
    assert f"all-202611220130-{COMPANY_SHARDS - 1:02d}" == company.doc_ids()[-1]


def test_a_window_accepts_exactly_its_limit_however_keys_fall() -> None:
    """Counting 10 submissions of one key, then others, into a limit of 10 over 8 shards:
    each is placed while any shard has room, and the 11th is refused."""
    window = RateWindow("all-x", 10, NOW, 8)
    counts = [0] * 8
    for n in range(10):
        shard = window.pick(counts, "same" if n < 5 else f"k{n}")
        assert shard is not None
        counts[shard] += 1
    assert (10, None) == (sum(counts), window.pick(counts, "another"))


def test_keys_spread_over_the_shards() -> None:
    """Different keys start on different shards (what keeps concurrent leads apart), and
    a key's own shard is where it counts while that shard has room."""
    window = RateWindow("all-x", 1000, NOW, 8)
    picks = {window.pick([0] * 8, f"lead{n}") for n in range(64)}
    assert set(range(8)) == picks
    own = window.shard_of("lead1")
    assert (f"all-x-{own:02d}", True, False) == (
        window.own_doc_id("lead1"),
        window.has_room(124, "lead1"),
        window.has_room(125, "lead1"),
    )


def test_windows_say_when_they_free() -> None:
    """At 01:30:15 the IP's hourly window frees in 29 min 45 s, the company's minute in
    45 s; never less than a second."""
    ip, company = rate_windows("203.0.113.9", CompanySettings(), NOW)
    assert (1785, 45) == (ip.retry_after(NOW), company.retry_after(NOW))
    assert 1 == company.retry_after(NOW.replace(second=59, microsecond=999_999))


def test_every_rate_limit_says_when_to_retry() -> None:
    """Each ``RateLimited`` raised in the code carries ``retry_after`` (the HTTP edge sends
    it as ``Retry-After``): a new rate-limited path cannot forget it."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    calls = [
        (str(path.relative_to(root)), node)
        for folder in ("shared", "functions")
        for path in sorted((root / folder).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "RateLimited"
    ]
    assert len(calls) >= 4  # intake, newsletters, referrals, events
    bare = [
        f"{where}:{call.lineno}"
        for where, call in calls
        if len(call.args) < 2 and not any(k.arg == "retry_after" for k in call.keywords)
    ]
    assert [] == bare
