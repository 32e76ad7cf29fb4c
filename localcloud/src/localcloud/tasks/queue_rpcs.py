"""The queue half of the CloudTasks service: Create/Get/List/Update/Pause/Resume/Purge/
DeleteQueue. Each method takes the raw request message and returns the raw response."""

from __future__ import annotations

import re
from typing import Any

from localcloud.tasks import names, pb, queues
from localcloud.tasks.errors import already_exists, failed_precondition, invalid
from localcloud.tasks.paging import page
from localcloud.tasks.store import Store

MAX_QUEUE_PAGE = 9800
_STATE_FILTER = re.compile(r"^\s*state\s*[:=]\s*([A-Z_]+)\s*$")
_RECENTLY_DELETED = (
    "The queue cannot be created because a queue with this name existed too recently."
)


def _copy(queue: Any) -> Any:
    # Responses are serialized after the lock is released: never hand out live state.
    result = pb.Queue()
    result.CopyFrom(queue)
    return result


class QueueRpcs:
    def __init__(self, store: Store) -> None:
        self.store = store

    def CreateQueue(self, request: Any) -> Any:  # noqa: N802 - the RPC's name
        parent = names.check_location(request.parent)
        names.check_queue(request.queue.name)
        if names.location_of(request.queue.name) != parent:
            raise invalid(f"Queue name {request.queue.name!r} is not in parent {parent!r}.")
        queue = queues.apply_update(None, request.queue, pb.FieldMask())
        queue = queues.with_defaults(queue)
        queues.validate(queue)
        with self.store.change():
            if queue.name in self.store.queues:
                raise already_exists("Queue already exists")
            if self.store.queue_name_taken(queue.name):
                raise failed_precondition(_RECENTLY_DELETED)
            self.store.put_queue(queue)
            return _copy(queue)

    def UpdateQueue(self, request: Any) -> Any:  # noqa: N802
        """Updates the masked fields, creating the queue when it does not exist."""
        name = names.check_queue(request.queue.name)
        with self.store.change():
            current = self.store.queues.get(name)
            if current is None and self.store.queue_name_taken(name):
                raise failed_precondition(_RECENTLY_DELETED)
            merged = queues.apply_update(current, request.queue, request.update_mask)
            merged = queues.with_defaults(merged)
            queues.validate(merged)
            self.store.put_queue(merged)
            return _copy(merged)

    def GetQueue(self, request: Any) -> Any:  # noqa: N802
        with self.store.lock:
            return _copy(self.store.queue(request.name))

    def ListQueues(self, request: Any) -> Any:  # noqa: N802
        parent = names.check_location(request.parent)
        state = _state_filter(request.filter)
        with self.store.lock:
            found = [
                _copy(q)
                for name, q in sorted(self.store.queues.items())
                if names.location_of(name) == parent and state in (None, q.state)
            ]
        items, token = page(found, request.page_size, request.page_token, MAX_QUEUE_PAGE)
        return pb.ListQueuesResponse(queues=items, next_page_token=token)

    def PauseQueue(self, request: Any) -> Any:  # noqa: N802
        return self._set_state(request.name, pb.QueueState.PAUSED)

    def ResumeQueue(self, request: Any) -> Any:  # noqa: N802
        return self._set_state(request.name, pb.QueueState.RUNNING)

    def _set_state(self, name: str, state: int) -> Any:
        with self.store.change():
            queue = self.store.queue(name)
            queue.state = state
            self.store.mark_queue(queue.name)
            return _copy(queue)

    def PurgeQueue(self, request: Any) -> Any:  # noqa: N802
        """Deletes every task now (the service may take up to a minute)."""
        with self.store.change():
            queue = self.store.queue(request.name)
            for task_name in list(self.store.tasks.get(queue.name, {})):
                self.store.remove_task(task_name)
            queue.purge_time.CopyFrom(pb.timestamp(self.store.clock.now()))
            self.store.mark_queue(queue.name)
            return _copy(queue)

    def DeleteQueue(self, request: Any) -> Any:  # noqa: N802
        with self.store.change():
            queue = self.store.queue(request.name)
            self.store.remove_queue(queue.name)
        return pb.Empty()


def _state_filter(text: str) -> int | None:
    """The one filter the service documents for ListQueues: ``state: PAUSED``."""
    if not text.strip():
        return None
    match = _STATE_FILTER.match(text)
    if not match or match.group(1) not in pb.QueueState.keys():
        raise invalid(f"Unsupported filter {text!r}: only 'state: RUNNING|PAUSED' is supported.")
    return int(pb.QueueState.Value(match.group(1)))
