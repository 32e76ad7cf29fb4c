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
from shared.manifest import FUNCTIONS, Trigger
from tests.integration.event_support import ProjectFeed, memory_queue
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
def feed(firestore_server: Any, project_id: str) -> Iterator[ProjectFeed]:
    captured = ProjectFeed(firestore_server.store, project_id)
    yield captured
    captured.close()


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
    events = EventBridge(feed, f"http://127.0.0.1:{server.server_port}", duplicate=True)  # type: ignore[arg-type]
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
    db: Any, function_client: Any
) -> None:
    """50% a week: a lead quiet for 15 days loses two halvings, once, however often the
    run is retried; a lead engaged 3 days ago keeps its points."""
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
    assert [(1, 1), (1, 0)] == [(a["companies"], a["leads"]) for a in answers]
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
