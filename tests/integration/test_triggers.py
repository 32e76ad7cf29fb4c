"""The Firestore triggers through functions-framework, with real binary-mode CloudEvents
built from real commits of the local Firestore, every one delivered twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from localcloud.eventarc import EventBridge
from shared import bootstrap
from shared.devstack.manifest import growthkit_manifest
from shared.domain.common import stable_id
from shared.domain.content import publication_key
from shared.manifest import FUNCTIONS, Trigger
from shared.services.scheduling import schedule_task
from tests.fakes import FakeTaskQueue
from tests.integration.event_support import ProjectFeed, RoundTrips, deliver
from tests.support import docs, seed_company

LEAD = "companies/acme/leads/l1"
SECOND_LEAD = "companies/acme/leads/l2"
NEW_LEAD = {"email": "jane@example.com", "name": "Jane", "phone": "555-0100", "status": "new"}


def markers(db: Any) -> list[str]:
    return sorted(d["function"] for d in docs(db, "companies/acme/processed_events").values())


def test_lead_is_scored_once_and_the_trigger_settles(
    db: Any, feed: ProjectFeed, queue: FakeTaskQueue, function_client: Any
) -> None:
    """The lead's create event, twice: one score, one history record per rule that
    matched, one marker. The score write's own event, twice: nothing written (no loop)."""
    seed_company(db)
    db.document(LEAD).set(NEW_LEAD)
    client = function_client("on_lead_written")
    assert [200, 200] == deliver(client, "on_lead_written", *feed.last(LEAD))
    lead = db.document(LEAD).get()
    assert (15, "warm") == (lead.get("score"), lead.get("temperature"))
    history = docs(db, "companies/acme/lead_score_history").values()
    assert [("has_name", 5), ("has_phone", 10)] == sorted(
        (h["rule_name"], h["points"]) for h in history
    )
    assert ["on_lead_written"] == markers(db)
    commit, change = feed.last(LEAD)
    sheet = {"score_state", "score_once", "engagement_points", "fit_score", "engagement_score"}
    written = {path.split(".")[0] for path in change.update_mask}
    assert {"score", "temperature", "scored_at", *sheet} == written
    deliver(client, "on_lead_written", commit, change)
    assert lead.update_time == db.document(LEAD).get().update_time
    assert (2, 1) == (len(docs(db, "companies/acme/lead_score_history")), len(markers(db)))


def test_trigger_round_trips(
    db: Any,
    feed: ProjectFeed,
    queue: FakeTaskQueue,
    function_client: Any,
    firestore_server: Any,
    project_id: str,
) -> None:
    """A company's first scoring run also queries its rules and writes their copy; from
    then on a run is one batched read and one commit; the create event again (a new
    event id, so it is rescored) is that read without a commit, and the settled event
    (only the score's own fields changed) no read at all; a content change that needs no
    work is none; scheduling content is two commits."""
    db.document(LEAD).set(NEW_LEAD)  # no company document yet: defaults apply
    client = function_client("on_lead_written")
    trips = RoundTrips(firestore_server, project_id)
    deliver(client, "on_lead_written", *feed.last(LEAD), times=1)
    assert {"BatchGetDocuments": 1, "RunQuery": 1, "Commit": 2} == trips.delta()
    db.document(SECOND_LEAD).set(NEW_LEAD)
    created = feed.last(SECOND_LEAD)
    trips = RoundTrips(firestore_server, project_id)
    deliver(client, "on_lead_written", *created, times=1)
    assert {"BatchGetDocuments": 1, "Commit": 1} == trips.delta()
    trips = RoundTrips(firestore_server, project_id)
    deliver(client, "on_lead_written", *created, times=1)
    deliver(client, "on_lead_written", *feed.last(SECOND_LEAD), times=1)
    assert {"BatchGetDocuments": 1} == trips.delta()
    path = "companies/acme/content/c1"
    db.document(path).set({"title": "Draft", "status": "draft"})
    content = function_client("on_content_written")
    trips = RoundTrips(firestore_server, project_id)
    deliver(content, "on_content_written", *feed.last(path))
    assert {} == trips.delta()
    when = datetime.now(UTC) + timedelta(days=1)
    db.document(path).update({"status": "scheduled", "scheduled_at": when})
    trips = RoundTrips(firestore_server, project_id)
    deliver(content, "on_content_written", *feed.last(path), times=1)
    assert {"Commit": 2} == trips.delta()  # the task (schedule_task's own), the marker


def test_conversion_schedules_one_review_request(
    db: Any, feed: ProjectFeed, queue: FakeTaskQueue, function_client: Any
) -> None:
    """Status becoming converted, delivered twice: one review_request task, one enqueue."""
    seed_company(db, settings={"review_on_conversion": True})
    db.document(LEAD).set({**NEW_LEAD, "score": 15, "temperature": "warm"})
    db.document(LEAD).update({"status": "converted"})
    deliver(function_client("on_lead_written"), "on_lead_written", *feed.last(LEAD))
    tasks = docs(db, "companies/acme/scheduled_tasks").values()
    assert [("review_request", {"lead_id": "l1"})] == [(t["type"], t["data"]) for t in tasks]
    assert 1 == len(queue.tasks)
    assert db.document(LEAD).get().get("converted_at") is not None


def test_interaction_moves_engagement_forward_once(
    db: Any, feed: ProjectFeed, queue: FakeTaskQueue, function_client: Any
) -> None:
    """An inbound interaction, delivered twice, sets last_engagement_at once."""
    db.document(LEAD).set(NEW_LEAD)
    at = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    path = f"{LEAD}/interactions/i1"
    db.document(path).set({"type": "form", "direction": "inbound", "created_at": at})
    client = function_client("on_interaction_created")
    assert [200, 200] == deliver(client, "on_interaction_created", *feed.last(path))
    assert at == db.document(LEAD).get().get("last_engagement_at")
    assert ["on_interaction_created"] == markers(db)


