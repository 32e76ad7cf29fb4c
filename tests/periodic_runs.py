"""A periodic run on the in-memory fakes, as production runs it: the function's fan-out,
then every Cloud Task it leaves (and those they leave) delivered once, oldest first, to
``run_task`` (the real task runner, lease and all) or to the run's continuation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec.structs import asdict

from shared.events import ScheduledEvent, TaskEvent, scheduled_event
from shared.services.periodic import fan_out
from shared.services.task_runner import run_scheduled_task
from tests.fakes import FakeClock, FakeMessenger, FakeStore, FakeTaskQueue


def run_periodic(
    store: FakeStore,
    queue: FakeTaskQueue,
    job: str,
    when: datetime,
    now: datetime | None = None,
    messenger: Any = None,
    only: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """Run ``job`` (a periodic function's name) for the schedule time ``when`` as of
    ``now`` (default ``when``); every invocation's answer, in order. ``only``: deliver
    only tasks of these types (and the run's continuations), leave the others queued."""
    clock = FakeClock(now or when)
    event = ScheduledEvent(f"growthkit-{job}", when)
    answers = [asdict(fan_out(store, queue, clock.now(), event, job))]
    return answers + deliver_all(store, queue, clock, messenger or FakeMessenger(), only=only)


def results_of(answers: list[dict[str, Any]]) -> list[Any]:
    """What the run's company tasks' units answered."""
    return [a["result"]["result"] for a in answers if a.get("result") and "job" in a["result"]]


def deliver_all(
    store: FakeStore,
    queue: FakeTaskQueue,
    clock: FakeClock,
    messenger: Any,
    limit: int = 5000,
    only: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """Deliver every task not delivered yet (this queue's ``delivered`` remembers)."""
    delivered: set[str] = getattr(queue, "delivered", set())
    queue.delivered = delivered  # type: ignore[attr-defined]
    answers: list[dict[str, Any]] = []
    for _ in range(limit):
        pending = [
            name
            for name, task in queue.tasks.items()
            if name not in delivered and (only is None or _type(store, task) in (*only, None))
        ]
        if not pending:
            return answers
        delivered.add(pending[0])
        answers.append(_deliver(store, queue, clock, messenger, queue.tasks[pending[0]]))
    raise AssertionError(f"more than {limit} tasks")


def _type(store: FakeStore, task: Any) -> str | None:
    """The scheduled task's type (None for a run's continuation)."""
    if task.target != "run_task":
        return None
    path = f"companies/{task.payload['company_id']}/scheduled_tasks/{task.payload['task_id']}"
    data, _ = store.docs.get(path, ({}, None))
    return str(data.get("type"))


def _deliver(
    store: FakeStore, queue: FakeTaskQueue, clock: FakeClock, messenger: Any, task: Any
) -> dict[str, Any]:
    if task.target != "run_task":
        event = scheduled_event({}, clock.now(), task.payload)
        return asdict(fan_out(store, queue, clock.now(), event, task.target))
    delivery = TaskEvent("growth-tasks", task.name, 0, 0, task.payload)
    ref = task.payload
    try:
        result = run_scheduled_task(
            store,
            queue,
            messenger,
            clock,
            delivery,
            company_id=ref["company_id"],
            task_id=ref["task_id"],
        )
    except Exception as err:  # a 503: Cloud Tasks would retry it
        return {"outcome": "retry", "error": f"{type(err).__name__}: {err}"}
    return asdict(result)
