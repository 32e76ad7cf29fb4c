"""rollup_analytics through functions-framework and the local Firestore with the real
client: yesterday's metrics per company, bounded queries, idempotent reruns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.event_support import RoundTrips
from tests.support import docs, seed_company

RUN = {
    "X-CloudScheduler-JobName": "growthkit-rollup-analytics",
    "X-CloudScheduler-ScheduleTime": "2026-11-21T00:15:00Z",
}
DAY = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def seed(db: Any) -> None:
    seed_company(db)
    seed_company(db, "globex")
    leads = db.collection("companies/acme/leads")
    leads.document("l1").set({"source": "web_form", "status": "new", "created_at": DAY})
    leads.document("l2").set({"source": "referral", "status": "new", "created_at": DAY})
    leads.document("l3").set(
        {"source": "web_form", "created_at": DAY - timedelta(days=3), "converted_at": DAY}
    )
    leads.document("l4").set({"source": "web_form", "created_at": DAY + timedelta(days=1)})
    reviews = db.collection("companies/acme/reviews")
    reviews.document("r1").set({"requested_at": DAY, "completed_at": DAY, "rating": 4})
    reviews.document("r2").set({"requested_at": DAY, "completed_at": DAY, "rating": 5})
    db.document("companies/acme/referral_redemptions/m1").set({"created_at": DAY})
    db.document("companies/acme/content/c1").set({"type": "blog", "published_at": DAY})


def metrics(db: Any, company: str) -> dict[str, Any]:
    return {k: v["value"] for k, v in docs(db, f"companies/{company}/analytics").items()}


def test_rollup_of_yesterday_and_an_idempotent_rerun(
    db: Any, function_client: Any, firestore_server: Any, project_id: str
) -> None:
    """The day before the schedule time, per company; a rerun rewrites the same documents
    with the same values. One listing, then six bounded queries and one read of the day's
    event counters per company."""
    seed(db)
    client = function_client("rollup_analytics")
    trips = RoundTrips(firestore_server, project_id)
    res = client.post("/", headers=RUN)
    assert (200, {"date": "2026-11-20", "companies": 2}) == (
        res.status_code,
        {k: res.get_json()[k] for k in ("date", "companies")},
    )
    assert {"RunQuery": 1 + 2 * 6, "BatchGetDocuments": 2, "Commit": 2} == trips.delta()
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
    assert 200 == client.post("/", headers=RUN).status_code
    assert (acme, 0) == (metrics(db, "acme"), metrics(db, "globex")["2026-11-20-leads-total"])


def test_bad_schedule_time_is_a_400(db: Any, function_client: Any) -> None:
    """A malformed X-CloudScheduler-ScheduleTime is refused, not guessed."""
    headers = {**RUN, "X-CloudScheduler-ScheduleTime": "yesterday"}
    assert 400 == function_client("rollup_analytics").post("/", headers=headers).status_code
