"""Scheduling, running and dispatching tasks, against in-memory fakes."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from shared import manifest
from shared.domain.common import stable_id
from shared.domain.tasks import MAX_ATTEMPTS, ScheduledTask, cloud_task_name, task_path
from shared.errors import InvalidInput, Transient
from shared.events import TaskEvent
from shared.ports import TaskRequest, Write
from shared.services import task_handlers
from shared.services.scheduling import cancel_task, dispatch_due_tasks, schedule_task
from shared.services.task_handlers import TaskContext
from shared.services.task_runner import RunResult, run_scheduled_task
from tests.fakes import FakeClock, FakeMessenger, FakeStore, FakeTaskQueue

DELIVERY = TaskEvent("growth-tasks", "t", 0, 0, {})
EFFECTS: list[dict[str, Any]] = []
FAILURES: list[Exception] = []


def effect_handler(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """A handler with a countable effect that fails with each queued failure first."""
    if FAILURES:
        raise FAILURES.pop(0)
    EFFECTS.append(task.data)
    return {"done": task.data["n"]}


def usurped_handler(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """A slow run: while it works, another run takes the lease over."""
    path = task_path(task.company_id, task.id)
    ctx.store.commit([Write(path, {"lease_id": "someone-else"}, "merge")])
    return {"done": True}


@pytest.fixture(autouse=True)
def _handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registers the test handlers and forgets effects between tests."""
    monkeypatch.setitem(task_handlers.HANDLERS, "effect", effect_handler)
    ghost = manifest.TaskType("ghost", "tests.unit.no_such_module")
    monkeypatch.setitem(manifest._tasks, "ghost", ghost)
    EFFECTS.clear()
    FAILURES.clear()


def schedule(store: FakeStore, queue: Any, clock: FakeClock, key: str = "k1", **kwargs: Any) -> str:
    args: dict[str, Any] = {
        "company_id": "acme",
        "task_type": "effect",
        "data": {"n": 1},
        "run_at": clock.now(),
        "key": key,
    }
    return schedule_task(store, queue, clock.now(), **{**args, **kwargs})


def run(store: FakeStore, queue: FakeTaskQueue, clock: FakeClock, task_id: str) -> RunResult:
    return run_scheduled_task(
        store, queue, FakeMessenger(), clock, DELIVERY, company_id="acme", task_id=task_id
    )


def stored(store: FakeStore, task_id: str) -> dict[str, Any]:
    return store.docs[task_path("acme", task_id)][0]


def test_schedule_writes_the_task_and_enqueues_it_once() -> None:
    """The id derives from the key; scheduling again neither rewrites nor re-enqueues."""
    store, queue, clock = FakeStore(), FakeTaskQueue(), FakeClock()
    run_at = clock.now() + timedelta(hours=3)
    task_id = schedule(store, queue, clock, run_at=run_at)
    assert stable_id("k1") == task_id
    assert task_id == schedule(store, queue, clock, run_at=run_at + timedelta(days=1))
    assert ("pending", run_at) == (
        stored(store, task_id)["status"],
        stored(store, task_id)["scheduled_for"],
    )
    name = cloud_task_name("acme", task_id)
    expected = TaskRequest(name, {"company_id": "acme", "task_id": task_id}, run_at)
    assert {name: expected} == queue.tasks


def test_enqueue_failure_still_stores_the_task() -> None:
    """The dispatcher catches up, so a Cloud Tasks outage does not fail scheduling."""

    class DownQueue(FakeTaskQueue):
        def enqueue(self, task: TaskRequest) -> bool:
            raise Transient("Cloud Tasks unavailable")

    store, clock = FakeStore(), FakeClock()
    task_id = schedule(store, DownQueue(), clock)
    assert "pending" == stored(store, task_id)["status"]


