"""The state of the local Cloud Tasks: queues, tasks, recently used names.

One re-entrant lock guards everything; ``change()`` wraps a mutation, saves the snapshot
when a data directory is set and wakes the dispatcher. Callers validate before they
mutate, so an error raised inside ``change()`` leaves nothing half done.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.tasks import names, snapshot
from localcloud.tasks.clock import Clock
from localcloud.tasks.errors import not_found, queue_not_found

# A task name stays taken this long after the task completed or was deleted.
TASK_NAME_REUSE_SECONDS = 3600.0
# A queue name stays taken this long after DeleteQueue.
QUEUE_NAME_REUSE_SECONDS = 7 * 24 * 3600.0


@dataclass(eq=False)
class TaskRecord:
    """A task and what the Task message does not hold but dispatch headers need."""

    task: Any
    executions: int = 0  # responses other than 5xx: X-CloudTasks-TaskExecutionCount
    previous_response: int | None = None  # X-CloudTasks-TaskPreviousResponse
    running: int = 0  # attempts in flight (not persisted: a restart sends again)


class Store:
    """Queues by name, tasks by queue then name, tombstones by name (reusable-after time)."""

    def __init__(
        self,
        clock: Clock,
        data_dir: Path | None = None,
        queue_reuse_seconds: float = QUEUE_NAME_REUSE_SECONDS,
    ) -> None:
        self.clock = clock
        self.queue_reuse_seconds = queue_reuse_seconds
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.queues: dict[str, Any] = {}
        self.tasks: dict[str, dict[str, TaskRecord]] = {}
        self.task_tombstones: dict[str, float] = {}
        self.queue_tombstones: dict[str, float] = {}
        self._path: Path | None = None
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            self._path = data_dir / snapshot.FILE_NAME
            self._load(snapshot.read(self._path))

    def _load(self, state: snapshot.Snapshot) -> None:
        self.queues = {q.name: q for q in state.queues}
        self.tasks = {name: {} for name in self.queues}
        for task, executions, previous in state.tasks:
            queue_name = names.queue_of(task.name)
            record = TaskRecord(task, executions, previous)
            self.tasks.setdefault(queue_name, {})[task.name] = record
        self.task_tombstones = state.task_tombstones
        self.queue_tombstones = state.queue_tombstones

    @contextmanager
    def change(self) -> Iterator[None]:
        with self.lock:
            yield
            self.save()
            self.changed.notify_all()

    def save(self) -> None:
        with self.lock:
            if self._path is not None:
                self._prune_tombstones()
                snapshot.write(self._path, self._snapshot())

    def _snapshot(self) -> snapshot.Snapshot:
        return snapshot.Snapshot(
            queues=list(self.queues.values()),
            tasks=[
                (r.task, r.executions, r.previous_response)
                for by_name in self.tasks.values()
                for r in by_name.values()
            ],
            task_tombstones=dict(self.task_tombstones),
            queue_tombstones=dict(self.queue_tombstones),
        )

    def close(self) -> None:
        """Stop persisting: late results of in-flight attempts must not overwrite the
        file a restarted server already owns."""
        with self.lock:
            self._path = None

    # --- queues ----------------------------------------------------------------------

    def queue(self, name: str) -> Any:
        with self.lock:
            queue = self.queues.get(names.check_queue(name))
            if queue is None:
                raise queue_not_found()
            return queue

    def queue_name_taken(self, name: str) -> bool:
        return self.clock.now() < self.queue_tombstones.get(name, 0.0)

    def put_queue(self, queue: Any) -> None:
        self.queues[queue.name] = queue
        self.tasks.setdefault(queue.name, {})

    def remove_queue(self, name: str) -> None:
        for task_name in list(self.tasks.get(name, {})):
            self.remove_task(task_name)
        del self.queues[name]
        self.tasks.pop(name, None)
        self.queue_tombstones[name] = self.clock.now() + self.queue_reuse_seconds

    # --- tasks -----------------------------------------------------------------------

    def record(self, task_name: str) -> TaskRecord:
        """The task's record, or NOT_FOUND (worded apart for a recently finished task)."""
        queue_name, _ = names.check_task(task_name)
        with self.lock:
            record = self.tasks.get(queue_name, {}).get(task_name)
            if record is not None:
                return record
            if self.task_name_taken(task_name):
                raise not_found(
                    "The task no longer exists, though a task with this name existed "
                    "recently. The task either successfully completed or was deleted."
                )
            raise not_found()

    def current(self, task_name: str) -> TaskRecord | None:
        return self.tasks.get(names.queue_of(task_name), {}).get(task_name)

    def task_name_taken(self, task_name: str) -> bool:
        return self.current(task_name) is not None or (
            self.clock.now() < self.task_tombstones.get(task_name, 0.0)
        )

    def add_task(self, record: TaskRecord) -> None:
        self.tasks[names.queue_of(record.task.name)][record.task.name] = record

    def remove_task(self, task_name: str) -> None:
        """Forget a task, keeping its name taken for an hour as the service does."""
        self.tasks.get(names.queue_of(task_name), {}).pop(task_name, None)
        self.task_tombstones[task_name] = self.clock.now() + TASK_NAME_REUSE_SECONDS

    def _prune_tombstones(self) -> None:
        now = self.clock.now()
        for tombstones in (self.task_tombstones, self.queue_tombstones):
            for name in [n for n, until in tombstones.items() if until <= now]:
                del tombstones[name]
