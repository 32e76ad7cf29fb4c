"""The dispatcher: one scheduling thread, one worker thread per attempt in flight.

The scheduling thread sleeps on the store's condition until the next task is due, a
token is back, or anything changes (a new task, a resumed queue, a finished attempt),
then starts the attempts that are due in running queues within max_concurrent_dispatches
and the token bucket of max_dispatches_per_second. A worker sends the request and
records the outcome: 2xx deletes the task, otherwise it is retried after the backoff
until the retry config is used up, and then deleted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localcloud.tasks import delivery, names, pb
from localcloud.tasks.delivery import Outcome, Request
from localcloud.tasks.oidc import TokenMinter
from localcloud.tasks.retry import RetryPolicy, TokenBucket
from localcloud.tasks.store import Store, TaskRecord

log = logging.getLogger("localcloud.tasks")

# Wake up at least this often even when nothing is due: a safety net, not a poll.
_IDLE_WAIT_SECONDS = 30.0
_ERROR_WAIT_SECONDS = 1.0
_RETRY_AFTER_STATUSES = {429, 503}


@dataclass(frozen=True)
class Flight:
    """One attempt on its way: the record it belongs to and the request it sends."""

    queue_name: str
    record: TaskRecord
    request: Request
    attempt: int


class Dispatcher:
    def __init__(
        self,
        store: Store,
        minter: TokenMinter,
        send: Callable[[Request], Outcome] = delivery.send,
    ) -> None:
        self.store, self.minter, self._send = store, minter, send
        self._buckets: dict[str, TokenBucket] = {}
        self._in_flight: Counter[str] = Counter()
        # Push delivery attempts per project (each is a billable operation).
        self.attempts: Counter[str] = Counter()
        self._workers: set[threading.Thread] = set()
        self._workers_lock = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="tasks-dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        with self.store.changed:
            self.store.changed.notify_all()

    def stop(self, grace: float = 2.0) -> None:
        """Stop starting attempts; give those in flight ``grace`` seconds to finish."""
        with self.store.changed:
            self._stopping = True
            self.store.changed.notify_all()
        if self._thread.is_alive():
            self._thread.join()
        deadline = time.monotonic() + grace
        with self._workers_lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    def run_now(self, task_name: str) -> Any:
        """RunTask: dispatch now, even when paused, rate-limited or already running;
        return a copy of the task as it is once dispatched."""
        with self.store.change():
            record = self.store.record(task_name)
            queue = self.store.queues[names.queue_of(task_name)]
            self._start(self._begin(queue, record, self.store.clock.now()))
            task = pb.Task()
            task.CopyFrom(record.task)
            return task

    # --- scheduling ------------------------------------------------------------------

    def _loop(self) -> None:
        with self.store.changed:
            while not self._stopping:
                try:
                    wait = self._dispatch_due()
                except Exception:  # keep dispatching the other tasks after a bug
                    log.exception("dispatcher error; retrying in %ss", _ERROR_WAIT_SECONDS)
                    wait = _ERROR_WAIT_SECONDS
                self.store.changed.wait(timeout=wait)

    def _dispatch_due(self) -> float:
        """Start every attempt allowed now; return how long to sleep at most."""
        now = self.store.clock.now()
        waits = [_IDLE_WAIT_SECONDS]
        flights: list[Flight] = []
        for queue in list(self.store.queues.values()):
            if queue.state == pb.QueueState.RUNNING:
                wait = self._plan_queue(queue, now, flights)
                if wait is not None:
                    waits.append(wait)
        if flights:
            self.store.flush()
        for flight in flights:
            self._start(flight)
        return min(waits)

    def _plan_queue(self, queue: Any, now: float, flights: list[Flight]) -> float | None:
        """Begin the due attempts of one queue; the wait until more may begin, or None
        when only a finishing attempt (which notifies) can free a slot."""
        free = queue.rate_limits.max_concurrent_dispatches - self._in_flight[queue.name]
        waiting = [r for r in self.store.tasks.get(queue.name, {}).values() if not r.running]
        waiting.sort(key=lambda r: (pb.seconds_of(r.task.schedule_time), r.task.name))
        bucket = self._bucket(queue)
        for record in waiting:
            due = pb.seconds_of(record.task.schedule_time)
            if due > now:
                return due - now
            if free <= 0:
                return None
            if not bucket.take():
                return bucket.wait_time()
            flights.append(self._begin(queue, record, now))
            free -= 1
        return None

    def _bucket(self, queue: Any) -> TokenBucket:
        limits = queue.rate_limits
        bucket = self._buckets.get(queue.name)
        if bucket is None or (bucket.rate, bucket.burst) != (
            limits.max_dispatches_per_second,
            limits.max_burst_size,
        ):
            bucket = TokenBucket(limits.max_dispatches_per_second, max(1, limits.max_burst_size))
            self._buckets[queue.name] = bucket
        return bucket

    def _begin(self, queue: Any, record: TaskRecord, now: float) -> Flight:
        """Count the attempt on the task (under the lock) and build its request."""
        request = delivery.build_request(record)
        task = record.task
        attempt = pb.Attempt(dispatch_time=pb.timestamp(now))
        attempt.schedule_time.CopyFrom(task.schedule_time)
        task.dispatch_count += 1
        if not task.HasField("first_attempt"):
            # The service keeps only the dispatch time of the first attempt.
            task.first_attempt.dispatch_time.CopyFrom(attempt.dispatch_time)
        task.last_attempt.CopyFrom(attempt)
        record.running += 1
        self._in_flight[queue.name] += 1
        self.attempts[queue.name.split("/")[1]] += 1
        self.store.mark_task(task.name)
        return Flight(queue.name, record, request, task.dispatch_count)

    # --- attempts --------------------------------------------------------------------

    def _start(self, flight: Flight) -> None:
        worker = threading.Thread(target=self._attempt, args=(flight,), daemon=True)
        with self._workers_lock:
            self._workers.add(worker)
        worker.start()

    def _attempt(self, flight: Flight) -> None:
        try:
            request = delivery.authorize(flight.request, self.minter, self.store.clock.now())
            outcome = self._send(request)
        except Exception as err:  # a bug in sending must not kill the worker silently
            log.exception("dispatch of %s failed", flight.record.task.name)
            outcome = Outcome(None, f"{type(err).__name__}: {err}")
        log.info(
            "dispatch %s %s %s attempt %d -> %s",
            names.short_id(flight.record.task.name),
            flight.request.method,
            flight.request.url,
            flight.attempt,
            outcome.describe(),
        )
        try:
            self._finish(flight, outcome)
        finally:
            with self._workers_lock:
                self._workers.discard(threading.current_thread())

    def _finish(self, flight: Flight, outcome: Outcome) -> None:
        with self.store.change():
            self._in_flight[flight.queue_name] -= 1
            record = flight.record
            record.running -= 1
            queue = self.store.queues.get(flight.queue_name)
            if queue is None or self.store.current(record.task.name) is not record:
                return  # deleted, purged or finished by a parallel RunTask meanwhile
            now = self.store.clock.now()
            self.store.mark_task(record.task.name)
            _record_outcome(record, outcome, now)
            if outcome.succeeded:
                self.store.remove_task(record.task.name)
                return
            self._retry_or_drop(queue, record, outcome, now)

    def _retry_or_drop(self, queue: Any, record: TaskRecord, outcome: Outcome, now: float) -> None:
        task = record.task
        policy = RetryPolicy.of(queue, task)
        first = pb.seconds_of(task.first_attempt.dispatch_time)
        if policy.exhausted(task.dispatch_count, first, now):
            log.info("task %s dropped after %d attempts", task.name, task.dispatch_count)
            self.store.remove_task(task.name)
            return
        delay = policy.backoff(task.dispatch_count)
        if outcome.status in _RETRY_AFTER_STATUSES and outcome.retry_after:
            delay = max(delay, outcome.retry_after)  # the service honours Retry-After there
        task.schedule_time.CopyFrom(pb.timestamp(now + delay))


def _record_outcome(record: TaskRecord, outcome: Outcome, now: float) -> None:
    """Fill the last attempt's response and the counters the next attempt's headers use."""
    task = record.task
    task.last_attempt.response_time.CopyFrom(pb.timestamp(now))
    task.last_attempt.response_status.CopyFrom(delivery.rpc_status(outcome))
    if outcome.status is None:
        return
    task.response_count += 1
    record.previous_response = outcome.status
    if outcome.status < 500:
        # X-CloudTasks-TaskExecutionCount leaves 5xx answers out, as the service does.
        record.executions += 1
