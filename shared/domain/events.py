"""Analytics events from a company's website: what a batch may hold, how events are
stored and counted, and the daily metrics made from the counts.

A website snippet posts batches of at most ``MAX_BATCH`` events (page views, clicks,
form starts...). Each is stored for a while (``expires_at``, a TTL field) and counted in
one of ``SHARDS`` counter documents of its day, so a busy site spreads its writes; the
daily roll-up adds the shards up into the ``analytics`` metrics. Sessions are counted
once per day through a marker document per session.
"""

import math
import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, field_validator

from shared.domain.analytics import Metric
from shared.domain.common import DeferredModel, stable_id

MAX_BATCH = 100
MAX_PROPERTIES = 20
MAX_PROPERTY_CHARS = 500
MAX_NAMES_PER_DAY = 100  # distinct event names kept per day; the rest count as "other"
SHARDS = 8
EVENT_TTL = timedelta(days=90)
CLOCK_SKEW = timedelta(hours=24)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
PropertyKey = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
PropertyValue = str | bool | int | float | None


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    return value


class EventIn(DeferredModel):
    """One event as the snippet sends it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    name: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_printable)]
    properties: dict[PropertyKey, PropertyValue] = Field(default={}, max_length=MAX_PROPERTIES)
    session_id: Id
    event_id: Id | None = None  # a retried batch is stored and counted once
    occurred_at: datetime | None = None
    page_url: str | None = Field(default=None, max_length=2000)
    referrer: str | None = Field(default=None, max_length=2000)

    @field_validator("properties")
    @classmethod
    def _bounded(cls, value: dict[str, PropertyValue]) -> dict[str, PropertyValue]:
        for key, item in value.items():
            if isinstance(item, str) and len(item) > MAX_PROPERTY_CHARS:
                raise ValueError(f"{key}: at most {MAX_PROPERTY_CHARS} characters")
            if isinstance(item, float) and not math.isfinite(item):
                raise ValueError(f"{key}: not a finite number")
        return value


class EventBatch(DeferredModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    form_key: str = Field(min_length=3, max_length=200)
    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


def event_time(sent: datetime | None, now: datetime) -> tuple[datetime, bool]:
    """When the event happened: the browser's time unless missing, naive or more than a
    day off ours (a wrong clock), then ours; and whether the browser's was replaced."""
    if sent is None or sent.tzinfo is None or abs(sent - now) > CLOCK_SKEW:
        return now, sent is not None
    return sent, False


def event_doc_id(company_id: str, event: EventIn) -> str | None:
    """The stored id of an event the client named; None for a fresh random one."""
    if event.event_id is None:
        return None
    return stable_id(company_id, "event", event.session_id, event.event_id)


def counts_path(company_id: str, date: str, shard: int) -> str:
    return f"companies/{company_id}/analytics_event_counts/{date}-{shard:02d}"


def ip_budget_path(company_id: str, ip: str, now: datetime) -> str:
    """The counter of one IP address's events in the current hour."""
    hour = f"{now:%Y%m%d%H}"
    return f"companies/{company_id}/rate_limits/events-ip-{stable_id(ip, length=16)}-{hour}"


def session_path(company_id: str, date: str, session_id: str) -> str:
    return f"companies/{company_id}/analytics_sessions/{date}-{stable_id(session_id, length=16)}"


def name_key(event: EventIn) -> str:
    return f"{event.type}:{event.name}"


def counter_update(events: list[EventIn], new_sessions: int, date: str) -> dict[str, Any]:
    """The counts one batch adds (as plain numbers; the service makes them increments)."""
    return {
        "date": date,
        "total": len(events),
        "sessions": new_sessions,
        "by_type": dict(Counter(e.type for e in events)),
        "by_name": dict(Counter(name_key(e) for e in events)),
    }


def event_metrics(date: str, shards: list[dict[str, Any]]) -> list[Metric]:
    """A day's event metrics from its counter shards: totals, sessions, by type, and by
    name (the ``MAX_NAMES_PER_DAY`` most frequent; the rest together as ``other``)."""
    source = "analytics_event_counts"
    total = sum(int(s.get("total", 0)) for s in shards)
    sessions = sum(int(s.get("sessions", 0)) for s in shards)
    by_type: Counter[str] = Counter()
    by_name: Counter[str] = Counter()
    for shard in shards:
        by_type.update({str(k): int(v) for k, v in (shard.get("by_type") or {}).items()})
        by_name.update({str(k): int(v) for k, v in (shard.get("by_name") or {}).items()})
    top = by_name.most_common(MAX_NAMES_PER_DAY)
    other = sum(by_name.values()) - sum(n for _, n in top)
    named = top + ([("other", other)] if other else [])

    def metric(kind: str, name: str, value: int) -> Metric:
        return Metric(date=date, metric_type=kind, metric_name=name, value=value, source=source)

    return [
        metric("events", "total", total),
        metric("events", "sessions", sessions),
        *(metric("events_by_type", k, v) for k, v in sorted(by_type.items())),
        *(metric("events_by_name", k, v) for k, v in sorted(named)),
    ]
