"""run_task and dispatch_due_tasks through functions-framework and the local Firestore;
one test end to end through the local Cloud Tasks and a real HTTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import bootstrap
from shared.domain.common import stable_id
from shared.domain.tasks import ScheduledTask, cloud_task_name, task_path
from shared.errors import RetryLater, Transient
from shared.ports import Increment, Write
from shared.services import task_handlers
from shared.services.scheduling import schedule_task
from shared.services.task_handlers import TaskContext
from tests.fakes import FakeTaskQueue

TRANSIENT_FAILURES: list[str] = []
JOB = "growthkit-dispatch-due-tasks"


RETRY_AT: list[datetime] = []


def counting_handler(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """Counts its effect in Firestore; fails with Transient while failures are queued,
    with RetryLater while retry times are."""
    if TRANSIENT_FAILURES:
        raise Transient(TRANSIENT_FAILURES.pop(0))
    if RETRY_AT:
        raise RetryLater("rate limited", RETRY_AT.pop(0))
    ctx.store.commit([Write(f"effects/{task.id}", {"count": Increment(1)}, "merge")])
    return {"counted": task.data["n"]}


@pytest.fixture
def queue(queue: FakeTaskQueue, monkeypatch: pytest.MonkeyPatch) -> FakeTaskQueue:
    """Our own TaskQueue port recorded in memory, in place of Cloud Tasks."""
    monkeypatch.setitem(task_handlers.HANDLERS, "count", counting_handler)
    TRANSIENT_FAILURES.clear()
    RETRY_AT.clear()
    return queue


def schedule(key: str, run_at: datetime | None = None, company_id: str = "acme") -> str:
    return schedule_task(
        bootstrap.document_store(),
        bootstrap.task_queue(),
        datetime.now(UTC),
        company_id=company_id,
        task_type="count",
        data={"n": key},
        run_at=run_at or datetime.now(UTC),
        key=key,
    )


def deliver(client: Any, task_id: str, company_id: str = "acme", retry: int = 0) -> Any:
    headers = {"X-CloudTasks-TaskName": "t", "X-CloudTasks-TaskRetryCount": str(retry)}
    return client.post("/", json={"company_id": company_id, "task_id": task_id}, headers=headers)


def task_doc(db: Any, task_id: str) -> dict[str, Any]:
    data: dict[str, Any] = db.document(task_path("acme", task_id)).get().to_dict()
    return data


def test_transient_failure_then_success_gives_exactly_one_effect(
    db: Any, queue: FakeTaskQueue, function_client: Any
) -> None:
    """503 with the error recorded, then 200 on the retry: one effect, retry_count 2."""
    task_id = schedule("once")
    TRANSIENT_FAILURES.append("provider timeout")
    client = function_client("run_task")
    first = deliver(client, task_id)
    assert (503, "pending", "Transient: provider timeout") == (
        first.status_code,
        task_doc(db, task_id)["status"],
        task_doc(db, task_id)["error"],
    )
    second = deliver(client, task_id, retry=1)
    doc = task_doc(db, task_id)
    assert (200, "completed") == (second.status_code, second.get_json()["outcome"])
    assert ("completed", {"counted": "once"}, 2, None) == (
        doc["status"],
        doc["result"],
        doc["retry_count"],
        doc["error"],
    )
    assert doc["executed_at"] is not None
    assert {"count": 1} == db.document(f"effects/{task_id}").get().to_dict()


def test_retry_later_reschedules_the_task_for_the_time_given(
    db: Any, queue: FakeTaskQueue, function_client: Any
) -> None:
    """A handler told to come back at a time (a rate limit's reset): 200 deferred, the
    task pending again and due at that time, a Cloud Task for then; a delivery before
    that time runs nothing, one after it runs the handler once."""
    task_id = schedule("limited")
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=15)
    RETRY_AT.append(later)
    client = function_client("run_task")
    res = deliver(client, task_id)
    doc = task_doc(db, task_id)
    assert (200, "deferred") == (res.status_code, res.get_json()["outcome"])
    assert ("pending", later, "RetryLater: rate limited") == (
        doc["status"],
        doc["scheduled_for"],
        doc["error"],
    )
    woken = [t for n, t in queue.tasks.items() if n != cloud_task_name("acme", task_id)]
    assert [later] == [t.schedule_time for t in woken]
    assert "deferred" == deliver(client, task_id, retry=1).get_json()["outcome"]
    assert not db.document(f"effects/{task_id}").get().exists
    db.document(task_path("acme", task_id)).update({"scheduled_for": datetime.now(UTC)})
    assert "completed" == deliver(client, task_id, retry=2).get_json()["outcome"]
    assert {"count": 1} == db.document(f"effects/{task_id}").get().to_dict()


def test_duplicate_delivery_of_a_completed_task_is_a_no_op(
    db: Any, queue: FakeTaskQueue, function_client: Any
) -> None:
    """Cloud Tasks may deliver twice: the second delivery answers 200 and does nothing."""
    task_id = schedule("dup")
    client = function_client("run_task")
    assert 200 == deliver(client, task_id).status_code
    again = deliver(client, task_id)
    assert (200, "duplicate") == (again.status_code, again.get_json()["outcome"])
    assert {"count": 1} == db.document(f"effects/{task_id}").get().to_dict()


def test_live_lease_gets_503(db: Any, queue: FakeTaskQueue, function_client: Any) -> None:
    """While another delivery holds the lease, Cloud Tasks is told to retry later."""
    task_id = schedule("leased")
    lease = {"status": "processing", "lease_until": datetime.now(UTC) + timedelta(minutes=5)}
    db.document(task_path("acme", task_id)).update(lease)
    res = deliver(function_client("run_task"), task_id)
    assert (503, "processing") == (res.status_code, task_doc(db, task_id)["status"])
    assert not db.document(f"effects/{task_id}").get().exists


def test_task_not_yet_due_is_re_enqueued(
    db: Any, queue: FakeTaskQueue, function_client: Any
) -> None:
    """A delivery 40 days early re-enqueues under a new name and answers 200."""
    run_at = datetime.now(UTC) + timedelta(days=40)
    task_id = schedule("later", run_at)
    res = deliver(function_client("run_task"), task_id)
    assert (200, "deferred") == (res.status_code, res.get_json()["outcome"])
    later = [t for n, t in queue.tasks.items() if n != cloud_task_name("acme", task_id)]
    assert [run_at] == [t.schedule_time for t in later]
    assert "pending" == task_doc(db, task_id)["status"]


def test_bad_body_is_a_400(db: Any, queue: FakeTaskQueue, function_client: Any) -> None:
    """A body without the task's ids is refused (and not retried forever: 4xx)."""
    res = function_client("run_task").post("/", json={"company_id": "acme"})
    assert (400, "invalid-argument") == (res.status_code, res.get_json()["error"]["code"])


def test_dispatch_touches_only_due_pending_tasks(
    db: Any,
    queue: FakeTaskQueue,
    function_client: Any,
    firestore_server: Any,
    project_id: str,
) -> None:
    """50 tasks over two companies, 3 due: 3 enqueued by two queries (due pending tasks,
    abandoned runs); the same run again skips."""
    now = datetime.now(UTC)
    for i in range(50):
        run_at = now - timedelta(minutes=i + 1) if i < 4 else now + timedelta(hours=i)
        schedule(f"k{i}", run_at, company_id="acme" if i % 2 else "globex")
    db.document(task_path("globex", stable_id("k2"))).update({"status": "completed"})
    queue.tasks.clear()
    database = f"projects/{project_id}/databases/(default)"
    before = firestore_server.counters.for_database(database).get("RunQuery", 0)
    client = function_client("dispatch_due_tasks")
    run = {"X-CloudScheduler-JobName": JOB, "X-CloudScheduler-ScheduleTime": now.isoformat()}
    body = client.post("/", headers=run).get_json()
    assert (3, 3, 0) == (body["due"], body["enqueued"], body["already_queued"])
    due = {("globex", "k0"), ("acme", "k1"), ("acme", "k3")}
    assert {cloud_task_name(c, stable_id(k)) for c, k in due} == set(queue.tasks)
    assert 2 == firestore_server.counters.for_database(database)["RunQuery"] - before
    assert client.post("/", headers=run).get_json()["skipped"]
    later = {**run, "X-CloudScheduler-ScheduleTime": (now + timedelta(minutes=1)).isoformat()}
    again = client.post("/", headers=later).get_json()
    assert (3, 0, 3) == (again["due"], again["enqueued"], again["already_queued"])


@pytest.fixture
def tasks_emulator(run_task_url: str, cloud_tasks: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The local Cloud Tasks with our queue (fast retries) created by the real client,
    delivering to run_task over HTTP."""
    server = cloud_tasks()
    monkeypatch.setitem(task_handlers.HANDLERS, "count", counting_handler)
    TRANSIENT_FAILURES.clear()
    return server


def test_end_to_end_through_cloud_tasks(db: Any, tasks_emulator: Any) -> None:
    """schedule_task -> CloudTasksQueue -> local Cloud Tasks -> POST run_task (503 once,
    then retried) -> the task ends completed with exactly one effect."""
    from localcloud.tasks.testing import wait_until

    TRANSIENT_FAILURES.append("first attempt fails")
    task_id = schedule("e2e", datetime.now(UTC) + timedelta(milliseconds=300))

    def completed() -> dict[str, Any] | None:
        doc = task_doc(db, task_id)
        return doc if doc["status"] == "completed" else None

    doc = wait_until(completed, timeout=20)
    assert ({"counted": "e2e"}, 2) == (doc["result"], doc["retry_count"])
    assert {"count": 1} == db.document(f"effects/{task_id}").get().to_dict()


def test_a_run_that_died_holding_its_task_is_woken_by_the_dispatcher(
    db: Any, tasks_emulator: Any, function_client: Any
) -> None:
    """A task left ``processing`` by a dead instance, its Cloud Task gone: once the lease
    has expired, dispatch_due_tasks gives it a Cloud Task named after the dead lease, the
    local Cloud Tasks delivers it to run_task, and it completes with one effect; a live
    lease is left alone, and the next dispatch run does not wake the task twice."""
    from localcloud.tasks.testing import wait_until

    store, lost, due = bootstrap.document_store(), FakeTaskQueue(), datetime.now(UTC)
    # Scheduled with their Cloud Tasks lost, so only the dispatcher can wake them.
    dead, alive = (
        schedule_task(
            store,
            lost,
            due,
            company_id="acme",
            task_type="count",
            data={"n": key},
            run_at=due - timedelta(minutes=10),
            key=key,
        )
        for key in ("dead", "alive")
    )
    past, future = datetime.now(UTC) - timedelta(seconds=1), datetime.now(UTC) + timedelta(hours=1)
    for task_id, until, lease in ((dead, past, "l-dead"), (alive, future, "l-alive")):
        update = {"status": "processing", "lease_until": until, "lease_id": lease}
        db.document(task_path("acme", task_id)).update({**update, "retry_count": 1})
    dispatch = function_client("dispatch_due_tasks")
    now = datetime.now(UTC)
    run = {"X-CloudScheduler-JobName": JOB, "X-CloudScheduler-ScheduleTime": now.isoformat()}
    body = dispatch.post("/", headers=run).get_json()
    assert (0, 1, 1) == (body["due"], body["abandoned"], body["enqueued"])

    def completed() -> dict[str, Any] | None:
        doc = task_doc(db, dead)
        return doc if doc["status"] == "completed" else None

    doc = wait_until(completed, timeout=20)
    assert ({"counted": "dead"}, 2) == (doc["result"], doc["retry_count"])
    assert {"count": 1} == db.document(f"effects/{dead}").get().to_dict()
    assert "processing" == task_doc(db, alive)["status"]
    later = {**run, "X-CloudScheduler-ScheduleTime": (now + timedelta(minutes=1)).isoformat()}
    assert 0 == dispatch.post("/", headers=later).get_json()["abandoned"]
