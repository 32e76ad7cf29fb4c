"""The background loop that runs jobs on time, retries them and records the outcome.

At most one execution of a job is outstanding. An execution is one scheduled run and its
retries. A run time that comes while the previous execution's attempt is still in flight
*waits*: it starts as soon as that attempt ends (the real service documents the same
delay), and if several run times went by only the latest one runs, so a slow target never
builds a backlog. Retries never overlap the next run: as documented for RetryConfig they
stop at the next scheduled time, whose execution then starts.

RunJob starts an execution now. The real service dispatches it even while the job is
running; here it too waits for the attempt in flight, so the one-outstanding rule holds
without exception. A forced run of a paused job is one attempt, without retries.

Missed run times while the server was down are not caught up: after a restart each
enabled job runs at its next time from then on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from localcloud.scheduler import invoke, pb
from localcloud.scheduler.cron import Schedule
from localcloud.scheduler.errors import SchedulerError
from localcloud.scheduler.retry import RetryPolicy, seconds

log = logging.getLogger("localcloud.scheduler")
Clock = Callable[[], datetime]
# Re-read the clock at least this often: a test clock may be set ahead at any time.
MAX_WAIT = 1.0
_FORCED = datetime.min.replace(tzinfo=UTC)


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Execution:
    """One outstanding execution: the run time it is for and the attempts made so far."""

    scheduled: datetime
    first_attempt: datetime | None = None
    attempts: int = 0


class Runner:
    """Dispatches due jobs; its state is guarded by the table's condition."""

    def __init__(self, table: Any, clock: Clock, allow_seconds: bool) -> None:
        self.table = table
        self.clock = clock
        self.allow_seconds = allow_seconds
        self._executions: dict[str, Execution] = {}
        self._running: set[str] = set()
        self._forced: set[str] = set()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="scheduler-runner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self.table.cond:
            self._stopped = True
            self.table.cond.notify_all()
        self._thread.join(timeout=5)

    # --- called by the RPC handlers with table.cond held ---------------------------------

    def forget(self, name: str) -> None:
        """Drop the job's outstanding execution (pause, update, delete): no more retries."""
        self._executions.pop(name, None)
        self._forced.discard(name)

    def force(self, name: str) -> None:
        """Run the job now, or as soon as its attempt in flight ends."""
        self._executions.pop(name, None)
        self._forced.add(name)
        self.table.cond.notify_all()

    def schedule_next(self, job: Any, now: datetime) -> None:
        """Set ``schedule_time`` to the job's next run time after ``now`` (none if paused)."""
        schedule = self.schedule_of(job)
        if job.state != pb.Job.ENABLED or schedule is None:
            job.ClearField("schedule_time")
            return
        job.schedule_time.FromDatetime(schedule.next_after(now))

    def schedule_of(self, job: Any) -> Schedule | None:
        try:
            return Schedule.parse(job.schedule, job.time_zone, self.allow_seconds)
        except SchedulerError as err:
            # Only a job stored by a server started with allow_seconds gets here.
            log.warning("job %s cannot be scheduled: %s", job.name, err.message)
            return None

    # --- the loop ------------------------------------------------------------------------

    def _loop(self) -> None:
        with self.table.cond:
            while not self._stopped:
                wait = self._dispatch_due(self.clock())
                self.table.cond.wait(timeout=wait)

    def _dispatch_due(self, now: datetime) -> float:
        """Start every due job; seconds until the next one is due (at most MAX_WAIT)."""
        wait = MAX_WAIT
        for name, job in list(self.table.jobs.items()):
            due = self._due_time(name, job)
            if due is None:
                continue
            if due <= now:
                self._start(name, job, now)
            else:
                wait = min(wait, (due - now).total_seconds())
        return max(wait, 0.001)

    def _due_time(self, name: str, job: Any) -> datetime | None:
        if name in self._running:
            return None
        if name in self._forced:
            return _FORCED
        if job.state != pb.Job.ENABLED or not job.HasField("schedule_time"):
            return None
        return job.schedule_time.ToDatetime(tzinfo=UTC)  # type: ignore[no-any-return]

    def _start(self, name: str, job: Any, now: datetime) -> None:
        execution = self._executions.get(name)
        if name in self._forced:
            self._forced.discard(name)
            execution = Execution(scheduled=now)
        elif execution is None:
            execution = Execution(scheduled=job.schedule_time.ToDatetime(tzinfo=UTC))
        execution.attempts += 1
        execution.first_attempt = execution.first_attempt or now
        self._executions[name] = execution
        self._running.add(name)
        request = invoke.build_request(job, execution.scheduled, now)
        timeout = seconds(job.attempt_deadline)
        args = (name, execution, request, timeout, now)
        threading.Thread(target=self._attempt, args=args, daemon=True).start()

    def _attempt(
        self, name: str, execution: Execution, request: Any, timeout: float, started: datetime
    ) -> None:
        began = time.monotonic()
        status = invoke.attempt(request, timeout)
        outcome = invoke.code_name(status.code) + (f" ({status.message})" if status.message else "")
        log.info(
            "job %s attempt %d: %s %s -> %s in %.0f ms",
            invoke.job_id(name),
            execution.attempts,
            request.get_method(),
            request.full_url,
            outcome,
            (time.monotonic() - began) * 1000,
        )
        with self.table.cond:
            self._running.discard(name)
            if not self._stopped:
                self._finish(name, execution, started, status)
            self.table.cond.notify_all()

    def _finish(self, name: str, execution: Execution, started: datetime, status: Any) -> None:
        job = self.table.get(name)
        if job is None:  # deleted while the attempt was in flight
            return
        job.last_attempt_time.FromDatetime(started)
        job.status.CopyFrom(status)
        # A pause, update or RunJob meanwhile replaced this execution and set the time.
        if self._executions.get(name) is execution:
            now = self.clock()
            retry_at = self._retry_time(job, execution, status, now)
            if retry_at is not None:
                job.schedule_time.FromDatetime(retry_at)
            else:
                del self._executions[name]
                self._schedule_after(job, execution.scheduled, now)
        self.table.save()

    def _retry_time(
        self, job: Any, execution: Execution, status: Any, now: datetime
    ) -> datetime | None:
        schedule = self.schedule_of(job)
        if status.code == 0 or job.state != pb.Job.ENABLED or schedule is None:
            return None
        policy = RetryPolicy.from_pb(job.retry_config)
        retries = execution.attempts - 1
        elapsed = (now - (execution.first_attempt or now)).total_seconds()
        if not policy.should_retry(retries, elapsed):
            return None
        retry_at = now + timedelta(seconds=policy.backoff(retries))
        # Retries end where the next scheduled execution begins.
        return retry_at if retry_at < schedule.next_after(execution.scheduled) else None

    def _schedule_after(self, job: Any, previous: datetime, now: datetime) -> None:
        schedule = self.schedule_of(job)
        if job.state != pb.Job.ENABLED or schedule is None:
            job.ClearField("schedule_time")
            return
        job.schedule_time.FromDatetime(schedule.due_after(previous, now))
