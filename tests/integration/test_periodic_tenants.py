"""One tenant cannot stop every tenant's periodic work: a cron that never fires is refused
when saved, and each periodic function, called as Cloud Scheduler calls it, does every
other company's work, answers 2xx, and leaves the failing company one task, named from
the run's schedule time, that retries that company's work for the same run (through
run_task). Functions-framework, the local Firestore and the real client throughout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.domain.common import stable_id
from tests.fakes import FakeTaskQueue
from tests.integration.event_support import memory_queue
from tests.integration.periodic_support import seed as write_as_functions
from tests.support import docs, seed_company

EVERY_MINUTE = {"type": "schedule", "cron": "* * * * *"}
FEB_30 = {"type": "schedule", "cron": "0 0 30 2 *"}  # never comes
STEP = {"id": "s1", "type": "add_tag", "tag": "weekly"}


@pytest.fixture
def queue(functions_env: None, monkeypatch: pytest.MonkeyPatch) -> FakeTaskQueue:
    """Cloud Tasks recorded in memory; run_task is called by the tests themselves."""
    return memory_queue(monkeypatch)


def scheduler(job: str, when: datetime) -> dict[str, str]:
    return {"X-CloudScheduler-JobName": job, "X-CloudScheduler-ScheduleTime": when.isoformat()}


def retries(db: Any, company_id: str) -> dict[str, dict[str, Any]]:
    """The company's periodic retry tasks, by id."""
    tasks = docs(db, f"companies/{company_id}/scheduled_tasks")
    return {k: v for k, v in tasks.items() if v["type"] == "periodic_retry"}


def run_task(function_client: Any, company_id: str, task_id: str) -> dict[str, Any]:
    body = {"company_id": company_id, "task_id": task_id}
    res = function_client("run_task").post("/", json=body)
    assert 200 == res.status_code, res.get_json()
    return dict(res.get_json())


def test_a_cron_that_never_fires_is_refused_when_saved(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """400 naming trigger.cron and why (no time in the next years matches); a cron that
    comes only on 29 February is fine."""
    seed_company(db)
    flows, manager = function_client("workflows"), staff_auth("acme", "manager")
    body = {"id": "w", "workflow": {"name": "Never", "trigger": FEB_30, "steps": [STEP]}}
    refused = flows.post("/", json=body, headers=manager)
    assert 400 == refused.status_code, refused.get_json()
    reason = refused.get_json()["error"]["details"]["fields"]["trigger.cron"]
    assert "never fires" in reason
    leap = {"type": "schedule", "cron": "0 9 29 2 *"}
    body["workflow"] = {"name": "Leap day", "trigger": leap, "steps": [STEP]}
    assert 201 == flows.post("/", json=body, headers=manager).status_code


def test_a_bad_schedule_costs_no_other_company_its_enrolments(
    db: Any, queue: FakeTaskQueue, function_client: Any
) -> None:
    """Globex saved a 30 February cron before it was refused: the minute's run still fires
    acme's workflow and answers 200; globex gets one retry task, and the same run again
    (Scheduler's retry) adds none."""
    created = datetime.now(UTC) - timedelta(days=1)
    for company_id, trigger in (("acme", EVERY_MINUTE), ("globex", FEB_30)):
        seed_company(db, company_id)
        workflow = {"id": "w", "company_id": company_id, "name": "Weekly", "status": "active"}
        workflow |= {"trigger": trigger, "steps": [STEP], "created_at": created, "version": 1}
        db.document(f"companies/{company_id}/workflows/w").set(workflow)
    when = datetime.now(UTC).replace(second=0, microsecond=0)
    headers = scheduler("growthkit-enrol-scheduled-workflows", when)
    client = function_client("enrol_scheduled_workflows")
    first = client.post("/", headers=headers)
    assert 200 == first.status_code, first.get_json()
    fired = db.document("companies/acme/workflows/w").get().get("schedule_fired_at")
    assert when == fired
    (retry,) = retries(db, "globex").values()
    assert {"job": "enrol_scheduled_workflows", "schedule_time": when} == {
        k: retry["data"][k] for k in ("job", "schedule_time")
    }
    assert 200 == client.post("/", headers=headers).status_code
    assert [retry["id"]] == list(retries(db, "globex"))
    assert {} == retries(db, "acme")


def test_a_failing_company_is_rolled_up_by_its_retry_for_the_same_day(
    db: Any, queue: FakeTaskQueue, function_client: Any
) -> None:
    """A website event counter holding NaN breaks globex's rollup: acme's metrics are
    written and the run answers 200; once the data is mended, globex's retry task rolls up
    the same day (the run's, not the day it runs)."""
    day = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    for company_id in ("acme", "globex"):
        seed_company(db, company_id)
    leads = [(f"companies/{c}/leads/l1", {"created_at": day}) for c in ("acme", "globex")]
    poison = {"total": float("nan"), "sessions": 1}
    counter = "companies/globex/analytics_event_counts/2026-11-20-00"
    write_as_functions(db, [*leads, (counter, poison)], day)
    headers = scheduler("growthkit-rollup-analytics", datetime(2026, 11, 21, 0, 15, tzinfo=UTC))
    res = function_client("rollup_analytics").post("/", headers=headers)
    assert (200, ["globex"]) == (res.status_code, res.get_json()["failed"]), res.get_json()
    assert 1 == docs(db, "companies/acme/analytics")["2026-11-20-leads-total"]["value"]
    assert {} == docs(db, "companies/globex/analytics")
    (task_id,) = retries(db, "globex")
    db.document(counter).update({"total": 2})
    assert "completed" == run_task(function_client, "globex", task_id)["outcome"]
    assert 1 == docs(db, "companies/globex/analytics")["2026-11-20-leads-total"]["value"]


def test_a_failing_company_does_not_stop_the_others_decay(
    db: Any, queue: FakeTaskQueue, function_client: Any
) -> None:
    """Globex has a lead whose engagement points are unreadable: acme's leads still decay
    and the run answers 200; globex gets its retry task, named from the run."""
    when = datetime.now(UTC).replace(second=0, microsecond=0)
    long_ago = when - timedelta(days=40)
    for company_id, points in (("acme", 40), ("globex", float("nan"))):
        seed_company(db, company_id, settings={"engagement_decay_percent": 50})
        lead = {"engagement_points": points, "engagement_decay_from": long_ago}
        db.document(f"companies/{company_id}/leads/l1").set(lead | {"score": 40})
    headers = scheduler("growthkit-decay-engagement-scores", when)
    res = function_client("decay_engagement_scores").post("/", headers=headers)
    assert 200 == res.status_code, res.get_json()
    assert 20 == db.document("companies/acme/leads/l1").get().get("engagement_points")
    (retry,) = retries(db, "globex").values()
    key = f"periodic:decay_engagement_scores:globex:{when.isoformat()}"
    assert (stable_id(key), key) == (retry["id"], retry["key"])
