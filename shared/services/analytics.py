"""The daily analytics rollup: per active company, the day before the run's schedule time.

Only the companies with an activity marker for the day are visited
(``shared.domain.activity``): an idle company costs the rollup nothing. Each metric is an
aggregation query on one day field of one collection (leads created, leads converted,
reviews requested and completed, referral redemptions, content published), counted by
Firestore from its indexes: one read per 1,000 documents counted, at least one, so a busy
day is counted whole. The marker says which of those fields had anything that day and
which lead sources were seen; the other counts are zero without asking. Website
analytics events come from their day's counter shards (``shared.services.events``). The
metrics are written with ``set`` under ids derived from day, type and name, so rerunning
a schedule time (Scheduler retries, a manual rerun) overwrites the same documents. The
run fans out (``shared.services.periodic``): one task per active company, so a company
whose rollup fails is retried alone, for the same day.

Production needs composite indexes for the breakdowns: ``leads`` on status and on source
with created_at, ``reviews`` on rating with completed_at, ``content`` on type with
published_at (all ascending).
"""

from __future__ import annotations

import logging
from datetime import datetime

from shared.domain.activity import (
    EVENTS,
    ActivityMarker,
    marker_collection,
    marker_from,
    marker_path,
)
from shared.domain.analytics import RATINGS, Day, DayCounts, Metric, day_before, day_metrics
from shared.domain.content import ContentType
from shared.domain.leads import LeadStatus
from shared.ports import COUNT, Aggregation, DocumentStore, Filter, PagedStore, Snapshot, Write
from shared.services.events import day_event_metrics
from shared.services.periodic import Page, Step
from shared.services.task_handlers import TaskContext

log = logging.getLogger("growthkit.analytics")

JOB = "rollup_analytics"
MAX_WRITES = 500
RATING = Aggregation("sum", "rating")


def active_page(store: PagedStore, when: datetime, after: Snapshot | None, limit: int) -> Page:
    """The rollup's source: a page of the companies with an activity marker for the day
    before ``when`` (markers are named after their company), in name order."""
    parent, _, tenants = marker_collection(day_before(when).date).rpartition("/")
    markers = store.page(parent, tenants, after.path if after else None, limit)
    companies = [snap.path.rsplit("/", 1)[1] for snap in markers]
    full = len(markers) == limit and markers
    return Page(companies, Snapshot(markers[-1].path, {}) if full else None)


def rollup_unit(ctx: TaskContext, company_id: str, when: datetime, _: Snapshot | None) -> Step:
    """One company's rollup for the run at ``when``: the day's metrics (one page: its
    counts are a bounded number of aggregation queries, however busy the day)."""
    run_key = f"{JOB}@{when.isoformat()}"
    return Step(rollup_company(ctx.store, ctx.now, company_id, day_before(when), run_key))


def rollup_company(
    store: DocumentStore, now: datetime, company_id: str, day: Day, run_key: str
) -> int:
    """Count and store one company's metrics for ``day``; returns how many."""
    base = f"companies/{company_id}"
    writes = [_write(base, m, now, run_key) for m in company_day_metrics(store, company_id, day)]
    for start in range(0, len(writes), MAX_WRITES):
        store.commit(writes[start : start + MAX_WRITES])
    return len(writes)


def company_day_metrics(store: DocumentStore, company_id: str, day: Day) -> list[Metric]:
    """One company's metrics for ``day``, counted with aggregation queries (only those its
    activity marker says can be more than zero): what the rollup stores, and what the
    summary shows live for a day not rolled up yet."""
    snap = store.get_all([marker_path(day.date, company_id)])[0]
    marker = marker_from(snap.data or {}, company_id, day.date)
    metrics = day_metrics(day.date, count_day(store, company_id, day, marker))
    if marker.has(EVENTS):
        metrics += day_event_metrics(store, company_id, day)  # the website's analytics events
    return metrics


def count_day(store: DocumentStore, company_id: str, day: Day, marker: ActivityMarker) -> DayCounts:
    """The day's counts, asking only for those the marker says can be more than zero."""
    ask = _Day(store, f"companies/{company_id}", day, marker)
    leads = ask.count("leads", "created_at")
    completed = ask.count("reviews", "completed_at")
    ratings, rating_sum = ask.ratings() if completed else (0, 0)
    published = ask.count("content", "published_at")
    by_type = {t.value: ask.of_type(t.value) for t in ContentType} if published else {}
    return DayCounts(
        leads=leads,
        leads_by_source={s: ask.of_source(s) for s in marker.sources} if leads else {},
        leads_by_status={s.value: ask.of_status(s.value) for s in LeadStatus} if leads else {},
        conversions=ask.count("leads", "converted_at"),
        reviews_requested=ask.count("reviews", "requested_at"),
        reviews_completed=completed,
        ratings=ratings,
        rating_sum=rating_sum,
        redemptions=ask.count("referral_redemptions", "created_at"),
        content_published=published,
        content_by_type=by_type,
    )


class _Day:
    """Aggregation queries on one company's day; none for a field its marker lacks.
    (Each query is written out: tests/unit/test_indexes.py checks every one's index.)"""

    def __init__(self, store: DocumentStore, base: str, day: Day, marker: ActivityMarker):
        self.store, self.base, self.day, self.marker = store, base, day, marker

    def count(self, collection: str, day_field: str) -> int:
        if not self.marker.has(f"{collection}.{day_field}"):
            return 0
        start, end = self.day.start, self.day.end
        found = self.store.aggregate(
            f"{self.base}/{collection}",
            [COUNT],
            [Filter(day_field, ">=", start), Filter(day_field, "<", end)],
        )
        return int(found[0])

    def of_status(self, status: str) -> int:
        start, end = self.day.start, self.day.end
        within = [
            Filter("status", "==", status),
            Filter("created_at", ">=", start),
            Filter("created_at", "<", end),
        ]
        return int(self.store.aggregate(f"{self.base}/leads", [COUNT], within)[0])

    def of_source(self, source: str) -> int:
        start, end = self.day.start, self.day.end
        within = [
            Filter("source", "==", source),
            Filter("created_at", ">=", start),
            Filter("created_at", "<", end),
        ]
        return int(self.store.aggregate(f"{self.base}/leads", [COUNT], within)[0])

    def of_type(self, content_type: str) -> int:
        start, end = self.day.start, self.day.end
        within = [
            Filter("type", "==", content_type),
            Filter("published_at", ">=", start),
            Filter("published_at", "<", end),
        ]
        return int(self.store.aggregate(f"{self.base}/content", [COUNT], within)[0])

    def ratings(self) -> tuple[int, int]:
        """How many of the day's completed reviews have a rating, and the ratings' sum."""
        start, end = self.day.start, self.day.end
        rated = [
            Filter("rating", "in", list(RATINGS)),
            Filter("completed_at", ">=", start),
            Filter("completed_at", "<", end),
        ]
        count, total = self.store.aggregate(f"{self.base}/reviews", [COUNT, RATING], rated)
        return int(count), int(total)


def _write(base: str, metric: Metric, now: datetime, run_key: str) -> Write:
    data = {**metric.model_dump(), "computed_at": now, "run_key": run_key}
    return Write(f"{base}/analytics/{metric.doc_id}", data, "set")
