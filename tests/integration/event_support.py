"""Helpers for trigger tests: real commits captured from the local Firestore, delivered as
real binary-mode CloudEvents, and round trips counted per project."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import pytest

from localcloud.eventarc import event_data, event_headers
from localcloud.firestore.store import Change, Commit, Store
from shared import bootstrap
from shared.manifest import by_name
from tests.fakes import FakeTaskQueue


class ProjectFeed:
    """The commits of one project only: the test server is shared by the whole session."""

    def __init__(self, store: Store, project_id: str) -> None:
        self.store = store
        self.database = f"projects/{project_id}/databases/(default)"
        self.commits: list[Commit] = []
        self._lock = threading.Lock()
        self._stop = store.subscribe(self._record)

    def _record(self, commit: Commit) -> None:
        if commit.database == self.database:
            with self._lock:
                self.commits.append(commit)

    def subscribe(self, subscriber: Callable[[Commit], None]) -> Callable[[], None]:
        """Like ``Store.subscribe``, for this project's commits (what EventBridge needs)."""
        return self.store.subscribe(
            lambda c: subscriber(c) if c.database == self.database else None
        )

    def last(self, document: str) -> tuple[Commit, Change]:
        """The latest commit that changed ``document`` and its change."""
        with self._lock:
            for commit in reversed(self.commits):
                for change in commit.changes:
                    if change.name.endswith(f"/documents/{document}"):
                        return commit, change
        raise AssertionError(f"no commit changed {document}")

    def close(self) -> None:
        self._stop()


def memory_queue(monkeypatch: pytest.MonkeyPatch) -> FakeTaskQueue:
    """Put the TaskQueue port, recorded in memory, in place of Cloud Tasks."""
    fake = FakeTaskQueue()
    # Cached like the real one, so bootstrap.reset() can still clear it.
    monkeypatch.setattr(bootstrap, "task_queue", functools.cache(lambda: fake))
    return fake


def deliver(
    client: Any, function: str, commit: Commit, change: Change, times: int = 2
) -> list[int]:
    """Post one CloudEvent ``times`` times (same id: a duplicate delivery); the statuses."""
    headers = event_headers(by_name(function), change, commit)
    body = event_data(change)
    return [client.post("/", data=body, headers=headers).status_code for _ in range(times)]


class RoundTrips:
    """Firestore RPCs made for one project between two points."""

    def __init__(self, server: Any, project_id: str) -> None:
        self.server = server
        self.database = f"projects/{project_id}/databases/(default)"
        self.start = server.counters.for_database(self.database)

    def delta(self) -> dict[str, int]:
        now = self.server.counters.for_database(self.database)
        return {k: v - self.start.get(k, 0) for k, v in now.items() if v - self.start.get(k, 0)}
