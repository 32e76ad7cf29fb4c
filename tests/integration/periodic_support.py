"""Helpers for tests of the periodic functions: a Scheduler run as Cloud Scheduler sends
it; the Cloud Tasks it leaves, recorded in memory and run the way Cloud Tasks would
(``drain``), or in the local Cloud Tasks delivering to the functions over HTTP
(``cloud``)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

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


def drain(
    function_client: Any, queue: FakeTaskQueue, limit: int = 1000, ok: tuple[int, ...] = (200,)
) -> list[dict[str, Any]]:
    """Deliver every task in ``queue`` not delivered yet (and those they enqueue) once,
    oldest first, as Cloud Tasks would: to ``run_task``, or to the function a task names.
    Their answers (with ``status``), each of which must have one of the ``ok`` statuses."""
    answers: list[dict[str, Any]] = []
    # Remembered on the queue: the next drain delivers only what came since.
    delivered: set[str] = getattr(queue, "delivered", set())
    queue.delivered = delivered  # type: ignore[attr-defined]
    for _ in range(limit):
        pending = [name for name in queue.tasks if name not in delivered]
        if not pending:
            return answers
        name = pending[0]
        delivered.add(name)
        task = queue.tasks[name]
        res = function_client(task.target).post("/", json=task.payload)
        assert res.status_code in ok, (task.target, res.status_code, res.get_json())
        answers.append({"status": res.status_code, **(res.get_json() or {})})
    raise AssertionError(f"more than {limit} tasks")


class Cloud:
    """The periodic functions and run_task behind a real HTTP server, and the local Cloud
    Tasks (its queue made by the real client, paused until ``resume``) delivering to them."""

    def __init__(self, tasks: Any, client: Any, queue_path: str) -> None:
        self.tasks, self.client, self.queue_path = tasks, client, queue_path

    def names(self) -> list[str]:
        """The queue's tasks, by id (what is enqueued and not yet done)."""
        return sorted(
            t.name.rsplit("/", 1)[1] for t in self.client.list_tasks(parent=self.queue_path)
        )

    def resume(self) -> None:
        self.client.resume_queue(name=self.queue_path)


# Every function a periodic run's Cloud Tasks may call.
TARGETS = (
    "run_task",
    "rollup_analytics",
    "decay_engagement_scores",
    "expire_referrals",
    "refresh_social_tokens",
    "enrol_scheduled_workflows",
)


@pytest.fixture
def cloud(functions_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    """The functions on 127.0.0.1 and the local Cloud Tasks, its retries fast and few."""
    import functions_framework
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    from localcloud.functions_host import FunctionRouter
    from localcloud.tasks import start_tasks
    from shared import bootstrap
    from shared.adapters.clients import tasks_client
    from shared.settings import get_settings

    apps = {name: functions_framework.create_app(name, "functions/main.py") for name in TARGETS}
    http = make_server("127.0.0.1", 0, FunctionRouter(apps, Response("no", 404)), threaded=True)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    tasks = start_tasks("127.0.0.1", port=0)
    monkeypatch.setenv("GROWTHKIT_FUNCTIONS_BASE_URL", f"http://127.0.0.1:{http.server_port}")
    monkeypatch.setenv("CLOUD_TASKS_EMULATOR_HOST", tasks.address)
    bootstrap.reset()
    queue_path = get_settings().queue_path
    retry = {
        "min_backoff": timedelta(milliseconds=200),
        "max_backoff": timedelta(seconds=1),
        "max_attempts": 3,
    }
    parent = queue_path.rsplit("/queues/", 1)[0]
    client = tasks_client()
    client.create_queue(parent=parent, queue={"name": queue_path, "retry_config": retry})
    client.pause_queue(name=queue_path)
    yield Cloud(tasks, client, queue_path)
    bootstrap.reset()
    tasks.stop()
    http.shutdown()
