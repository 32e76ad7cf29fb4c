"""rollup_analytics through functions-framework and the local Firestore with the real
client: yesterday's metrics per company, bounded queries, idempotent reruns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import bootstrap
from shared.domain.analytics import day_before
from shared.services.analytics import rollup_company
from tests.fakes import FakeTaskQueue
from tests.integration.event_support import RoundTrips, memory_queue
from tests.integration.periodic_support import drain
from tests.integration.periodic_support import seed as write_as_functions
from tests.support import docs, seed_company

RUN = {
    "X-CloudScheduler-JobName": "growthkit-rollup-analytics",
    "X-CloudScheduler-ScheduleTime": "2026-11-21T00:15:00Z",
}
DAY = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def seed(db: Any) -> None:
    """Acme's documents, written as the functions write them (its days marked); globex
    has none."""
    seed_company(db)
    seed_company(db, "globex")
    leads = "companies/acme/leads"
    docs = [
        (f"{leads}/l1", {"source": "web_form", "status": "new", "created_at": DAY}),
        (f"{leads}/l2", {"source": "referral", "status": "new", "created_at": DAY}),
        (
            f"{leads}/l3",
            {"source": "web_form", "created_at": DAY - timedelta(days=3), "converted_at": DAY},
        ),
        (f"{leads}/l4", {"source": "web_form", "created_at": DAY + timedelta(days=1)}),
        ("companies/acme/reviews/r1", {"requested_at": DAY, "completed_at": DAY, "rating": 4}),
        ("companies/acme/reviews/r2", {"requested_at": DAY, "completed_at": DAY, "rating": 5}),
        ("companies/acme/referral_redemptions/m1", {"created_at": DAY}),
        ("companies/acme/content/c1", {"type": "blog", "published_at": DAY}),
    ]
    write_as_functions(db, docs, DAY)


def metrics(db: Any, company: str) -> dict[str, Any]:
    return {k: v["value"] for k, v in docs(db, f"companies/{company}/analytics").items()}


@pytest.fixture
def queue(functions_env: None, monkeypatch: pytest.MonkeyPatch) -> FakeTaskQueue:
    """Cloud Tasks recorded in memory; the test delivers them (periodic_support.drain)."""
    return memory_queue(monkeypatch)


def test_rollup_of_yesterday_and_an_idempotent_rerun(
    db: Any, queue: FakeTaskQueue, function_client: Any, firestore_server: Any, project_id: str
) -> None:
    """The day before the schedule time, for the company active that day; a rerun
    rewrites the same documents with the same values. The run reads one page of the day's
    markers and stores one task (globex, idle, costs nothing); acme's task reads its
    marker, runs one aggregation query per count its marker allows (17: leads, by two
    sources and five statuses, conversions, reviews requested, completed and rated,
    redemptions, content and three types) and commits the metrics, between the two
    transactions of its lease."""
    seed(db)
    client = function_client("rollup_analytics")
    trips = RoundTrips(firestore_server, project_id)
    res = client.post("/", headers=RUN)
    assert (200, 1, 1) == (res.status_code, res.get_json()["companies"], len(queue.tasks))
    assert {"RunQuery": 1, "Commit": 1} == trips.delta()
    trips = RoundTrips(firestore_server, project_id)
    drain(function_client, queue)
    assert {
        "BeginTransaction": 2,
        "BatchGetDocuments": 3,
        "RunAggregationQuery": 17,
        "Commit": 3,
    } == trips.delta()
    acme = metrics(db, "acme")
    assert {
        "2026-11-20-leads-total": 2,
        "2026-11-20-leads_by_source-web_form": 1,
        "2026-11-20-leads_by_source-referral": 1,
        "2026-11-20-leads_by_status-new": 2,
        "2026-11-20-conversions-total": 1,
        "2026-11-20-reviews-requested": 2,
        "2026-11-20-reviews-completed": 2,
        "2026-11-20-reviews-average_rating": 4.5,
        "2026-11-20-referrals-redemptions": 1,
        "2026-11-20-content-published": 1,
    }.items() <= acme.items()
    sample = docs(db, "companies/acme/analytics")["2026-11-20-leads_by_source-web_form"]
    assert ("2026-11-20", "leads_by_source", "web_form", "leads.created_at") == (
        sample["date"],
        sample["metric_type"],
        sample["metric_name"],
        sample["source"],
    )
    again = client.post("/", headers=RUN)
    assert (200, 0) == (again.status_code, again.get_json()["scheduled"])
    rollup_company(
        bootstrap.document_store(), DAY, "acme", day_before(DAY + timedelta(days=1)), "rerun"
    )
    assert (acme, {}) == (metrics(db, "acme"), metrics(db, "globex"))


def test_bad_schedule_time_is_a_400(db: Any, function_client: Any) -> None:
    """A malformed X-CloudScheduler-ScheduleTime is refused, not guessed."""
    headers = {**RUN, "X-CloudScheduler-ScheduleTime": "yesterday"}
    assert 400 == function_client("rollup_analytics").post("/", headers=headers).status_code