def test_without_a_queue_the_task_is_left_to_the_dispatcher(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A function that never loads the Cloud Tasks client stores the task pending, on
    purpose (no warning of a failed enqueue); the next dispatch run enqueues it."""
    store, clock, queue = FakeStore(), FakeClock(), FakeTaskQueue()
    task_id = schedule(store, None, clock, run_at=clock.now())
    assert ("pending", {}) == (stored(store, task_id)["status"], queue.tasks)
    assert [] == [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert 1 == dispatch_due_tasks(store, queue, clock.now(), run_key="job@1").enqueued
    assert [cloud_task_name("acme", task_id)] == list(queue.tasks)


def test_naive_run_at_is_refused() -> None:
    """A time without a timezone is ambiguous, so it is refused."""
    clock = FakeClock()
    with pytest.raises(InvalidInput):
        schedule(FakeStore(), FakeTaskQueue(), clock, run_at=clock.now().replace(tzinfo=None))


def test_cancel_only_pending_tasks() -> None:
    """Cancelling marks a pending task cancelled and deletes its Cloud Task, once."""
    store, queue, clock = FakeStore(), FakeTaskQueue(), FakeClock()
    task_id = schedule(store, queue, clock, run_at=clock.now() + timedelta(days=1))
    assert cancel_task(store, queue, clock.now(), company_id="acme", task_id=task_id)
    assert ("cancelled", {}) == (stored(store, task_id)["status"], queue.tasks)
    assert not cancel_task(store, queue, clock.now(), company_id="acme", task_id=task_id)
    assert not cancel_task(store, queue, clock.now(), company_id="acme", task_id="nope")
    assert "duplicate" == run(store, queue, clock, task_id).outcome


def test_run_records_the_result() -> None:
    """A due task runs once: completed, result and executed_at recorded, lease released."""
    store, queue, clock = FakeStore(), FakeTaskQueue(), FakeClock()
    task_id = schedule(store, queue, clock)
    result = run(store, queue, clock, task_id)
    doc = stored(store, task_id)
    assert ("completed", {"done": 1}) == (result.outcome, result.result)
    assert ("completed", {"done": 1}, clock.now(), 1, None) == (
        doc["status"],
        doc["result"],
        doc["executed_at"],
        doc["retry_count"],
        doc["lease_until"],
    )
    assert "duplicate" == run(store, queue, clock, task_id).outcome
    assert [{"n": 1}] == EFFECTS


def test_transient_failure_then_success_gives_one_effect() -> None:
    """Transient: pending again with the error, raised for a retry; the retry completes."""
    store, queue, clock = FakeStore(), FakeTaskQueue(), FakeClock()
    task_id = schedule(store, queue, clock)
    FAILURES.append(Transient("provider timeout"))
    with pytest.raises(Transient):
        run(store, queue, clock, task_id)
    doc = stored(store, task_id)
    assert ("pending", "Transient: provider timeout", 1) == (
        doc["status"],
        doc["error"],
        doc["retry_count"],
    )
    assert "completed" == run(store, queue, clock, task_id).outcome
    doc = stored(store, task_id)
    assert ("completed", None, 2, [{"n": 1}]) == (
        doc["status"],
        doc["error"],
        doc["retry_count"],
        EFFECTS,
    )


def test_permanent_failure_is_recorded_not_raised() -> None:
    """Any non-transient error fails the task for good and is answered as done."""
    store, queue, clock = FakeStore(), FakeTaskQueue(), FakeClock()
    task_id = schedule(store, queue, clock)
    FAILURES.append(KeyError("lead_id"))
    result = run(store, queue, clock, task_id)
    assert ("failed", "KeyError: 'lead_id'") == (result.outcome, stored(store, task_id)["error"])


def test_missing_handler_module_fails_only_that_task() -> None:
    """A task type whose module does not exist fails permanently with a clear error."""
    store, queue, clock = FakeStore(), FakeTaskQueue(), FakeClock()
    task_id = schedule(store, queue, clock, task_type="ghost")
    result = run(store, queue, clock, task_id)
    assert "failed" == result.outcome
    assert "NotFound: Handler module 'tests.unit.no_such_module'" in (result.error or "")


def test_live_lease_refuses_and_expired_lease_is_taken_over() -> None:
    """Another run's live lease is Transient (retry later); a dead run's lease expires."""
    store, queue, clock = FakeStore(), FakeTaskQueue(), FakeClock()
    task_id = schedule(store, queue, clock)
    lease = {"status": "processing", "lease_until": clock.now() + timedelta(minutes=5)}
    store.commit([Write(task_path("acme", task_id), {**lease, "retry_count": 1}, "merge")])
    with pytest.raises(Transient):
        run(store, queue, clock, task_id)
    clock.advance(minutes=6)
    assert "completed" == run(store, queue, clock, task_id).outcome
    assert 2 == stored(store, task_id)["retry_count"]


def test_a_run_that_lost_its_lease_records_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """If another run took the task over meanwhile, the slow run does not overwrite it."""
    store, queue, clock = FakeStore(), FakeTaskQueue(), FakeClock()
    task_id = schedule(store, queue, clock)
    monkeypatch.setitem(task_handlers.HANDLERS, "effect", usurped_handler)
    run(store, queue, clock, task_id)
    doc = stored(store, task_id)
    assert ("processing", None) == (doc["status"], doc.get("result"))


def test_early_delivery_is_re_enqueued_under_a_new_name() -> None:
    """A task due in 40 days (beyond Cloud Tasks' 30) is deferred, not run."""
    store, queue, clock = FakeStore(), FakeTaskQueue(), FakeClock()
    run_at = clock.now() + timedelta(days=40)
    task_id = schedule(store, queue, clock, run_at=run_at)
    clock.advance(days=29)
    assert "deferred" == run(store, queue, clock, task_id).outcome
    (deferral,) = [t for n, t in queue.tasks.items() if n != cloud_task_name("acme", task_id)]
    assert (run_at, "pending", []) == (
        deferral.schedule_time,
        stored(store, task_id)["status"],
        EFFECTS,
    )


def test_exhausted_task_fails_without_running() -> None:
    """Past the queue's attempt limit the task is failed instead of run again."""
    store, queue, clock = FakeStore(), FakeTaskQueue(), FakeClock()
    task_id = schedule(store, queue, clock)
    store.commit([Write(task_path("acme", task_id), {"retry_count": MAX_ATTEMPTS}, "merge")])
    assert "exhausted" == run(store, queue, clock, task_id).outcome
    assert ("failed", []) == (stored(store, task_id)["status"], EFFECTS)


def test_missing_task_is_answered_as_done() -> None:
    """A delivery for a task that does not exist is not retried."""
    store, queue, clock = FakeStore(), FakeTaskQueue(), FakeClock()
    assert "missing" == run(store, queue, clock, "nope").outcome


def test_dispatch_enqueues_only_due_pending_tasks_once_per_run() -> None:
    """50 tasks, 3 due and pending: only those are enqueued; a repeated run is skipped."""
    store, clock = FakeStore(), FakeClock()
    for i in range(50):
        offset = timedelta(minutes=-i) if i < 4 else timedelta(hours=i)
        schedule(store, FakeTaskQueue(), clock, key=f"k{i}", run_at=clock.now() + offset)
    store.commit([Write(task_path("acme", stable_id("k3")), {"status": "completed"}, "merge")])
    queue = FakeTaskQueue()
    result = dispatch_due_tasks(store, queue, clock.now(), run_key="job@1")
    due_ids = {stable_id(f"k{i}") for i in range(3)}
    assert (3, 3) == (result.due, result.enqueued)
    assert {cloud_task_name("acme", t) for t in due_ids} == set(queue.tasks)
    assert dispatch_due_tasks(store, queue, clock.now(), run_key="job@1").skipped
    again = dispatch_due_tasks(store, queue, clock.now(), run_key="job@2")
    assert (0, 3) == (again.enqueued, again.already_queued)


def test_dispatch_wakes_tasks_whose_run_died_once_their_lease_expired() -> None:
    """Processing past its lease: a Cloud Task named after the dead lease, once; a live
    lease is left to its run."""
    store, clock = FakeStore(), FakeClock()
    for key in ("dead", "alive"):
        schedule(store, FakeTaskQueue(), clock, key=key, run_at=clock.now())
    leases = {"dead": clock.now() - timedelta(seconds=1), "alive": clock.now() + timedelta(1)}
    for key, until in leases.items():
        lease = {"status": "processing", "lease_until": until, "lease_id": f"l-{key}"}
        store.commit([Write(task_path("acme", stable_id(key)), lease, "merge")])
    queue = FakeTaskQueue()
    result = dispatch_due_tasks(store, queue, clock.now(), run_key="job@1")
    assert (0, 1, 1) == (result.due, result.abandoned, result.enqueued)
    assert [f"{cloud_task_name('acme', stable_id('dead'))}-l-dead"] == list(queue.tasks)
    again = dispatch_due_tasks(store, queue, clock.now(), run_key="job@2")
    assert (1, 0, 1) == (again.abandoned, again.enqueued, again.already_queued)
