"""The contract suite: every case runs twice, on the in-memory fake of a port
(tests/fakes.py) and on its real adapter against localcloud with the real Google client,
so the fakes the unit tier trusts cannot drift from what production does."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fakes import FakeStore, FakeTaskQueue


@pytest.fixture(params=["fake", "firestore"])
def store(request: pytest.FixtureRequest) -> Any:
    """A ``DocumentStore`` (and ``PagedStore``), empty: ``FakeStore`` or ``FirestoreStore``
    on a fresh project of the local Firestore."""
    if request.param == "fake":
        return FakeStore()
    from shared.adapters.firestore_store import FirestoreStore

    return FirestoreStore(request.getfixturevalue("db"))


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Queue:
    """A ``TaskQueue`` and what its service holds: ``held(name)`` is the task's payload
    (as run_task will read it) and schedule time, or None when there is no such task."""

    def __init__(self, queue: Any, held: Callable[[str], tuple[Any, datetime | None] | None]):
        self.queue = queue
        self.held = held


@pytest.fixture(params=["fake", "cloud_tasks"])
def tasks(request: pytest.FixtureRequest) -> Queue:
    if request.param == "fake":
        fake = FakeTaskQueue(clock=WallClock())

        def held(name: str) -> tuple[Any, datetime | None] | None:
            task = fake.tasks.get(name)
            return None if task is None else (task.payload, task.schedule_time)

        return Queue(fake, held)
    return _cloud_tasks_queue(request.getfixturevalue("cloud_tasks"))


def _cloud_tasks_queue(cloud_tasks: Callable[..., Any]) -> Queue:
    """``CloudTasksQueue`` on a paused local queue: tasks stay there to be read back."""
    from google.api_core import exceptions as gexc
    from google.cloud import tasks_v2

    from shared.adapters.clients import tasks_client
    from shared.adapters.cloud_tasks import CloudTasksQueue, task_id
    from shared.settings import get_settings

    cloud_tasks(paused=True)
    settings = get_settings()

    def held(name: str) -> tuple[Any, datetime | None] | None:
        full = f"{settings.queue_path}/tasks/{task_id(name)}"
        try:
            request = {"name": full, "response_view": tasks_v2.Task.View.FULL}
            task = tasks_client().get_task(request=request)
        except gexc.NotFound:
            return None
        return json.loads(task.http_request.body), task.schedule_time

    return Queue(CloudTasksQueue(settings), held)
