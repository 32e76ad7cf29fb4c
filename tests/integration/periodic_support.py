"""Helpers for tests of the periodic functions: a Scheduler run as Cloud Scheduler sends
it, and the Cloud Tasks it leaves (recorded in memory) run the way Cloud Tasks would."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from shared.adapters.firestore_store import FirestoreStore
from shared.ports import Write
from shared.services.activity import ActivityStore
from tests.fakes import FakeTaskQueue


def scheduler(job: str, when: datetime) -> dict[str, str]:
    """Cloud Scheduler's headers for the run of ``job`` at ``when``."""
    return {"X-CloudScheduler-JobName": job, "X-CloudScheduler-ScheduleTime": when.isoformat()}


def seed(db: Any, docs: Iterable[tuple[str, dict[str, Any]]], now: datetime) -> None:
    """Write ``docs`` as the functions would (activity markers included), 500 a commit."""
    store = ActivityStore(FirestoreStore(db), lambda: now)
    batch: list[Write] = []
    for path, data in docs:
        batch.append(Write(path, data))
        if len(batch) == 499:
            store.commit(batch)
            batch = []
    if batch:
        store.commit(batch)


def drain(function_client: Any, queue: FakeTaskQueue, limit: int = 1000) -> list[dict[str, Any]]:
    """Deliver every task in ``queue`` (and those they enqueue) once, oldest first, as
    Cloud Tasks would: to ``run_task``, or to the function a task names; their answers."""
    answers: list[dict[str, Any]] = []
    delivered: set[str] = set()
    for _ in range(limit):
        pending = [name for name in queue.tasks if name not in delivered]
        if not pending:
            return answers
        name = pending[0]
        delivered.add(name)
        task = queue.tasks[name]
        target = getattr(task, "target", "run_task")
        res = function_client(target).post("/", json=task.payload)
        assert res.status_code == 200, (target, res.status_code, res.get_json())
        answers.append(res.get_json())
    raise AssertionError(f"more than {limit} tasks")
