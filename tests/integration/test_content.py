"""publish_content through functions-framework, verified ID tokens and the local Firestore;
scheduled publications run through run_task with a publisher that fails once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import bootstrap
from shared.adapters.publishers import LocalPublisher
from shared.domain.common import stable_id
from shared.domain.content import publication_key
from shared.domain.tasks import ScheduledTask
from shared.services import task_handlers
from shared.services.content import publish_content_task
from shared.services.task_handlers import TaskContext
from tests.fakes import FakeTaskQueue, FlakyPublisher
from tests.integration.event_support import ProjectFeed, deliver
from tests.support import docs

PATH = "companies/acme/content/c1"
FLAKY: dict[str, FlakyPublisher] = {}


def flaky_publish(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """The publish_content handler with the test's flaky publisher injected."""
    return publish_content_task(ctx, task, FLAKY["publisher"])


@pytest.fixture
def queue(db: Any, queue: FakeTaskQueue) -> FakeTaskQueue:
    """A social post draft for Acme; Cloud Tasks recorded in memory."""
    db.document(PATH).set({"title": "Spring", "type": "social", "body": "Hi", "status": "draft"})
    return queue


def publish(function_client: Any, headers: dict[str, str], **body: Any) -> Any:
    return function_client("publish_content").post(
        "/", json={"content_id": "c1", **body}, headers=headers
    )


def test_publish_now_records_each_post(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """200 published: a post per platform, the per-platform status map, the ledger, and
    the safety-net task cancelled."""
    res = publish(function_client, staff_auth("acme"), platforms=["blog", "linkedin"])
    body = res.get_json()
    assert (200, "published") == (res.status_code, body["status"])
    content = db.document(PATH).get().to_dict()
    assert {"blog": "published", "linkedin": "published"} == {
        p: s["status"] for p, s in content["platform_status"].items()
    }
    assert ["c1-blog", "c1-linkedin"] == sorted(docs(db, "companies/acme/published_posts"))
    assert ["c1-blog", "c1-linkedin"] == sorted(docs(db, "companies/acme/publications"))
    task = docs(db, "companies/acme/scheduled_tasks")[body["task_id"]]
    assert ("cancelled", content["url"]) == (task["status"], body["url"])


def test_staff_rules(db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any) -> None:
    """No token 401, a plain user 403, another company 403, social without platforms 400."""
    assert 401 == publish(function_client, {}).status_code
    assert 403 == publish(function_client, staff_auth("acme", role="user")).status_code
    other = publish(function_client, staff_auth("globex"), company_id="acme")
    assert 403 == other.status_code
    assert 400 == publish(function_client, staff_auth("acme")).status_code


def test_scheduled_publication_through_run_task_publishes_once(
    db: Any,
    queue: FakeTaskQueue,
    feed: ProjectFeed,
    function_client: Any,
    staff_auth: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Scheduled over HTTP (202) and again seen by on_content_written (twice): one task.
    Its first run fails transiently (503, error recorded), the retry publishes: one post."""
    when = datetime.now(UTC) + timedelta(hours=1)
    res = publish(
        function_client, staff_auth("acme"), scheduled_at=when.isoformat(), platforms=["x"]
    )
    assert (202, "scheduled") == (res.status_code, res.get_json()["status"])
    deliver(function_client("on_content_written"), "on_content_written", *feed.last(PATH))
    task_id = stable_id(publication_key("c1", when))
    assert ([task_id], 1) == (list(docs(db, "companies/acme/scheduled_tasks")), len(queue.tasks))
    FLAKY["publisher"] = FlakyPublisher(LocalPublisher(bootstrap.document_store()), failures=1)
    monkeypatch.setitem(task_handlers.HANDLERS, "publish_content", flaky_publish)
    past = datetime.now(UTC) - timedelta(seconds=1)
    db.document(f"companies/acme/scheduled_tasks/{task_id}").update({"scheduled_for": past})
    run = function_client("run_task")
    first = run.post("/", json={"company_id": "acme", "task_id": task_id})
    state = db.document(PATH).get().to_dict()["platform_status"]["x"]
    assert (503, "pending", 1) == (first.status_code, state["status"], state["attempts"])
    second = run.post("/", json={"company_id": "acme", "task_id": task_id}).get_json()
    assert ("completed", "published") == (second["outcome"], second["result"]["status"])
    assert ["c1-x"] == list(docs(db, "companies/acme/published_posts"))
    assert 2 == FLAKY["publisher"].calls


def test_registered_handler_publishes_with_the_local_publisher(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """The task type as registered (no test handler): run_task publishes the scheduled
    content through the default local publisher, and the content records its URL."""
    when = datetime.now(UTC) + timedelta(minutes=5)
    res = publish(
        function_client, staff_auth("acme"), scheduled_at=when.isoformat(), platforms=["blog"]
    )
    task_id = res.get_json()["task_id"]
    past = datetime.now(UTC) - timedelta(seconds=1)
    db.document(f"companies/acme/scheduled_tasks/{task_id}").update({"scheduled_for": past})
    done = function_client("run_task").post("/", json={"company_id": "acme", "task_id": task_id})
    content = db.document(PATH).get().to_dict()
    post = db.document("companies/acme/published_posts/c1-blog").get().to_dict()
    assert ("completed", "published", post["url"]) == (
        done.get_json()["outcome"],
        content["status"],
        content["url"],
    )
