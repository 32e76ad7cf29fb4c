"""Daily analytics: the day a run covers, and the metrics computed from that day's documents.

A metric is one number for one company, day, type and name, stored at
``companies/{c}/analytics/{date}-{metric_type}-{metric_name}``. Its id is derived from what
it measures, so a rerun for the same day overwrites instead of adding.
"""

import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from msgspec import Struct

from shared.domain.common import DeferredModel
from shared.domain.leads import LeadStatus

_UNSAFE = re.compile(r"[^A-Za-z0-9_.@+-]")


class Day(Struct, frozen=True):
    """One UTC day, ``[start, end)``."""

    date: str
    start: datetime
    end: datetime


def day_before(when: datetime) -> Day:
    """The UTC day before ``when``: a run at 00:15 rolls up the day that just ended."""
    end = when.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=1)
    return Day(start.date().isoformat(), start, end)


def utc_day(day: date) -> Day:
    """The UTC day ``day``."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return Day(day.isoformat(), start, start + timedelta(days=1))


def live_days(start: date, end: date, now: datetime, rolled_up: set[str]) -> list[date]:
    """The days of ``start``..``end`` whose figures must be computed now, not read from
    the rollup: today (rolled up only after it ends), and yesterday until its rollup (at
    00:15) has stored it. Older days are the rollup's alone."""
    today = now.astimezone(UTC).date()
    yesterday = today - timedelta(days=1)
    wanted = [yesterday] if yesterday.isoformat() not in rolled_up else []
    return [d for d in [*wanted, today] if start <= d <= end]


class Metric(DeferredModel):
    date: str
    metric_type: str
    metric_name: str
    value: int | float
    source: str

    @property
    def doc_id(self) -> str:
        name = _UNSAFE.sub("_", self.metric_name)[:200] or "_"
        return f"{self.date}-{self.metric_type}-{name}"


class DayDocs(Struct, frozen=True):
    """The documents of one company that one day's metrics are computed from."""

    leads_created: list[dict[str, Any]]
    leads_converted: list[dict[str, Any]]
    reviews_requested: list[dict[str, Any]]
    reviews_completed: list[dict[str, Any]]
    redemptions: list[dict[str, Any]]
    content_published: list[dict[str, Any]]


def _counts(date: str, metric_type: str, values: Iterable[str], source: str) -> list[Metric]:
    return [
        _total(date, metric_type, name, n, source) for name, n in sorted(Counter(values).items())
    ]


def _lead_metrics(date: str, leads: list[dict[str, Any]]) -> list[Metric]:
    source = "leads.created_at"
    # Every status, zeros included, so a rerun overwrites a count that dropped to nothing.
    statuses = Counter({s.value: 0 for s in LeadStatus})
    statuses.update(str(d.get("status") or LeadStatus.NEW.value) for d in leads)
    by_status = [
        _total(date, "leads_by_status", name, n, source) for name, n in sorted(statuses.items())
    ]
    sources = (str(d.get("source") or "unknown") for d in leads)
    return [
        _total(date, "leads", "total", len(leads), source),
        *_counts(date, "leads_by_source", sources, source),
        *by_status,
    ]


def _ratings(reviews: list[dict[str, Any]]) -> list[int]:
    return [int(r["rating"]) for r in reviews if isinstance(r.get("rating"), int | float)]


def _total(date: str, metric_type: str, name: str, value: float, source: str) -> Metric:
    return Metric(date=date, metric_type=metric_type, metric_name=name, value=value, source=source)


def day_metrics(date: str, docs: DayDocs) -> list[Metric]:
    """Every metric of one company and day."""
    ratings = _ratings(docs.reviews_completed)
    metrics = [
        *_lead_metrics(date, docs.leads_created),
        _total(date, "conversions", "total", len(docs.leads_converted), "leads.converted_at"),
        _total(date, "reviews", "requested", len(docs.reviews_requested), "reviews.requested_at"),
        _total(date, "reviews", "completed", len(docs.reviews_completed), "reviews.completed_at"),
        _total(date, "referrals", "redemptions", len(docs.redemptions), "referral_redemptions"),
        _total(date, "content", "published", len(docs.content_published), "content.published_at"),
        *_counts(
            date,
            "content_by_type",
            (str(d.get("type") or "blog") for d in docs.content_published),
            "content.published_at",
        ),
    ]
    if ratings:
        average = round(sum(ratings) / len(ratings), 2)
        metrics.append(_total(date, "reviews", "average_rating", average, "reviews.rating"))
    return metrics
