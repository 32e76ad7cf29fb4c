"""The task half of the CloudTasks service: Create/Get/List/Delete/RunTask."""

from __future__ import annotations

from typing import Any

from localcloud.tasks import names, pb, task_spec
from localcloud.tasks.dispatcher import Dispatcher
from localcloud.tasks.errors import already_exists
from localcloud.tasks.paging import page
from localcloud.tasks.store import Store, TaskRecord

MAX_TASK_PAGE = 1000


class TaskRpcs:
    def __init__(self, store: Store, dispatcher: Dispatcher) -> None:
        self.store, self.dispatcher = store, dispatcher

    def CreateTask(self, request: Any) -> Any:  # noqa: N802 - the RPC's name
        """Adds a task; a name in use, or used in the last hour, is ALREADY_EXISTS."""
        queue_name = names.check_queue(request.parent)
        with self.store.change():
            self.store.queue(queue_name)
            task = task_spec.prepare(request.task, queue_name, self.store.clock.now())
            if not task.name:
                task.name = self._fresh_name(queue_name)
            elif self.store.task_name_taken(task.name):
                raise already_exists()
            self.store.add_task(TaskRecord(task))
            return task_spec.view(task, request.response_view)

    def _fresh_name(self, queue_name: str) -> str:
        while True:
            name = names.new_task_name(queue_name)
            if not self.store.task_name_taken(name):
                return name

    def GetTask(self, request: Any) -> Any:  # noqa: N802
        with self.store.lock:
            return task_spec.view(self.store.record(request.name).task, request.response_view)

    def ListTasks(self, request: Any) -> Any:  # noqa: N802
        """Tasks in schedule order (the service promises no order; this one is stable)."""
        with self.store.lock:
            queue = self.store.queue(request.parent)
            records = sorted(
                self.store.tasks.get(queue.name, {}).values(),
                key=lambda r: (pb.seconds_of(r.task.schedule_time), r.task.name),
            )
            tasks = [task_spec.view(r.task, request.response_view) for r in records]
        items, token = page(tasks, request.page_size, request.page_token, MAX_TASK_PAGE)
        return pb.ListTasksResponse(tasks=items, next_page_token=token)

    def DeleteTask(self, request: Any) -> Any:  # noqa: N802
        """Deletes a task; an attempt in flight finishes but its result is ignored."""
        with self.store.change():
            record = self.store.record(request.name)
            self.store.remove_task(record.task.name)
        return pb.Empty()

    def RunTask(self, request: Any) -> Any:  # noqa: N802
        task = self.dispatcher.run_now(request.name)
        return task_spec.view(task, request.response_view)
