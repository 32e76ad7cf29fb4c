"""Periodic functions work company by company, so one company cannot stop the others.

A periodic function (Cloud Scheduler) runs one unit of work per company. A company
whose unit fails is logged and gets one ``periodic_retry`` task that runs that
company's unit again for the same run, named from the job, the company and the run's
schedule time: a Scheduler retry of the run adds nothing. The run answers 2xx for the
work it did; only when a retry cannot even be recorded does it fail, so that Scheduler
runs it again (every unit is idempotent).

A unit a retry can run is ``def unit(ctx: TaskContext, company_id: str, schedule_time:
datetime) -> Any`` (a JSON-able result), named in ``UNITS``; a task that fans a run
out per company can call the same functions.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from msgspec import Struct, field

from shared.domain.common import as_utc
from shared.domain.tasks import ScheduledTask
from shared.errors import InvalidInput
from shared.events import ScheduledEvent
from shared.ports import DocumentStore, Snapshot, TaskQueue
from shared.services.scheduling import schedule_task
from shared.services.task_handlers import TaskContext

log = logging.getLogger("growthkit.periodic")

RETRY = "periodic_retry"
Unit = Callable[[TaskContext, str, datetime], Any]
# Each job's per-company unit, imported only when a retry of that job runs.
UNITS: dict[str, str] = {
    "enrol_scheduled_workflows": "shared.workflows.services.schedule:enrol_company_schedules",
    "decay_engagement_scores": "shared.scoring.services.engagement:decay_company",
    "rollup_analytics": "shared.services.analytics:rollup_company_for_run",
    "expire_referrals": "shared.services.referral_codes:expire_company_referrals",
}
T = TypeVar("T")


class TenantRun(Struct, Generic[T]):
    """What each company's unit returned, and the companies whose unit failed."""

    results: dict[str, T] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


class Retry(Struct, frozen=True):
    """Where a failed company's retry task goes."""

    store: DocumentStore
    queue: TaskQueue


def company_of(snap: Snapshot) -> str:
    """The company a document belongs to (``companies/{c}/...``)."""
    return snap.path.split("/")[1]


def by_company(snaps: Iterable[Snapshot]) -> dict[str, list[Snapshot]]:
    grouped: dict[str, list[Snapshot]] = {}
    for snap in snaps:
        grouped.setdefault(company_of(snap), []).append(snap)
    return grouped


def each_tenant(
    job: str,
    event: ScheduledEvent,
    company_ids: Iterable[str],
    work: Callable[[str], T],
    retry: Retry | None,
) -> TenantRun[T]:
    """Run ``work`` for each company; a failure is logged and, with ``retry``, the
    company gets its retry task (without: the job's next run is its retry)."""
    run: TenantRun[T] = TenantRun()
    for company_id in dict.fromkeys(company_ids):
        try:
            run.results[company_id] = work(company_id)
        except Exception:
            # Deliberately broad: whatever one company's data or settings make its unit
            # raise, the other companies' work goes on.
            log.exception("%s (%s): company %s failed", job, event.run_key, company_id)
            run.failed.append(company_id)
    for company_id in run.failed if retry else ():
        assert retry is not None
        schedule_retry(retry, job, company_id, event)
    return run


def schedule_retry(retry: Retry, job: str, company_id: str, event: ScheduledEvent) -> str:
    """The company's retry task for this run (the same one, however often asked)."""
    when = event.schedule_time
    task_id = schedule_task(
        retry.store,
        retry.queue,
        when,
        company_id=company_id,
        task_type=RETRY,
        data={"job": job, "schedule_time": when, "run_key": event.run_key},
        run_at=when,
        key=f"periodic:{job}:{company_id}:{when.isoformat()}",
    )
    log.warning(
        "%s (%s): company %s is retried alone: task %s", job, event.run_key, company_id, task_id
    )
    return task_id


def periodic_retry_task(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """Task ``periodic_retry`` (data: ``job``, ``schedule_time``): the company's unit of
    that job, for that run."""
    job, when = task.data.get("job"), task.data.get("schedule_time")
    if job not in UNITS or not isinstance(when, datetime):
        raise InvalidInput(
            f"A {RETRY} task needs data.job (one of {', '.join(UNITS)}) and data.schedule_time."
        )
    module, _, name = UNITS[str(job)].partition(":")
    unit: Unit = getattr(importlib.import_module(module), name)
    result = unit(ctx, task.company_id, _plain(when))
    log.info(
        "%s retried for company %s (%s): %s", job, task.company_id, task.data.get("run_key"), result
    )
    return {"job": job, "result": result}


def _plain(value: datetime) -> datetime:
    """The stored schedule time as a plain UTC datetime: Firestore's subclass loses its
    nanoseconds on ``replace`` and then cannot be sent back in a query."""
    utc = as_utc(value)
    return datetime(*utc.timetuple()[:6], utc.microsecond, tzinfo=UTC)
