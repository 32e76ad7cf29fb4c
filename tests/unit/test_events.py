"""Analytics events against in-memory fakes: bounded batches, exactly-once counting,
sessions once a day, the roll-up folding them in, and the staff summary."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shared.domain.events import EventBatch, event_metrics
from shared.domain.identity import Role, StaffIdentity
from shared.errors import InvalidInput, NotFound, PermissionDenied
from shared.services.activity import ActivityStore
from shared.services.events import Visitor, ingest_events
from shared.services.events_summary import analytics_summary, date_range
from tests.fakes import FakeStore, FakeTaskQueue
from tests.periodic_runs import run_periodic

NOW = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)
KEY = "acme.public-key-123"
VISITOR = Visitor("203.0.113.5", "Mozilla/5.0", None)


def world() -> FakeStore:
    store = FakeStore()
    store.docs["companies/acme"] = ({"name": "Acme", "public_form_key": KEY}, NOW)
    return store


def event(kind: str = "page_view", name: str = "/pricing", **more: Any) -> dict[str, Any]:
    return {"type": kind, "name": name, "session_id": "session-aaaa1", **more}


def batch(*events: dict[str, Any]) -> EventBatch:
    return EventBatch.model_validate({"form_key": KEY, "events": list(events)})


def counted(store: FakeStore) -> tuple[int, int]:
    """(events, sessions) in the day's counter shards."""
    shards = [d for p, (d, _) in store.docs.items() if "/analytics_event_counts/" in p]
    return sum(s["total"] for s in shards), sum(s["sessions"] for s in shards)


def test_a_batch_is_stored_and_counted_with_its_sessions_once() -> None:
    """Three events of two sessions: three stored, two sessions; a later batch of a
    known session adds events but no session."""
    store = world()
    other = event("click", "Buy", session_id="session-bbbb2")
    result = ingest_events(store, NOW, batch(event(), event(name="/"), other), VISITOR)
    ingest_events(store, NOW + timedelta(minutes=5), batch(event(name="/about")), VISITOR)
    stored = [d for p, (d, _) in store.docs.items() if "/analytics_events/" in p]
    assert (3, (4, 2), "203.0.113.5") == (result.stored, counted(store), stored[0]["ip"])


def test_a_retried_batch_is_counted_once() -> None:
    """Events with ids: sending the batch again stores and counts nothing more."""
    store = world()
    events = [event(event_id=f"evt-000000{i}") for i in range(3)]
    first = ingest_events(store, NOW, batch(*events), VISITOR)
    again = ingest_events(store, NOW, batch(*events), VISITOR)
    assert ((3, 0), (0, 3), (3, 1)) == (
        (first.stored, first.duplicates),
        (again.stored, again.duplicates),
        counted(store),
    )


def test_batches_are_bounded() -> None:
    """More than 100 events, long or too many properties, control characters, NaN and
    unknown fields are refused before anything is stored."""
    bad = [
        [event()] * 101,
        [event(properties={"k": "x" * 501})],
        [event(properties={f"k{i}": i for i in range(21)})],
        [event(name="a\x00b")],
        [event(properties={"n": float("nan")})],
        [event(extra=1)],
        [event(type="Page View")],
        [],
    ]
    for events in bad:
        with pytest.raises(ValidationError):
            EventBatch.model_validate({"form_key": KEY, "events": events})


def test_unknown_keys_and_foreign_origins_are_refused() -> None:
    """A wrong form key is 404; an origin the company does not list is 403."""
    store = world()
    store.docs["companies/acme"][0]["allowed_origins"] = ["https://acme.example"]
    with pytest.raises(NotFound):
        wrong = EventBatch.model_validate({"form_key": "acme.nope", "events": [event()]})
        ingest_events(store, NOW, wrong, VISITOR)
    with pytest.raises(PermissionDenied):
        ingest_events(store, NOW, batch(event()), Visitor("ip", None, "https://evil.example"))


