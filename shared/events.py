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
from shared.ports import Snapshot


class ScheduledEvent(Struct, frozen=True):
    job_name: str
    schedule_time: datetime
    # A run's later pages come from its own continuations (shared.services.periodic).
    page: int = 1
    cursor: Snapshot | None = None

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


def scheduled_event(
    headers: Mapping[str, str], now: datetime, body: Mapping[str, Any] | None = None
) -> ScheduledEvent:
    """From ``X-CloudScheduler-*`` headers; a manual call without them runs as of ``now``.
    A body holding ``continuation`` is a run's later page, enqueued by the run itself.

    Raises:
        InvalidInput: the schedule time is unreadable, before 2000 or in the future; a
            continuation that is not one.
    """
    if body and "continuation" in body:
        return _continuation(body["continuation"], now)
    job = headers.get("X-CloudScheduler-JobName") or "manual"
    return ScheduledEvent(job, _schedule_time(headers.get("X-CloudScheduler-ScheduleTime"), now))


def _schedule_time(raw_time: str | None, now: datetime) -> datetime:
    try:
        when = (_parse_time(raw_time) if raw_time else now).astimezone(UTC)
    except (ValueError, OverflowError, TypeError) as err:
        raise InvalidInput(f"Bad X-CloudScheduler-ScheduleTime {raw_time!r}") from err
    if not EARLIEST_SCHEDULE_TIME <= when <= now + CLOCK_SKEW:
        raise InvalidInput(f"X-CloudScheduler-ScheduleTime {raw_time!r} is out of range.")
    return when


MAX_PAGES = 100_000


def _continuation(raw: Any, now: datetime) -> ScheduledEvent:
    """``{"job_name", "schedule_time", "page", "cursor"}``: the run's page to do next."""
    if not isinstance(raw, Mapping):
        raise InvalidInput("continuation must be an object.")
    job, page, raw_time = raw.get("job_name"), raw.get("page"), raw.get("schedule_time")
    if not isinstance(job, str) or not 0 < len(job) <= 500:
        raise InvalidInput("continuation.job_name must be a job's name.")
    if not isinstance(page, int) or isinstance(page, bool) or not 1 < page <= MAX_PAGES:
        raise InvalidInput(f"continuation.page must be a page number from 2 to {MAX_PAGES}.")
    if not isinstance(raw_time, str):
        raise InvalidInput("continuation.schedule_time must be the run's schedule time.")
    return ScheduledEvent(
        job, _schedule_time(raw_time, now), page, cursor_from_data(raw.get("cursor"))
    )


# --- cursors ---------------------------------------------------------------------------


def cursor_data(cursor: Snapshot) -> dict[str, Any]:
    """A page's cursor (its last document: path, fields ordered on) as JSON-able data,
    each value tagged with its type so that times come back as times."""
    return {"path": cursor.path, "data": _tagged(cursor.data or {})["map"]}


def cursor_from_data(raw: Any) -> Snapshot:
    """The cursor ``cursor_data`` made.

    Raises:
        InvalidInput: anything else.
    """
    bad = InvalidInput("cursor must be {path: a document path, data: its tagged fields}.")
    path = raw.get("path") if isinstance(raw, Mapping) else None
    if not isinstance(path, str) or not 0 < len(path) <= 1500:
        raise bad
    segments = path.split("/")
    if len(segments) % 2 or not all(segments):
        raise bad
    try:
        data = _untagged({"map": raw.get("data")})
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise bad from err
    return Snapshot(path, data)


def _tagged(value: Any) -> dict[str, Any]:
    if isinstance(value, datetime):
        return {"time": value.astimezone(UTC).isoformat()}
    if isinstance(value, Mapping):
        return {"map": {str(k): _tagged(v) for k, v in value.items()}}
    return {"value": value}


def _untagged(tagged: Mapping[str, Any]) -> Any:
    ((kind, value),) = tagged.items()
    if kind == "time":
        return datetime.fromisoformat(value)
    if kind == "map":
        return {str(k): _untagged(v) for k, v in value.items()}
    if kind == "value" and (value is None or isinstance(value, str | int | float | bool)):
        return value
    raise ValueError(f"not a cursor value: {kind}")


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
