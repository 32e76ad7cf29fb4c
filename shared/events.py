"""Typed, frozen events: what functions receive, before any logic sees it.

A Scheduler invocation, a Cloud Tasks delivery and an Eventarc Firestore CloudEvent each
become one of these from their headers and bodies (compare firebase-functions-python's
``ScheduledEvent``); services only ever see these objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from msgspec import Struct, field

from shared.errors import InvalidInput


class ScheduledEvent(Struct, frozen=True):
    job_name: str
    schedule_time: datetime

    @property
    def run_key(self) -> str:
        """Identifies this run: Scheduler retries of one run share it."""
        return f"{self.job_name}@{self.schedule_time.isoformat()}"


def _parse_time(value: str) -> datetime:
    # Scheduler sends RFC 3339 with a trailing 'Z', which fromisoformat accepts since 3.11.
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# Scheduler's times are near the present; far outside this window a run would only
# overflow date arithmetic (or, in the future, act early on work not yet due).
EARLIEST_SCHEDULE_TIME = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)


def scheduled_event(headers: Mapping[str, str], now: datetime) -> ScheduledEvent:
    """From ``X-CloudScheduler-*`` headers; a manual call without them runs as of ``now``.

    Raises:
        InvalidInput: the schedule time is unreadable, before 2000 or in the future.
    """
    job = headers.get("X-CloudScheduler-JobName") or "manual"
    raw_time = headers.get("X-CloudScheduler-ScheduleTime")
    try:
        when = (_parse_time(raw_time) if raw_time else now).astimezone(UTC)
    except (ValueError, OverflowError) as err:
        raise InvalidInput(f"Bad X-CloudScheduler-ScheduleTime {raw_time!r}") from err
    if not EARLIEST_SCHEDULE_TIME <= when <= now + CLOCK_SKEW:
        raise InvalidInput(f"X-CloudScheduler-ScheduleTime {raw_time!r} is out of range.")
    return ScheduledEvent(job, when)


class TaskEvent(Struct, frozen=True):
    queue_name: str
    task_name: str
    retry_count: int
    execution_count: int
    payload: dict[str, Any]


def task_event(headers: Mapping[str, str], payload: dict[str, Any]) -> TaskEvent:
    def number(name: str) -> int:
        # ASCII digits only, and few: str.isdigit() also accepts "¹", which int() refuses.
        # (No regex: each process would compile it on its first task.)
        raw = headers.get(name, "0")
        return int(raw) if 0 < len(raw) <= 9 and raw.isascii() and raw.isdigit() else 0

    return TaskEvent(
        headers.get("X-CloudTasks-QueueName", ""),
        headers.get("X-CloudTasks-TaskName", ""),
        number("X-CloudTasks-TaskRetryCount"),
        number("X-CloudTasks-TaskExecutionCount"),
        payload,
    )


class DocumentEvent(Struct, frozen=True):
    """A Firestore document change, decoded from an Eventarc CloudEvent."""

    id: str
    type: str
    document: str  # path relative to the database, e.g. companies/c1/leads/l1
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    update_mask: tuple[str, ...] = ()
    params: dict[str, str] = field(default_factory=dict)

    @property
    def created(self) -> bool:
        return self.before is None and self.after is not None

    @property
    def deleted(self) -> bool:
        return self.after is None

    def changed(self, field_name: str) -> bool:
        old = (self.before or {}).get(field_name)
        return old != (self.after or {}).get(field_name)


def match_params(pattern: str, document: str) -> dict[str, str]:
    """``{companyId}`` wildcards of ``pattern`` bound from ``document``."""
    # Segment by segment, not a regex built from the pattern: each process would compile
    # one per trigger on its first event.
    expected, segments = pattern.split("/"), document.split("/")
    params: dict[str, str] = {}
    if len(expected) == len(segments):
        for wanted, segment in zip(expected, segments, strict=True):
            if wanted.startswith("{") and wanted.endswith("}") and segment:
                params[wanted[1:-1]] = segment
            elif wanted != segment:
                break
        else:
            return params
    raise InvalidInput(f"Document {document!r} does not match {pattern!r}")
