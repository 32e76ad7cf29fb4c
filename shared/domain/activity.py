"""Which companies were active on a day, so that the daily rollup visits only those.

A write that gives a document of a rolled-up collection one of its day fields (a lead's
``created_at`` or ``converted_at``, a review's ``requested_at`` or ``completed_at``, a
redemption's ``created_at``, a content item's ``published_at``), or that counts website
events for a day, makes its company active on that (UTC) day. The company's marker for
the day, ``activity_days/{date}/tenants/{companyId}``, says which of those fields had
something (``fields``, like ``leads.created_at``, or ``events``) and which lead sources
were seen (``sources``): the rollup pages through one day's markers and runs only the
counts that can find something. A company with no marker was idle and costs it nothing.

Markers are merged with array unions, so concurrent writers add to one another, and they
expire (a TTL policy on ``tenants.expires_at``) a few days after their day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from msgspec import Struct

# Only msgspec and the ports: every function's store loads this module on its first write,
# so it must not bring pydantic (shared.domain.common) into cold starts that avoid it.
from shared.ports import SERVER_TIME, ArrayUnion, Write

# The day fields the rollup counts by, per collection of a company.
DAY_FIELDS: dict[str, tuple[str, ...]] = {
    "leads": ("created_at", "converted_at"),
    "reviews": ("requested_at", "completed_at"),
    "referral_redemptions": ("created_at",),
    "content": ("published_at",),
}
# Website events are counted in shards named after their day (shared.domain.events).
EVENT_COUNTS = "analytics_event_counts"
EVENTS = "events"
LEAD_CREATED = "leads.created_at"
MARKER_TTL = timedelta(days=3)


class Mark(Struct, frozen=True):
    """One thing a write says about a company's day: a day field (``leads.created_at``)
    or ``events``, and for a created lead its source."""

    company_id: str
    date: str
    field: str
    source: str | None = None


def marker_collection(day: str) -> str:
    return f"activity_days/{day}/tenants"


def marker_path(day: str, company_id: str) -> str:
    return f"{marker_collection(day)}/{company_id}"


def marks_of(write: Write, today: str) -> list[Mark]:
    """What ``write`` makes active (``today``: the day of a server timestamp)."""
    parts = write.path.split("/")
    if write.mode == "delete" or len(parts) != 4 or parts[0] != "companies":
        return []
    company_id, collection = parts[1], parts[2]
    if collection == EVENT_COUNTS:
        counted = parts[3][:10]
        return [Mark(company_id, counted, EVENTS)] if _is_day(counted) else []
    marks = []
    for name in DAY_FIELDS.get(collection, ()):
        day = _day_of(write.data.get(name), today)
        if day is not None:
            field = f"{collection}.{name}"
            source = write.data.get("source") if field == LEAD_CREATED else None
            marks.append(Mark(company_id, day, field, source if isinstance(source, str) else None))
    return marks


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _day_of(value: object, today: str) -> str | None:
    if value is SERVER_TIME:
        return today
    if not isinstance(value, datetime):
        return None
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return utc.date().isoformat()


def marker_writes(marks: Iterable[Mark]) -> list[Write]:
    """One merge per company and day, adding its fields and lead sources."""
    grouped: dict[tuple[str, str], list[Mark]] = {}
    for mark in marks:
        grouped.setdefault((mark.company_id, mark.date), []).append(mark)
    return [_marker(company_id, day, found) for (company_id, day), found in grouped.items()]


def _marker(company_id: str, day: str, marks: list[Mark]) -> Write:
    fields = tuple(sorted({m.field for m in marks}))
    sources = tuple(sorted({m.source for m in marks if m.source is not None}))
    expires = datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC) + MARKER_TTL
    data: dict[str, object] = {"company_id": company_id, "date": day, "fields": ArrayUnion(fields)}
    data["expires_at"] = expires
    if sources:
        data["sources"] = ArrayUnion(sources)
    return Write(marker_path(day, company_id), data, "merge")


class ActivityMarker(Struct, frozen=True):
    """A company's marker for one day, as stored."""

    company_id: str
    date: str
    fields: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def has(self, field: str) -> bool:
        return field in self.fields


def marker_from(data: dict[str, object], company_id: str, day: str) -> ActivityMarker:
    """A stored marker; fields of the wrong type read as nothing seen."""

    def strings(value: object) -> tuple[str, ...]:
        items = value if isinstance(value, list) else []
        return tuple(v for v in items if isinstance(v, str))

    return ActivityMarker(
        company_id, day, strings(data.get("fields")), strings(data.get("sources"))
    )
