"""The daily analytics rollup: per company, the day before the run's schedule time.

Each metric source is one bounded range query on a single timestamp field (leads created,
leads converted, reviews requested and completed, referral redemptions, content
published), which Firestore serves from its automatic single-field indexes; website
analytics events come from their day's counter shards (``shared.services.events``). The
metrics are written with ``set`` under ids derived from day, type and name, so rerunning a
schedule time (Scheduler retries, a manual rerun) overwrites the same documents. A
company whose rollup fails is retried alone, for the same day
(``shared.services.periodic``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from msgspec import Struct, field

from shared.domain.analytics import Day, DayDocs, Metric, day_before, day_metrics
from shared.events import ScheduledEvent
from shared.ports import DocumentStore, Filter, TaskQueue, Write
from shared.services.events import day_event_metrics
from shared.services.periodic import Retry, company_of, each_tenant
from shared.services.task_handlers import TaskContext

log = logging.getLogger("growthkit.analytics")

# Small businesses: far fewer documents a day than this; hitting it is logged as truncated.
QUERY_LIMIT = 5000
COMPANY_LIMIT = 10_000
JOB = "rollup_analytics"
MAX_WRITES = 500


class RollupResult(Struct):
    date: str
    companies: int = 0
    metrics: int = 0
    failed: list[str] = field(default_factory=list)


def rollup_analytics(
    store: DocumentStore, queue: TaskQueue, now: datetime, event: ScheduledEvent
) -> RollupResult:
    """Roll up every company's metrics for the day before ``event.schedule_time``.

    Args:
        store: The document store.
        queue: For a failing company's retry task.
        now: When this run computes (stored as ``computed_at``).
        event: The Scheduler run; its schedule time picks the day.

    Returns:
        The day, how many companies and metrics were written, and which companies failed
        (each left a retry task for this day).
    """
    day = day_before(event.schedule_time)
    companies = store.query("companies", limit=COMPANY_LIMIT)
    if len(companies) == COMPANY_LIMIT:
        log.warning("%d companies or more: the rest are not rolled up", COMPANY_LIMIT)
    run = each_tenant(
        JOB,
        event,
        (company_of(snap) for snap in companies),
        lambda company_id: rollup_company(store, now, company_id, day, event.run_key),
        Retry(store, queue),
    )
    metrics = sum(run.results.values())
    result = RollupResult(day.date, len(run.results), metrics, run.failed)
    log.info("analytics %s: %s", event.run_key, result)
    return result


def rollup_company_for_run(ctx: TaskContext, company_id: str, when: datetime) -> int:
    """One company's rollup for the run scheduled at ``when`` (a retry's unit)."""
    run_key = f"periodic_retry@{when.isoformat()}"
    return rollup_company(ctx.store, ctx.now, company_id, day_before(when), run_key)


def rollup_company(
    store: DocumentStore, now: datetime, company_id: str, day: Day, run_key: str
) -> int:
    """Compute and store one company's metrics for ``day``; returns how many."""
    base = f"companies/{company_id}"
    writes = [_write(base, m, now, run_key) for m in company_day_metrics(store, company_id, day)]
    for start in range(0, len(writes), MAX_WRITES):
        store.commit(writes[start : start + MAX_WRITES])
    return len(writes)


def company_day_metrics(store: DocumentStore, company_id: str, day: Day) -> list[Metric]:
    """One company's metrics for ``day``, from that day's documents and event counters:
    what the rollup stores, and what the summary shows live for a day not rolled up yet."""
    base = f"companies/{company_id}"

    def within(collection: str, field_name: str) -> list[dict[str, Any]]:
        return _within(store, f"{base}/{collection}", field_name, day)

    docs = DayDocs(
        leads_created=within("leads", "created_at"),
        leads_converted=within("leads", "converted_at"),
        reviews_requested=within("reviews", "requested_at"),
        reviews_completed=within("reviews", "completed_at"),
        redemptions=within("referral_redemptions", "created_at"),
        content_published=within("content", "published_at"),
    )
    # The website's analytics events, from the day's counter shards.
    return day_metrics(day.date, docs) + day_event_metrics(store, company_id, day)


def _within(store: DocumentStore, collection: str, field_name: str, day: Day) -> list[Any]:
    snaps = store.query(
        collection,
        [Filter(field_name, ">=", day.start), Filter(field_name, "<", day.end)],
        limit=QUERY_LIMIT,
    )
    if len(snaps) == QUERY_LIMIT:
        log.warning(
            "%s: %d or more by %s on %s; counts are capped",
            collection,
            QUERY_LIMIT,
            field_name,
            day.date,
        )
    return [s.data for s in snaps if s.data is not None]


def _write(base: str, metric: Metric, now: datetime, run_key: str) -> Write:
    data = {**metric.model_dump(), "computed_at": now, "run_key": run_key}
    return Write(f"{base}/analytics/{metric.doc_id}", data, "set")
