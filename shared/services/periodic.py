"""Periodic functions fan out: one task per company with work, each doing bounded work.

A run of a periodic function (Cloud Scheduler's call, or the run's own continuation) reads
one page of the companies that have work for it, ``FANOUT_PAGE`` at most (each job's
source: the day's activity markers, the companies with a setting, the companies with
something due), and gives each one ``periodic_company`` task, named from the job, the
company and the run's schedule time: a Scheduler retry of the run, or a second delivery
of a continuation, finds those tasks stored already and adds nothing. If the page was
full, the invocation enqueues its continuation: a Cloud Task to the same function, named
from the run and the page number, carrying the page's cursor. So one invocation does the
same work with 100 companies or 10,000.

A company's task runs the job's unit for that company and run (``run_task``'s lease
makes it run once in effect), a page of the company's documents at most; if the unit
answers a cursor, the task schedules the company's next page as a task of its own (named
from the page number). A company's failure is its own: anything but a refusal of the task
itself is raised as ``Transient``, so Cloud Tasks retries that company's task alone.

A job is a source, ``(store, schedule_time, after, limit) -> Page``, and a unit,
``(ctx, company_id, schedule_time, cursor) -> Step``, named in ``JOBS`` and imported only
when a run of that job needs them.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from msgspec import Struct

from shared.domain.common import as_utc
from shared.domain.tasks import ScheduledTask
from shared.errors import DomainError, InvalidInput, Transient
from shared.events import ScheduledEvent, cursor_data, cursor_from_data
from shared.ports import PagedStore, Snapshot, TaskQueue, TaskRequest
from shared.services.scheduling import TaskSpec, schedule_tasks
from shared.services.task_handlers import TaskContext

log = logging.getLogger("growthkit.periodic")

TASK_TYPE = "periodic_company"
# The task a company's failed part of a run got before runs fanned out; same handler.
RETRY = "periodic_retry"
# Companies per fan-out invocation: each costs a read and a task document, so a page
# costs about what one company's task does, and no invocation of a run grows with it.
FANOUT_PAGE = 20


class Page(Struct, frozen=True):
    """A page of a source: the companies with work in it (each once), and its last
    document when the page was full (there may be more after it)."""

    companies: list[str]
    cursor: Snapshot | None = None


class Step(Struct, frozen=True):
    """What a unit did for a company (JSON-able), and where its next page starts."""

    result: Any
    cursor: Snapshot | None = None


class Job(Struct, frozen=True):
    """A periodic function's work: its source and unit, as ``module:function``."""

    source: str
    unit: str


JOBS: dict[str, Job] = {
    "rollup_analytics": Job(
        "shared.services.analytics:active_page", "shared.services.analytics:rollup_unit"
    ),
    "decay_engagement_scores": Job(
        "shared.scoring.services.engagement:decaying_page",
        "shared.scoring.services.engagement:decay_unit",
    ),
    "expire_referrals": Job(
        "shared.services.referral_codes:due_page", "shared.services.referral_codes:expire_unit"
    ),
    "enrol_scheduled_workflows": Job(
        "shared.workflows.services.schedule:due_page",
        "shared.workflows.services.schedule:schedule_unit",
    ),
    "refresh_social_tokens": Job(
        "shared.services.integrations_refresh:due_page",
        "shared.services.integrations_refresh:refresh_unit",
    ),
}
Source = Callable[[PagedStore, datetime, Snapshot | None, int], Page]
Unit = Callable[[TaskContext, str, datetime, Snapshot | None], Step]


class FanOut(Struct, frozen=True):
    """What one invocation of a periodic function did."""

    run: str
    page: int
    companies: int
    scheduled: int
    continued: bool


def company_of(snap: Snapshot) -> str:
    """The company a document belongs to (``companies/{c}/...``)."""
    return snap.path.split("/")[1]


def page_of(snaps: list[Snapshot], limit: int, ordered_on: tuple[str, ...] = ()) -> Page:
    """The page of ``snaps`` (documents of companies, in their query's order): their
    companies, and when the page is full a cursor holding the fields ``ordered_on``."""
    companies = list(dict.fromkeys(company_of(s) for s in snaps))
    if len(snaps) < limit or not snaps:
        return Page(companies)
    last = snaps[-1]
    return Page(companies, Snapshot(last.path, _only(last.data or {}, ordered_on)))


