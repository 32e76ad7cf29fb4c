"""Daily analytics: the day a run covers, and the metrics computed from that day's documents.

A metric is one number for one company, day, type and name, stored at
``companies/{c}/analytics/{date}-{metric_type}-{metric_name}``. Its id is derived from what
it measures, so a rerun for the same day overwrites instead of adding. The numbers come
from counts (``DayCounts``), which the rollup asks Firestore for with aggregation queries.
"""

import re
from datetime import UTC, date, datetime, timedelta

from msgspec import Struct, field

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


# A review's rating, as staff record it (shared.services.reviews): 1 to 5 stars.
RATINGS = (1, 2, 3, 4, 5)


class DayCounts(Struct, frozen=True):
    """What one company's metrics for one day are made of, counted (not read) from its
    documents. A breakdown need not add up to its total: what no breakdown counted is a
    lead of unknown source (or of the default status ``new``), content of the default
    type ``blog``."""

    leads: int = 0
    leads_by_source: dict[str, int] = field(default_factory=dict)
    leads_by_status: dict[str, int] = field(default_factory=dict)
    conversions: int = 0
    reviews_requested: int = 0
    reviews_completed: int = 0
    ratings: int = 0  # completed reviews with a rating of 1 to 5
    rating_sum: int = 0
    redemptions: int = 0
    content_published: int = 0
    content_by_type: dict[str, int] = field(default_factory=dict)


def _with_rest(counts: dict[str, int], total: int, rest: str) -> dict[str, int]:
    """``counts`` with what they leave of ``total`` added to ``rest``."""
    left = total - sum(counts.values())
    return {**counts, rest: counts.get(rest, 0) + left} if left > 0 else dict(counts)


def _total(date: str, metric_type: str, name: str, value: float, source: str) -> Metric:
    return Metric(date=date, metric_type=metric_type, metric_name=name, value=value, source=source)


def _nonzero(date: str, metric_type: str, counts: dict[str, int], source: str) -> list[Metric]:
    return [_total(date, metric_type, k, n, source) for k, n in sorted(counts.items()) if n]


def _lead_metrics(date: str, counts: DayCounts) -> list[Metric]:
    source = "leads.created_at"
    # Every status, zeros included, so a rerun overwrites a count that dropped to nothing.
    statuses = {s.value: 0 for s in LeadStatus} | counts.leads_by_status
    statuses = _with_rest(statuses, counts.leads, LeadStatus.NEW.value)
    sources = _with_rest(counts.leads_by_source, counts.leads, "unknown")
    return [
        _total(date, "leads", "total", counts.leads, source),
        *_nonzero(date, "leads_by_source", sources, source),
        *[_total(date, "leads_by_status", k, n, source) for k, n in sorted(statuses.items())],
    ]


def day_metrics(date: str, counts: DayCounts) -> list[Metric]:
    """Every metric of one company and day."""
    published = "content.published_at"
    types = _with_rest(counts.content_by_type, counts.content_published, "blog")
    metrics = [
        *_lead_metrics(date, counts),
        _total(date, "conversions", "total", counts.conversions, "leads.converted_at"),
        _total(date, "reviews", "requested", counts.reviews_requested, "reviews.requested_at"),
        _total(date, "reviews", "completed", counts.reviews_completed, "reviews.completed_at"),
        _total(date, "referrals", "redemptions", counts.redemptions, "referral_redemptions"),
        _total(date, "content", "published", counts.content_published, published),
        *_nonzero(date, "content_by_type", types, published),
    ]
    if counts.ratings:
        average = round(counts.rating_sum / counts.ratings, 2)
        metrics.append(_total(date, "reviews", "average_rating", average, "reviews.rating"))
    return metrics