def test_interaction_round_trips(
    db: Any,
    feed: ProjectFeed,
    queue: FakeTaskQueue,
    function_client: Any,
    firestore_server: Any,
    project_id: str,
) -> None:
    """One batched read (lead and marker) and one commit; the duplicate only reads."""
    db.document(LEAD).set(NEW_LEAD)
    path = f"{LEAD}/interactions/i1"
    db.document(path).set({"type": "form", "created_at": datetime.now(UTC)})
    client, event = function_client("on_interaction_created"), feed.last(path)
    trips = RoundTrips(firestore_server, project_id)
    deliver(client, "on_interaction_created", *event, times=1)
    assert {"BatchGetDocuments": 1, "Commit": 1} == trips.delta()
    trips = RoundTrips(firestore_server, project_id)
    deliver(client, "on_interaction_created", *event, times=1)
    assert {"BatchGetDocuments": 1} == trips.delta()


def test_completed_review_cancels_reminders(
    db: Any, feed: ProjectFeed, queue: FakeTaskQueue, function_client: Any
) -> None:
    """A review becoming completed, delivered twice, cancels its reminder once."""
    now = datetime.now(UTC)
    task_id = schedule_task(
        bootstrap.document_store(),
        queue,
        now,
        company_id="acme",
        task_type="review_reminder",
        data={"review_id": "r1", "number": 1},
        run_at=now + timedelta(days=3),
        key="reminder-r1-1",
    )
    review = {
        **{"id": "r1", "company_id": "acme", "lead_id": "l1", "platform": "google"},
        **{"requested_at": now, "review_url": "https://g.example", "request_message": "Hi"},
        **{"status": "requested", "reminder_task_ids": [task_id]},
    }
    path = "companies/acme/reviews/r1"
    db.document(path).set(review)
    db.document(path).update({"status": "completed", "rating": 5})
    assert [200, 200] == deliver(
        function_client("on_review_written"), "on_review_written", *feed.last(path)
    )
    task = db.document(f"companies/acme/scheduled_tasks/{task_id}").get()
    assert ("cancelled", ["on_review_written"]) == (task.get("status"), markers(db))


def test_scheduled_content_gets_one_publish_task(
    db: Any, feed: ProjectFeed, queue: FakeTaskQueue, function_client: Any
) -> None:
    """Content saved as scheduled, delivered twice: one publish task for its time."""
    when = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)
    path = "companies/acme/content/c1"
    db.document(path).set({"title": "Xmas", "status": "scheduled", "scheduled_at": when})
    deliver(function_client("on_content_written"), "on_content_written", *feed.last(path))
    tasks = docs(db, "companies/acme/scheduled_tasks")
    task = tasks[stable_id(publication_key("c1", when))]
    assert (1, "publish_content", when) == (len(tasks), task["type"], task["scheduled_for"])
    assert 1 == len(queue.tasks)


def test_garbage_event_is_logged_not_raised(queue: FakeTaskQueue, function_client: Any) -> None:
    """An undecodable event is answered 200: retrying could never fix it."""
    headers = {
        "ce-id": "x1",
        "ce-specversion": "1.0",
        "ce-source": "//firestore.googleapis.com/projects/p/databases/(default)",
        "ce-type": "google.cloud.firestore.document.v1.written",
        "ce-subject": "documents/companies/acme/leads/l1",
        "ce-document": "companies/acme/leads/l1",
        "Content-Type": "application/protobuf",
    }
    res = function_client("on_lead_written").post("/", data=b"\xff\x00garbage", headers=headers)
    assert 200 == res.status_code


@pytest.fixture
def trigger_server(functions_env: None) -> Iterator[str]:
    """The four triggers behind a real HTTP server at /<name>, as the bridge posts."""
    import functions_framework
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    from localcloud.functions_host import FunctionRouter

    apps = {
        f.name: functions_framework.create_app(f.name, "functions/main.py", "cloudevent")
        for f in FUNCTIONS
        if f.trigger is Trigger.EVENT
    }
    router = FunctionRouter(apps, Response("no such function", status=404))
    server = make_server("127.0.0.1", 0, router, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_event_bridge_delivering_everything_twice(
    db: Any, feed: ProjectFeed, queue: FakeTaskQueue, trigger_server: str
) -> None:
    """The real Eventarc bridge, every event twice, over HTTP: one score with a history
    record per matched rule, one review request on conversion, one publish task for
    scheduled content."""
    seed_company(db, settings={"review_on_conversion": True})
    functions = growthkit_manifest().functions
    bridge = EventBridge(feed, trigger_server, functions=functions, duplicate=True)  # type: ignore[arg-type]
    try:
        db.document(LEAD).set(NEW_LEAD)
        assert bridge.wait_idle(20)
        db.document(LEAD).update({"status": "converted"})
        when = datetime.now(UTC) + timedelta(days=2)
        content = {"title": "Hello", "status": "scheduled", "scheduled_at": when}
        db.document("companies/acme/content/c1").set(content)
        assert bridge.wait_idle(20)
    finally:
        bridge.close()
    assert all(d.attempt == 1 for d in bridge.delivered)
    lead = db.document(LEAD).get().to_dict()
    assert (15, "warm", True) == (lead["score"], lead["temperature"], "converted_at" in lead)
    assert 2 == len(docs(db, "companies/acme/lead_score_history"))
    types = sorted(t["type"] for t in docs(db, "companies/acme/scheduled_tasks").values())
    assert (["publish_content", "review_request"], 2) == (types, len(queue.tasks))
    assert ["on_content_written", "on_lead_written", "on_lead_written"] == markers(db)
