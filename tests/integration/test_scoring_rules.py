"""Company scoring rules on the local stack: the real Eventarc bridge delivers every
event twice to every trigger over HTTP; fit and engagement scores come out once, with a
history record per rule; the daily decay runs through its Scheduler function."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from localcloud.eventarc import EventBridge
from shared.devstack.manifest import growthkit_manifest
from shared.manifest import FUNCTIONS, Trigger
from tests.integration.event_support import ProjectFeed, memory_queue
from tests.integration.periodic_support import drain
from tests.support import docs, seed_company

LEAD = "companies/acme/leads/l1"
RULES = {
    "owner": {
        "name": "Business owner",
        "category": "demographic",
        "criteria": [{"field": "custom_fields.role", "op": "==", "value": "owner"}],
        "points": 25,
    },
    "opened": {
        "name": "Opened an e-mail",
        "category": "engagement",
        "criteria": [{"field": "interaction.status", "op": "==", "value": "opened"}],
        "points": 5,
    },
    "first-reply": {
        "name": "First reply",
        "category": "behavioural",
        "criteria": [{"field": "interaction.status", "op": "==", "value": "replied"}],
        "points": 20,
        "repeatable": False,
    },
}


@pytest.fixture
def bridge(
    feed: ProjectFeed, functions_env: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EventBridge]:
    """Every event function behind a real HTTP server, fed by the Eventarc bridge with
    every event delivered twice; Cloud Tasks in memory."""
    import functions_framework
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    from localcloud.functions_host import FunctionRouter

    memory_queue(monkeypatch)
    apps = {
        f.name: functions_framework.create_app(f.name, "functions/main.py", "cloudevent")
        for f in FUNCTIONS
        if f.trigger is Trigger.EVENT
    }
    server = make_server("127.0.0.1", 0, FunctionRouter(apps, Response(status=404)), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url, functions = f"http://127.0.0.1:{server.server_port}", growthkit_manifest().functions
    events = EventBridge(feed, url, functions=functions, duplicate=True)  # type: ignore[arg-type]
    yield events
    events.close()
    server.shutdown()


def history(db: Any) -> list[tuple[str, int]]:
    entries = docs(db, "companies/acme/lead_score_history").values()
    return sorted((h["rule_id"], h["points"]) for h in entries)


def test_fit_and_engagement_scores_with_history_under_duplicate_events(
    db: Any, bridge: EventBridge
) -> None:
    """A business owner scores 25 fit; two opens and two replies (each event twice) add
    5 + 5 + 20 engagement (the reply rule is first-time-only); one history record per
    award; every trigger settles."""
    seed_company(db)
    for rule_id, rule in RULES.items():
        db.document(f"companies/acme/scoring_rules/{rule_id}").set(rule)
    db.document(LEAD).set({"email": "jane@example.com", "custom_fields": {"role": "owner"}})
    assert bridge.wait_idle(20)
    for n, status in enumerate(["opened", "opened", "replied", "replied"]):
        db.document(f"{LEAD}/interactions/i{n}").set({"type": "email", "status": status})
        assert bridge.wait_idle(20)
    lead = db.document(LEAD).get().to_dict()
    assert (25, 30, 55, "hot") == (
        lead["fit_score"],
        lead["engagement_score"],
        lead["score"],
        lead["temperature"],
    )
    assert [("first-reply", 20), ("opened", 5), ("opened", 5), ("owner", 25)] == history(db)
    assert all(d.attempt == 1 for d in bridge.delivered)


def test_engagement_decays_daily_through_the_scheduler_function(
    db: Any, function_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """50% a week: a lead quiet for 15 days loses two halvings, once, however often the
    run is retried (the retry schedules no second task); a lead engaged 3 days ago keeps
    its points."""
    queue = memory_queue(monkeypatch)
    settings = {"engagement_decay_percent": 50, "engagement_decay_days": 7}
    seed_company(db, settings=settings)
    now = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)
    for lead_id, quiet_days in (("quiet", 15), ("recent", 3)):
        since = now - timedelta(days=quiet_days)
        data = {"email": f"{lead_id}@example.com", "engagement_points": 40, "score": 40}
        db.document(f"companies/acme/leads/{lead_id}").set({**data, "engagement_decay_from": since})
    run = {
        "X-CloudScheduler-JobName": "growthkit-decay-engagement-scores",
        "X-CloudScheduler-ScheduleTime": now.isoformat(),
    }
    client = function_client("decay_engagement_scores")
    answers = [client.post("/", headers=run).get_json() for _ in range(2)]
    assert [(1, 1), (1, 0)] == [(a["companies"], a["scheduled"]) for a in answers]
    drain(function_client, queue)
    quiet = db.document("companies/acme/leads/quiet").get().to_dict()
    recent = db.document("companies/acme/leads/recent").get().to_dict()
    assert (10, 10, 40) == (quiet["engagement_points"], quiet["score"], recent["engagement_points"])
    assert [("decay", -30)] == history(db)


def test_a_score_threshold_starts_a_workflow(db: Any, bridge: EventBridge) -> None:
    """A workflow triggered at score 40 enrols a lead at 25 when a reply takes it to 45."""
    seed_company(db)
    for rule_id, rule in RULES.items():
        db.document(f"companies/acme/scoring_rules/{rule_id}").set(rule)
    workflow = {
        "name": "Hot lead",
        "status": "active",
        "trigger": {"type": "score_reached", "score": 40, "time_zone": "UTC", "conditions": []},
        "steps": [{"id": "task", "type": "create_task", "title": "Call {name}"}],
        "goals": [],
        "allow_reenrolment": False,
        "version": 1,
    }
    db.document("companies/acme/workflows/hot").set(workflow)
    db.document(LEAD).set(
        {"email": "jane@example.com", "name": "Jane", "custom_fields": {"role": "owner"}}
    )
    assert bridge.wait_idle(20)
    assert {} == docs(db, "companies/acme/workflow_executions")
    db.document(f"{LEAD}/interactions/r1").set({"type": "email", "status": "replied"})
    assert bridge.wait_idle(20)
    (execution,) = docs(db, "companies/acme/workflow_executions").values()
    assert ("hot", "score_reached") == (execution["workflow_id"], execution["enrolled_by"])


RULES_URL = "/companies/acme/scoring_rules"


def copied(db: Any) -> list[tuple[str, int]]:
    """The (rule id, points) pairs of the company's rules copy, which scoring reads."""
    copy = db.document("companies/acme/config/scoring_rules").get().to_dict() or {}
    return sorted((r["id"], r["points"]) for r in copy.get("rules", []))


