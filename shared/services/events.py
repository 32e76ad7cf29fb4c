"""Analytics events: ingesting a website's batches, and the day's counts for the roll-up.

A batch is one read and one commit. The read finds which of its named events are stored
already (a retried batch), which sessions were seen today and how many events the sender's
IP address sent this hour; the commit creates the new events and session markers, adds the
batch's counts to one random counter shard of the day and the new events to the IP's
hourly count (``events_per_ip_per_hour``; over it the batch is refused, 429). The creates,
and the IP count guarded by its update time, make the commit fail as a whole if a
concurrent batch got there first, so counts never run ahead of the stored events and the
IP budget stays exact: the batch is then read and committed again (``ATTEMPTS`` times).
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

from msgspec import Struct

from shared.domain.analytics import Day, Metric
from shared.domain.common import next_hour, random_id, seconds_until
from shared.domain.company import Company
from shared.domain.events import (
    EVENT_TTL,
    SHARDS,
    EventBatch,
    EventIn,
    counter_update,
    counts_path,
    event_doc_id,
    event_metrics,
    event_time,
    ip_budget_path,
    session_path,
)
from shared.errors import AlreadyExists, Contention, RateLimited
from shared.ports import Data, DocumentStore, Increment, Snapshot, Write
from shared.services.intake import check_origin, load_company

log = logging.getLogger("growthkit.events")

ATTEMPTS = 3
# A session marker only has to outlive its day (TTL policy on expires_at).
SESSION_MARKER_TTL = timedelta(days=2)


class IngestResult(Struct, frozen=True):
    company: Company
    stored: int
    duplicates: int


class Visitor(Struct, frozen=True):
    """Where a batch came from, as the HTTP request says."""

    ip: str
    user_agent: str | None
    origin: str | None


def ingest_events(
    store: DocumentStore, now: datetime, batch: EventBatch, visitor: Visitor
) -> IngestResult:
    """Store a batch of events and count them for the day.

    Args:
        store: The document store.
        now: When the batch arrived (the day it counts for).
        batch: The form key and the events (already validated and bounded).
        visitor: IP, user agent and origin of the request.

    Returns:
        The company, how many events were stored, and how many were repeats.

    Raises:
        NotFound: Unknown form key. PermissionDenied: Origin not allowed.
        RateLimited: The IP address sent its hour's events already.
        Contention: Concurrent batches kept colliding (the snippet retries).
    """
    company = load_company(store, batch.form_key, now)
    check_origin(company, visitor.origin)
    ids = [event_doc_id(company.id, e) or random_id() for e in batch.events]
    budget = company.settings.events_per_ip_per_hour
    for _ in range(ATTEMPTS):
        try:
            stored = _attempt(store, now, company.id, batch.events, ids, visitor, budget)
        except (AlreadyExists, Contention):
            log.info("event batch for %s collided with another; reading again", company.id)
            continue
        log.info("%d events stored for %s", stored, company.id)
        return IngestResult(company, stored, len(batch.events) - stored)
    raise Contention("Too many concurrent event batches; retry shortly.")


def _attempt(
    store: DocumentStore,
    now: datetime,
    company_id: str,
    events: list[EventIn],
    ids: list[str],
    visitor: Visitor,
    budget: int,
) -> int:
    date = now.date().isoformat()
    paths = [f"companies/{company_id}/analytics_events/{i}" for i in ids]
    sessions = sorted({e.session_id for e in events})
    markers = [session_path(company_id, date, s) for s in sessions]
    ip_count, *snaps = store.get_all(
        [ip_budget_path(company_id, visitor.ip, now), *dict.fromkeys(paths), *markers]
    )
    existing = {s.path for s in snaps if s.exists}
    fresh = [(p, e) for p, e in dict(zip(paths, events, strict=True)).items() if p not in existing]
    new_markers = [m for m in markers if m not in existing]
    if not fresh:
        return 0
    writes = [_counted_for_ip(ip_count, len(fresh), budget, now)]
    writes += [Write(p, _stored(company_id, e, visitor, now), "create") for p, e in fresh]
    marker = {"date": date, "first_seen_at": now, "expires_at": now + SESSION_MARKER_TTL}
    writes += [Write(m, marker, "create") for m in new_markers]
    counts = counter_update([e for _, e in fresh], len(new_markers), date)
    writes.append(
        Write(counts_path(company_id, date, random.randrange(SHARDS)), _inc(counts), "merge")
    )
    store.commit(writes)
    return len(fresh)


def _counted_for_ip(snap: Snapshot, events: int, budget: int, now: datetime) -> Write:
    """``events`` more in the IP's hourly count, refused past ``budget``; guarded by the
    count's update time so concurrent batches cannot all slip in under it."""
    sent = int((snap.data or {}).get("count", 0))
    if sent + events > budget:
        log.warning("events from one IP over %d this hour (%s)", budget, snap.path.split("/")[1])
        raise RateLimited(
            "Too many analytics events from this address; try again later.",
            seconds_until(next_hour(now), now),
        )
    hour = now.replace(minute=0, second=0, microsecond=0)
    data = {"count": Increment(events), "expires_at": hour + timedelta(hours=2)}
    if snap.data is None:
        return Write(snap.path, data, "create")
    return Write(snap.path, data, "merge", if_update_time=snap.update_time)


def _stored(company_id: str, event: EventIn, visitor: Visitor, now: datetime) -> Data:
    occurred_at, skewed = event_time(event.occurred_at, now)
    return {
        "company_id": company_id,
        "type": event.type,
        "name": event.name,
        "properties": event.properties,
        "session_id": event.session_id,
        "event_id": event.event_id,
        "page_url": event.page_url,
        "referrer": event.referrer,
        "ip": visitor.ip,
        "user_agent": (visitor.user_agent or "")[:500] or None,
        "occurred_at": occurred_at,
        "client_clock_ignored": skewed,
        "received_at": now,
        "expires_at": now + EVENT_TTL,
    }


def _inc(counts: dict[str, Any]) -> dict[str, Any]:
    """Counts as increments, nested maps included; other values as they are."""
    if isinstance(counts, dict):
        return {k: _inc(v) if isinstance(v, dict) else _number(v) for k, v in counts.items()}
    return counts


def _number(value: Any) -> Any:
    return Increment(value) if isinstance(value, int) and not isinstance(value, bool) else value


def day_event_metrics(store: DocumentStore, company_id: str, day: Day) -> list[Metric]:
    """A company's event metrics for ``day``, from the day's counter shards (one read)."""
    snaps = store.get_all([counts_path(company_id, day.date, i) for i in range(SHARDS)])
    shards = [s.data for s in snaps if s.data is not None]
    return event_metrics(day.date, shards) if shards else []
