"""The state of the local Cloud Tasks: queues, tasks, recently used names.

One re-entrant lock guards everything. ``change()`` wraps a mutation: what it marked
(``mark_queue``/``mark_task``, done by the add and remove methods themselves) is written
to the journal when it ends, and the dispatcher is woken. Callers validate before they
mutate, so an error raised inside ``change()`` leaves nothing half done.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.tasks import journal, names
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
        self._marked: set[tuple[str, str]] = set()
        self._journal = journal.Journal(data_dir) if data_dir is not None else None
        if self._journal is not None:
            for line in self._journal.read():
                self._replay(line)
            self._journal.rewrite(self._state_lines())
            self._marked.clear()  # replaying marked everything; the rewrite has it all

    @contextmanager
    def change(self) -> Iterator[None]:
        with self.lock:
            try:
                yield
            finally:
                self.flush()
                self.changed.notify_all()

    def flush(self) -> None:
        """Write what was marked since the last flush to the journal."""
        with self.lock:
            marked, self._marked = self._marked, set()
            if self._journal is None or not marked:
                return
            self._journal.append(self._line(kind, name) for kind, name in sorted(marked))
            live = len(self.queues) + sum(len(t) for t in self.tasks.values())
            if self._journal.needs_compaction(live + len(self.task_tombstones)):
                self._journal.rewrite(self._state_lines())

    def close(self) -> None:
        """Stop persisting: late results of in-flight attempts must not reach the file a
        restarted server already owns."""
        with self.lock:
            if self._journal is not None:
                self._journal.close()
            self._journal = None

    def mark_queue(self, name: str) -> None:
        self._marked.add(("queue", name))

    def mark_task(self, name: str) -> None:
        self._marked.add(("task", name))

    # --- journal lines ---------------------------------------------------------------

    def _line(self, kind: str, name: str) -> dict[str, Any]:
        """The current state of one marked queue or task as a journal line."""
        if kind == "queue":
            if name in self.queues:
                return journal.queue_line(self.queues[name])
            return journal.dropped_line(kind, name, self.queue_tombstones.get(name, 0.0))
        record = self.current(name)
        if record is not None:
            return journal.task_line(record.task, record.executions, record.previous_response)
        return journal.dropped_line(kind, name, self.task_tombstones.get(name, 0.0))

    def _state_lines(self) -> list[dict[str, Any]]:
        """Everything live, one line each: the compacted journal."""
        now = self.clock.now()
        lines = [journal.queue_line(q) for q in self.queues.values()]
        for by_name in self.tasks.values():
            lines += [self._line("task", name) for name in by_name]
        for kind, tombstones in (("task", self.task_tombstones), ("queue", self.queue_tombstones)):
            for name, until in list(tombstones.items()):
                if until > now:
                    lines.append(journal.dropped_line(kind, name, until))
                else:
                    del tombstones[name]
        return lines

    def _replay(self, line: dict[str, Any]) -> None:
        if "queue" in line:
            self.put_queue(journal.parse_queue(line))
        elif "task" in line:
            task = journal.parse_task(line)
            record = TaskRecord(task, line["executions"], line["previous"])
            self.tasks.setdefault(names.queue_of(task.name), {})[task.name] = record
        elif line.get("dropped") == "queue":
            self.queues.pop(line["name"], None)
            self.tasks.pop(line["name"], None)
            self.queue_tombstones[line["name"]] = line["until"]
        elif line.get("dropped") == "task":
            self.tasks.get(names.queue_of(line["name"]), {}).pop(line["name"], None)
            self.task_tombstones[line["name"]] = line["until"]

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
        self.mark_queue(queue.name)

    def remove_queue(self, name: str) -> None:
        for task_name in list(self.tasks.get(name, {})):
            self.remove_task(task_name)
        del self.queues[name]
        self.tasks.pop(name, None)
        self.queue_tombstones[name] = self.clock.now() + self.queue_reuse_seconds
        self.mark_queue(name)

    # --- tasks -----------------------------------------------------------------------

    def record(self, task_name: str) -> TaskRecord:
        """The task's record, or NOT_FOUND (worded apart for a recently finished task)."""
        names.check_task(task_name)
        with self.lock:
            record = self.current(task_name)
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
        self.mark_task(record.task.name)

    def remove_task(self, task_name: str) -> None:
        """Forget a task, keeping its name taken for an hour as the service does."""
        self.tasks.get(names.queue_of(task_name), {}).pop(task_name, None)
        self.task_tombstones[task_name] = self.clock.now() + TASK_NAME_REUSE_SECONDS
        self.mark_task(task_name)