def test_admins_manage_rules_through_the_staff_api_and_scoring_follows(
    db: Any, bridge: EventBridge, function_client: Any, staff_auth: Any
) -> None:
    """An admin creates two rules, lists them by category, activity and priority page by
    page, reads, changes and deletes one; each write is stamped, and after each the
    Eventarc delivery of on_scoring_rule_written rebuilds the copy, so a lead written
    next is scored by the rules as the API left them."""
    seed_company(db)
    api = function_client("staff_api")
    admin = staff_auth("acme", "admin", uid="a1")
    made = {}
    for key in ("owner", "opened"):
        body = RULES[key] | {"priority": 5 if key == "owner" else 1}
        res = api.post(RULES_URL, json=body | {"active": key == "owner"}, headers=admin)
        assert 201 == res.status_code, res.get_json()
        made[key] = res.get_json()
    owner, opened = made["owner"]["id"], made["opened"]["id"]
    assert ("a1", "a1", "acme") == tuple(
        made["owner"][k] for k in ("created_by", "updated_by", "company_id")
    )
    assert bridge.wait_idle(20)
    assert sorted([(owner, 25), (opened, 5)]) == copied(db)

    def names(**args: str) -> list[str]:
        res = api.get(RULES_URL, query_string=args, headers=staff_auth("acme", "user"))
        assert 200 == res.status_code, res.get_json()
        return [i["id"] for i in res.get_json()["items"]]

    assert [owner] == names(category="demographic,firmographic")
    assert [opened] == names(active="false")
    assert [opened, owner] == names(sort="-created_at")
    first = api.get(RULES_URL, query_string={"sort": "-priority", "limit": "1"}, headers=admin)
    cursor = first.get_json()["next_cursor"]
    second = api.get(
        RULES_URL, query_string={"sort": "-priority", "limit": "1", "cursor": cursor}, headers=admin
    ).get_json()
    assert [[owner], [opened], None] == [
        [i["id"] for i in first.get_json()["items"]],
        [i["id"] for i in second["items"]],
        second["next_cursor"],
    ]
    assert made["owner"] == api.get(f"{RULES_URL}/{owner}", headers=admin).get_json()

    other_admin = staff_auth("acme", "admin", uid="a2")
    patched = api.patch(f"{RULES_URL}/{owner}", json={"points": 30}, headers=other_admin)
    assert (200, 30, "a1", "a2") == (
        patched.status_code,
        *(patched.get_json()[k] for k in ("points", "created_by", "updated_by")),
    )
    assert 204 == api.delete(f"{RULES_URL}/{opened}", headers=admin).status_code
    assert 404 == api.get(f"{RULES_URL}/{opened}", headers=admin).status_code
    assert bridge.wait_idle(20)
    assert [(owner, 30)] == copied(db)
    db.document(LEAD).set({"email": "jane@example.com", "custom_fields": {"role": "owner"}})
    assert bridge.wait_idle(20)
    assert 30 == db.document(LEAD).get().get("fit_score")


