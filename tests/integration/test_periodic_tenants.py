"""Periodic functions fan out, one task per company with work, through functions-framework,
the local Firestore and the local Cloud Tasks with the real clients: Cloud Scheduler's
call schedules the active companies' tasks and none for the idle ones, a repeated call
schedules nothing, a run longer than a page continues itself, a large company's work is
split into pages, and a company whose work fails is retried alone (its task, by Cloud
Tasks) while the others' is done. A cron that never fires is refused when saved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from localcloud.tasks.testing import wait_until
from shared.scoring.services import engagement
from shared.services import periodic
from tests.fakes import FakeTaskQueue
from tests.integration.periodic_support import Cloud, scheduler, seed
from tests.support import docs, seed_company

EVERY_MINUTE = {"type": "schedule", "cron": "* * * * *"}
FEB_30 = {"type": "schedule", "cron": "0 0 30 2 *"}  # never comes
STEP = {"id": "s1", "type": "add_tag", "tag": "weekly"}
YESTERDAY = datetime.now(UTC).replace(hour=15, minute=0, microsecond=0) - timedelta(days=1)
TONIGHT = datetime.now(UTC).replace(hour=0, minute=15, second=0, microsecond=0)
ROLLUP = "growthkit-rollup-analytics"


def active_yesterday(db: Any, *companies: str) -> None:
    """A lead for each company yesterday, written as the functions write it."""
    for company_id in companies:
        seed_company(db, company_id)
    leads = [(f"companies/{c}/leads/l1", {"created_at": YESTERDAY}) for c in companies]
    seed(db, leads, YESTERDAY)


def leads_total(db: Any, company_id: str) -> int | None:
    day = YESTERDAY.date().isoformat()
    metric = docs(db, f"companies/{company_id}/analytics").get(f"{day}-leads-total")
    return None if metric is None else int(metric["value"])


def company_tasks(db: Any, company_id: str) -> list[dict[str, Any]]:
    found = docs(db, f"companies/{company_id}/scheduled_tasks").values()
    return [t for t in found if t["type"] == "periodic_company"]


def test_a_run_fans_out_one_task_per_active_company_and_a_repeat_adds_none(
    db: Any, cloud: Cloud, function_client: Any
) -> None:
    """Three companies were active yesterday, hooli idle: Scheduler's call stores and
    enqueues three tasks; its retry (same schedule time) adds none to Firestore or to
    the queue. Cloud Tasks then delivers them to run_task: three rollups, none for hooli."""
    active_yesterday(db, "acme", "globex", "initech")
    seed_company(db, "hooli")
    client, run = function_client("rollup_analytics"), scheduler(ROLLUP, TONIGHT)
    first = client.post("/", headers=run).get_json()
    assert (1, 3, 3, False) == (
        first["page"],
        first["companies"],
        first["scheduled"],
        first["continued"],
    )
    queued = cloud.names()
    owners = [[c for c in ("acme", "globex", "initech", "hooli") if f"-{c}-" in n] for n in queued]
    assert [["acme"], ["globex"], ["initech"]] == sorted(owners)
    again = client.post("/", headers=run).get_json()
    assert (0, queued) == (again["scheduled"], cloud.names())
    cloud.resume()
    wait_until(lambda: not cloud.names(), timeout=30)
    totals = {c: leads_total(db, c) for c in ("acme", "globex", "initech", "hooli")}
    assert {"acme": 1, "globex": 1, "initech": 1, "hooli": None} == totals
    assert [] == company_tasks(db, "hooli")


def test_a_run_longer_than_a_page_continues_itself(
    db: Any, cloud: Cloud, function_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of two companies: Scheduler's call schedules two and enqueues its
    continuation, a Cloud Task to the same function; Cloud Tasks runs it, and the next,
    until the five active companies are rolled up. The continuation delivered again
    schedules nothing."""
    monkeypatch.setattr(periodic, "FANOUT_PAGE", 2)
    companies = [f"co{i}" for i in range(5)]
    active_yesterday(db, *companies)
    first = function_client("rollup_analytics").post("/", headers=scheduler(ROLLUP, TONIGHT))
    assert (2, True, 3) == (
        first.get_json()["scheduled"],
        first.get_json()["continued"],
        len(cloud.names()),
    )
    continuation = _continuation_body(cloud)
    cloud.resume()
    wait_until(lambda: all(leads_total(db, c) == 1 for c in companies), timeout=30)
    wait_until(lambda: not cloud.names(), timeout=30)
    again = function_client("rollup_analytics").post("/", json=continuation).get_json()
    assert (2, 0) == (again["page"], again["scheduled"])


