"""The daily rollup: the day covered, the metrics, and reruns, against in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain.analytics import Day, DayCounts, Metric, day_before, day_metrics
from shared.errors import Transient
from shared.events import ScheduledEvent
from shared.ports import Write
from shared.services.activity import ActivityStore
from shared.services.analytics import rollup_company
from tests.fakes import FakeStore, FakeTaskQueue
from tests.periodic_runs import run_periodic

RUN = ScheduledEvent("rollup", datetime(2026, 11, 21, 0, 15, tzinfo=UTC))
DAY = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def test_day_before_the_schedule_time() -> None:
    """A run at 00:15 covers the whole previous UTC day, whatever the time zone given."""
    local = datetime.fromisoformat("2026-11-21T01:15:00+01:00")
    assert Day(
        "2026-11-20", datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)
    ) == (day_before(local))


def test_metrics_of_a_day() -> None:
    """Leads by source and status (every status, zeros too; what no breakdown counted is of
    unknown source and status new), reviews and their average, content by type."""
    docs = DayCounts(
        leads=3,
        leads_by_source={"web_form": 1, "referral": 1, "flyer": 0},
        leads_by_status={"converted": 1, "new": 1},
        conversions=1,
        reviews_requested=2,
        reviews_completed=3,
        ratings=2,
        rating_sum=9,
        redemptions=1,
        content_published=2,
        content_by_type={"social": 1},
    )
    metrics = {(m.metric_type, m.metric_name): m.value for m in day_metrics("2026-11-20", docs)}
    assert {
        ("leads", "total"): 3,
        ("leads_by_source", "referral"): 1,
        ("leads_by_source", "unknown"): 1,
        ("leads_by_source", "web_form"): 1,
        ("leads_by_status", "contacted"): 0,
        ("leads_by_status", "converted"): 1,
        ("leads_by_status", "lost"): 0,
        ("leads_by_status", "new"): 2,
        ("leads_by_status", "qualified"): 0,
        ("conversions", "total"): 1,
        ("reviews", "requested"): 2,
        ("reviews", "completed"): 3,
        ("reviews", "average_rating"): 4.5,
        ("referrals", "redemptions"): 1,
        ("content", "published"): 2,
        ("content_by_type", "blog"): 1,
        ("content_by_type", "social"): 1,
    } == metrics


def test_metric_ids_are_safe_and_stable() -> None:
    """A source with slashes still makes one valid document id."""
    metric = Metric(
        date="2026-11-20", metric_type="leads_by_source", metric_name="a/b c", value=1, source="x"
    )
    assert "2026-11-20-leads_by_source-a_b_c" == metric.doc_id


def seed(store: FakeStore) -> None:
    """Acme's day, written as the functions write (its activity marker with it); beta, idle."""
    writes = [
        Write("companies/acme", {"name": "Acme"}),
        Write("companies/acme/leads/l1", {"source": "web_form", "created_at": DAY}),
        Write("companies/acme/leads/l2", {"source": "ads", "created_at": DAY - timedelta(days=1)}),
        Write(
            "companies/acme/leads/l3",
            {"status": "converted", "created_at": DAY - timedelta(days=9), "converted_at": DAY},
        ),
        Write("companies/acme/reviews/r1", {"requested_at": DAY, "completed_at": DAY, "rating": 3}),
        Write("companies/beta", {"name": "Beta"}),
    ]
    ActivityStore(store, lambda: DAY).commit(writes)


def analytics(store: FakeStore, company: str) -> dict[str, Any]:
    prefix = f"companies/{company}/analytics/"
    return {
        p[len(prefix) :]: d["value"] for p, (d, _) in store.docs.items() if p.startswith(prefix)
    }


def test_rollup_writes_every_active_company_and_reruns_overwrite() -> None:
    """The active company gets a task and the day's metrics, the idle one nothing; the
    run repeated (Scheduler's retry) adds no task, and a rerun of the company's rollup
    writes the same ids."""
    store, queue = FakeStore(), FakeTaskQueue()
    seed(store)
    first, *_ = run_periodic(store, queue, "rollup_analytics", RUN.schedule_time)
    assert (1, 1) == (first["companies"], first["scheduled"])
    acme = analytics(store, "acme")
    assert (1, 1, 1, 3) == (
        acme["2026-11-20-leads-total"],
        acme["2026-11-20-leads_by_source-web_form"],
        acme["2026-11-20-conversions-total"],
        acme["2026-11-20-reviews-average_rating"],
    )
    assert {} == analytics(store, "beta")
    before = dict(store.docs)
    again, *_ = run_periodic(store, queue, "rollup_analytics", RUN.schedule_time)
    assert (0, sorted(before)) == (again["scheduled"], sorted(store.docs))
    rollup_company(store, DAY, "acme", day_before(RUN.schedule_time), "rerun")
    assert acme == analytics(store, "acme")


def test_a_failing_company_does_not_stop_the_others() -> None:
    """A failing company's task is left for Cloud Tasks to retry (pending, with the
    error); the others' are done."""

    class FailsForAcme(FakeStore):
        def aggregate(self, collection: str, *args: Any, **kwargs: Any) -> Any:
            if collection.startswith("companies/acme/"):
                raise Transient("deadline exceeded")
            return super().aggregate(collection, *args, **kwargs)

    store = FailsForAcme()
    seed(store)
    lead = Write("companies/beta/leads/b1", {"source": "web_form", "created_at": DAY})
    ActivityStore(store, lambda: DAY).commit([lead])
    run_periodic(store, FakeTaskQueue(), "rollup_analytics", RUN.schedule_time)
    tasks = {d["company_id"]: d for p, (d, _) in store.docs.items() if "/scheduled_tasks/" in p}
    assert ("pending", "Transient: deadline exceeded") == (
        tasks["acme"]["status"],
        tasks["acme"]["error"],
    )
    assert "completed" == tasks["beta"]["status"]
    assert ({}, 1) == (analytics(store, "acme"), analytics(store, "beta")["2026-11-20-leads-total"])