def test_only_the_companys_admins_write_rules_and_bad_ones_are_named(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """Users and managers read rules but writing is a 403, as is anything for another
    company's admin; a bad criterion is a 400 naming its path, and nothing is stored."""
    seed_company(db)
    seed_company(db, "globex")
    api = function_client("staff_api")
    rule_id = "r1"
    db.document(f"companies/acme/scoring_rules/{rule_id}").set(
        RULES["owner"]
        | {"id": rule_id, "priority": 0, "active": True, "created_at": datetime.now(UTC)}
    )
    item = f"{RULES_URL}/{rule_id}"
    outcomes = {}
    for who, headers in (
        ("user", staff_auth("acme", "user")),
        ("manager", staff_auth("acme", "manager")),
        ("globex admin", staff_auth("globex", "admin")),
    ):
        outcomes[who] = [
            api.get(RULES_URL, headers=headers).status_code,
            api.get(item, headers=headers).status_code,
            api.post(RULES_URL, json=RULES["opened"], headers=headers).status_code,
            api.patch(item, json={"points": 1}, headers=headers).status_code,
            api.delete(item, headers=headers).status_code,
        ]
    assert {
        "user": [200, 200, 403, 403, 403],
        "manager": [200, 200, 403, 403, 403],
        "globex admin": [403] * 5,
    } == outcomes
    admin = staff_auth("acme", "admin")
    bad = RULES["owner"] | {"criteria": [{"field": "phone", "op": "matches"}]}
    refused = api.post(RULES_URL, json=bad, headers=admin)
    assert 400 == refused.status_code
    assert ["criteria.0.op"] == list(refused.get_json()["error"]["details"]["fields"])
    fit_on_events = {"category": "firmographic", "criteria": RULES["opened"]["criteria"]}
    refused = api.patch(item, json=fit_on_events, headers=admin)
    assert 400 == refused.status_code
    assert ["criteria.0.field"] == list(refused.get_json()["error"]["details"]["fields"])
    assert [rule_id] == list(docs(db, "companies/acme/scoring_rules"))
    assert 25 == db.document(f"companies/acme/scoring_rules/{rule_id}").get().get("points")


def rescore_tasks(db: Any, status: str = "pending") -> list[dict[str, Any]]:
    tasks = docs(db, "companies/acme/scheduled_tasks")
    found = [
        {"id": i, **t}
        for i, t in tasks.items()
        if t["type"] == "rescore_leads" and t["status"] == status
    ]
    return sorted(found, key=lambda t: t["data"]["page"])


def run_pending_rescores(db: Any, run_task: Any) -> list[dict[str, Any]]:
    """Deliver each pending rescore task to run_task, as Cloud Tasks does, until none is
    left (each page schedules the next); the results, in order."""
    results = []
    while pending := rescore_tasks(db):
        body = {"company_id": "acme", "task_id": pending[0]["id"]}
        answer = run_task.post("/", json=body)
        assert 200 == answer.status_code, answer.get_data(as_text=True)
        results.append(answer.get_json())
    return results


def test_a_new_or_changed_rule_rescores_the_existing_leads_page_by_page(
    db: Any,
    bridge: EventBridge,
    function_client: Any,
    staff_auth: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Five leads scored before the company had rules. An admin adds a rule: the rule's
    event schedules a rescoring of every lead, a named task per page of two leads, each
    scheduling the next; the three owners score 25, the others 0, each change in the
    history. A page delivered twice does nothing more. Changing the rule rescores again;
    a run whose rules were replaced meanwhile stops, the newer one finishes."""
    from shared.scoring.services import rescore

    monkeypatch.setattr(rescore, "PAGE", 2)
    seed_company(db)
    for i in range(5):
        role = "owner" if i % 2 == 0 else "staff"
        lead = {"email": f"p{i}@example.com", "name": f"P {i}", "custom_fields": {"role": role}}
        db.document(f"companies/acme/leads/l{i}").set(lead)
    assert bridge.wait_idle(20)
    assert {5} == {db.document(f"companies/acme/leads/l{i}").get().get("score") for i in range(5)}
    api, run_task = function_client("staff_api"), function_client("run_task")
    admin = staff_auth("acme", "admin", uid="a1")

    made = api.post(RULES_URL, json=RULES["owner"], headers=admin)
    assert 201 == made.status_code, made.get_json()
    assert bridge.wait_idle(20)
    first = run_pending_rescores(db, run_task)
    assert bridge.wait_idle(20)
    # Every lead changes: the defaults that scored them give way to the company's rules.
    assert [(2, 2), (2, 2), (1, 1)] == [
        (r["result"]["leads"], r["result"]["rescored"]) for r in first
    ]
    fits = [db.document(f"companies/acme/leads/l{i}").get().get("fit_score") for i in range(5)]
    assert [25, 0, 25, 0, 25] == fits
    owner = made.get_json()["id"]
    assert 3 == sum(1 for rule, points in history(db) if (rule, points) == (owner, 25))
    done = rescore_tasks(db, "completed")
    assert [0, 1, 2] == [t["data"]["page"] for t in done]
    again = run_task.post("/", json={"company_id": "acme", "task_id": done[0]["id"]})
    assert "duplicate" == again.get_json()["outcome"]

    patched = api.patch(f"{RULES_URL}/{owner}", json={"points": 40}, headers=admin)
    assert 200 == patched.status_code
    assert bridge.wait_idle(20)
    (stale,) = rescore_tasks(db)
    newer = api.patch(f"{RULES_URL}/{owner}", json={"points": 50}, headers=admin)
    assert 200 == newer.status_code
    assert bridge.wait_idle(20)
    results = run_pending_rescores(db, run_task)
    assert bridge.wait_idle(20)
    assert {"superseded": True} == next(r["result"] for r in results if r["task_id"] == stale["id"])
    fits = [db.document(f"companies/acme/leads/l{i}").get().get("fit_score") for i in range(5)]
    assert [50, 0, 50, 0, 50] == fits