def _continuation_body(cloud: Cloud) -> dict[str, Any]:
    import json

    from google.cloud import tasks_v2

    full = tasks_v2.Task.View.FULL
    request = {"parent": cloud.queue_path, "response_view": full}
    for task in cloud.client.list_tasks(request=request):
        if task.http_request.url.endswith("/rollup_analytics"):
            body: dict[str, Any] = json.loads(task.http_request.body)
            return body
    raise AssertionError("no continuation in the queue")


def test_a_company_whose_rollup_fails_is_retried_alone(
    db: Any, cloud: Cloud, function_client: Any
) -> None:
    """A website event counter holding NaN breaks globex's rollup: acme's metrics are
    written; globex's task answers 503 and Cloud Tasks retries it, alone; once the data
    is mended, a retry rolls globex up for the same day (the run's, not the retry's)."""
    active_yesterday(db, "acme", "globex")
    day = YESTERDAY.date().isoformat()
    counter = f"companies/globex/analytics_event_counts/{day}-00"
    seed(db, [(counter, {"total": float("nan"), "sessions": 1})], YESTERDAY)
    function_client("rollup_analytics").post("/", headers=scheduler(ROLLUP, TONIGHT))
    cloud.resume()
    wait_until(lambda: leads_total(db, "acme") == 1, timeout=30)
    wait_until(lambda: (company_tasks(db, "globex") or [{}])[0].get("error"), timeout=30)
    (failing,) = company_tasks(db, "globex")
    assert (None, "ValueError") == (leads_total(db, "globex"), failing["error"].split(": ")[2])
    db.document(counter).update({"total": 2})
    wait_until(lambda: leads_total(db, "globex") == 1, timeout=30)
    assert [1] == [len(company_tasks(db, c)) for c in ("acme",)]


def test_a_large_company_is_split_into_pages(
    db: Any, cloud: Cloud, function_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of three leads: seven leads due for decay are done by three tasks of the
    company, each scheduling the next (the last one short); each lead decays once."""
    monkeypatch.setattr(engagement, "DECAY_PAGE", 3)
    when = datetime.now(UTC).replace(second=0, microsecond=0)
    seed_company(db, settings={"engagement_decay_percent": 50, "engagement_decay_days": 7})
    long_ago = when - timedelta(days=8)
    for i in range(7):
        lead = {"engagement_points": 40, "score": 40, "engagement_decay_from": long_ago}
        db.document(f"companies/acme/leads/l{i}").set(lead)
    headers = scheduler("growthkit-decay-engagement-scores", when)
    assert (
        1
        == function_client("decay_engagement_scores")
        .post("/", headers=headers)
        .get_json()["scheduled"]
    )
    cloud.resume()

    def decayed() -> list[int]:
        points = [d["engagement_points"] for d in docs(db, "companies/acme/leads").values()]
        return points if points == [20] * 7 and not cloud.names() else []

    wait_until(decayed, timeout=30)
    pages = sorted((t["data"]["page"], t["result"]["result"]) for t in company_tasks(db, "acme"))
    assert [(1, 3), (2, 3), (3, 1)] == pages


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
    db: Any, cloud: Cloud, function_client: Any
) -> None:
    """Globex saved a 30 February cron before it was refused (and a next time was given
    it): the minute's run fires acme's workflow; globex's task fails and is retried alone
    until Cloud Tasks gives up (three attempts here), the error on the task; the same run
    again schedules nothing."""
    created = datetime.now(UTC) - timedelta(days=1)
    when = datetime.now(UTC).replace(second=0, microsecond=0)
    for company_id, trigger in (("acme", EVERY_MINUTE), ("globex", FEB_30)):
        seed_company(db, company_id)
        workflow = {"id": "w", "company_id": company_id, "name": "Weekly", "status": "active"}
        workflow |= {"trigger": trigger, "steps": [STEP], "created_at": created, "version": 1}
        workflow |= {"next_fire_at": when - timedelta(minutes=1), "schema_version": 3}
        db.document(f"companies/{company_id}/workflows/w").set(workflow)
    headers = scheduler("growthkit-enrol-scheduled-workflows", when)
    client = function_client("enrol_scheduled_workflows")
    assert 2 == client.post("/", headers=headers).get_json()["scheduled"]
    assert 0 == client.post("/", headers=headers).get_json()["scheduled"]
    cloud.resume()

    def settled() -> bool:
        acme = db.document("companies/acme/workflows/w").get().to_dict()
        return acme.get("schedule_fired_at") == when and not cloud.names()

    wait_until(settled, timeout=30)
    (globex,) = company_tasks(db, "globex")
    assert ("pending", 3) == (globex["status"], globex["retry_count"])
    assert "CroniterBadDateError" in globex["error"]
    assert when + timedelta(minutes=1) == db.document("companies/acme/workflows/w").get().get(
        "next_fire_at"
    )