def test_a_wrong_browser_clock_is_replaced_by_ours() -> None:
    """A time more than a day off is replaced and flagged; a close one is kept."""
    store = world()
    far, near = NOW - timedelta(days=3), NOW - timedelta(minutes=2)
    ingest_events(store, NOW, batch(event(occurred_at=far), event(occurred_at=near)), VISITOR)
    stored = sorted(
        (d["occurred_at"], d["client_clock_ignored"])
        for p, (d, _) in store.docs.items()
        if "/analytics_events/" in p
    )
    assert [(near, False), (NOW, True)] == stored


def test_the_daily_rollup_folds_the_events_in() -> None:
    """The roll-up of the day writes events, sessions, per type and per name metrics (the
    batch is stored as the functions store it, marking the company's day)."""
    store = world()
    marking = ActivityStore(store, lambda: NOW)
    ingest_events(marking, NOW, batch(event(), event(), event("click", "Buy")), VISITOR)
    run_periodic(store, FakeTaskQueue(), "rollup_analytics", NOW + timedelta(days=1))
    metrics = {
        (d["metric_type"], d["metric_name"]): d["value"]
        for p, (d, _) in store.docs.items()
        if "/analytics/" in p and d["metric_type"].startswith("events")
    }
    assert {
        ("events", "total"): 3,
        ("events", "sessions"): 1,
        ("events_by_type", "click"): 1,
        ("events_by_type", "page_view"): 2,
        ("events_by_name", "click:Buy"): 1,
        ("events_by_name", "page_view:/pricing"): 2,
    } == metrics


def test_names_beyond_the_daily_cap_count_as_other() -> None:
    """At most 100 names a day are kept by name; the rest add up in 'other'."""
    shard = {"total": 105, "by_name": {f"t:n{i:03d}": 1 for i in range(105)}}
    names = [m for m in event_metrics("2026-03-05", [shard]) if m.metric_type == "events_by_name"]
    assert (101, 5) == (len(names), next(m.value for m in names if m.metric_name == "other"))


def test_summary_totals_a_range_and_keeps_averages_per_day() -> None:
    """Two days of metrics: per day and totalled; averages are not added up; another
    company's summary is refused."""
    store = world()
    for day, leads, rating in (("2026-03-01", 2, 4.0), ("2026-03-02", 3, 5.0)):
        for kind, name, value in (("leads", "total", leads), ("reviews", "average_rating", rating)):
            doc = {"date": day, "metric_type": kind, "metric_name": name, "value": value}
            store.docs[f"companies/acme/analytics/{day}-{kind}-{name}"] = (doc, NOW)
    staff = StaffIdentity("u1", "acme", Role.USER)
    later = datetime(2026, 6, 1, tzinfo=UTC)  # every day of the range rolled up long ago
    out = analytics_summary(store, staff, "acme", date(2026, 3, 1), date(2026, 3, 31), later)
    assert ({"leads": {"total": 5}}, 2, 5.0) == (
        out["totals"],
        len(out["days"]),
        out["days"][1]["metrics"]["reviews"]["average_rating"],
    )
    with pytest.raises(PermissionDenied):
        analytics_summary(store, staff, "globex", date(2026, 3, 1), date(2026, 3, 2), later)


def test_summary_ranges() -> None:
    """Default: the 30 days up to today; bad dates, reversed and long ranges 400."""
    assert (date(2026, 2, 5), date(2026, 3, 6)) == date_range(None, None, NOW + timedelta(days=1))
    for raw in (("2026-13-01", None), ("2026-03-05", "2026-03-01"), ("2026-01-01", "2026-06-01")):
        with pytest.raises(InvalidInput):
            date_range(*raw, NOW)


def test_live_days_are_today_and_a_yesterday_not_rolled_up() -> None:
    """Today always (in range); yesterday until its metrics are stored; never older."""
    from shared.domain.analytics import live_days

    today, yesterday = NOW.date(), NOW.date() - timedelta(days=1)
    month = (date(2026, 2, 1), date(2026, 3, 31))
    assert [yesterday, today] == live_days(*month, NOW, set())
    assert [today] == live_days(*month, NOW, {yesterday.isoformat()})
    assert [] == live_days(date(2026, 2, 1), date(2026, 2, 28), NOW, set())