def _only(data: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The (dotted) ``fields`` of ``data``, nested as they were."""
    kept: dict[str, Any] = {}
    for name in fields:
        *parents, leaf = name.split(".")
        source: Any = data
        target = kept
        for part in parents:
            source = source.get(part) if isinstance(source, dict) else None
            target = target.setdefault(part, {})
        if isinstance(source, dict) and leaf in source:
            target[leaf] = source[leaf]
    return kept


def fan_out(
    store: PagedStore, queue: TaskQueue, now: datetime, event: ScheduledEvent, job: str
) -> FanOut:
    """One page of the run ``event`` of ``job`` (the periodic function of that name):
    a task per company in it, and the run's continuation if the page was full.

    Raises:
        Transient: the continuation could not be enqueued (the run is retried; the
            tasks already stored are not created twice).
    """
    when = _plain(event.schedule_time)
    source: Source = _load(JOBS[job].source)
    page = source(store, when, event.cursor, FANOUT_PAGE)
    specs = [_spec(job, company_id, when, 1, None) for company_id in page.companies]
    created = schedule_tasks(store, queue, now, specs)
    if page.cursor is not None:
        _continue(queue, event, job, page.cursor)
    result = FanOut(event.run_key, event.page, len(page.companies), len(created), bool(page.cursor))
    log.info("%s page %d: %s", event.run_key, event.page, result)
    return result


def _continue(queue: TaskQueue, event: ScheduledEvent, job: str, cursor: Snapshot) -> None:
    """Enqueue the run's next page: this function again, after ``cursor``."""
    page = event.page + 1
    body = {
        "continuation": {
            "job_name": event.job_name,
            "schedule_time": event.schedule_time.isoformat(),
            "page": page,
            "cursor": cursor_data(cursor),
        }
    }
    name = f"periodic-{job}-{event.schedule_time.isoformat()}-page-{page}"
    try:
        created = queue.enqueue(TaskRequest(name, body, target=job))
    except Exception as err:
        # Deliberately broad: whatever stopped it, the run must be retried from here.
        raise Transient(f"Could not enqueue page {page} of {event.run_key}: {err}") from err
    log.info("%s continues at page %d%s", event.run_key, page, "" if created else " (already)")


def _spec(
    job: str, company_id: str, when: datetime, page: int, cursor: Snapshot | None
) -> TaskSpec:
    key = f"periodic:{job}:{company_id}:{when.isoformat()}"
    data: dict[str, Any] = {"job": job, "schedule_time": when, "page": page}
    if cursor is not None:
        key, data["cursor"] = f"{key}:page-{page}", cursor_data(cursor)
    return TaskSpec(company_id, TASK_TYPE, data, when, key)


def periodic_company_task(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """Task ``periodic_company`` (data: ``job``, ``schedule_time``, ``page``, ``cursor``):
    the job's unit for the task's company and run; its next page, if it has one, as a
    task of its own.

    Raises:
        InvalidInput: the task's data names no known job or run (failed for good).
        Transient: the unit failed; Cloud Tasks retries this company's task alone.
    """
    job, when, page, cursor = _task_data(task)
    unit: Unit = _load(JOBS[job].unit)
    try:
        step = unit(ctx, task.company_id, when, cursor)
    except (Transient, InvalidInput):
        raise
    except Exception as err:
        # Deliberately broad: whatever this company's data makes the unit raise, it is
        # this company's task that is retried, and no other company's work waits for it.
        log.exception("%s for company %s (page %d) failed", job, task.company_id, page)
        raise Transient(f"{job} failed for company {task.company_id}: {_describe(err)}") from err
    following = None
    if step.cursor is not None:
        spec = _spec(job, task.company_id, when, page + 1, step.cursor)
        following = schedule_tasks(ctx.store, ctx.queue, ctx.now, [spec])
    log.info("%s for company %s, page %d: %s", job, task.company_id, page, step.result)
    return {"job": job, "page": page, "result": step.result, "next_page": bool(following)}


def _task_data(task: ScheduledTask) -> tuple[str, datetime, int, Snapshot | None]:
    job, when = task.data.get("job"), task.data.get("schedule_time")
    page, raw = task.data.get("page", 1), task.data.get("cursor")
    if job not in JOBS or not isinstance(when, datetime) or not isinstance(page, int):
        raise InvalidInput(
            f"A {task.type} task needs data.job (one of {', '.join(JOBS)}), "
            "data.schedule_time and an integer data.page."
        )
    return str(job), _plain(when), page, cursor_from_data(raw) if raw is not None else None


def _load(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _describe(err: Exception) -> str:
    message = err.message if isinstance(err, DomainError) else str(err)
    return f"{type(err).__name__}: {message}"[:500]


def _plain(value: datetime) -> datetime:
    """The schedule time as a plain UTC datetime: Firestore's subclass loses its
    nanoseconds on ``replace`` and then cannot be sent back in a query."""
    utc = as_utc(value)
    return datetime(*utc.timetuple()[:6], utc.microsecond, tzinfo=UTC)
