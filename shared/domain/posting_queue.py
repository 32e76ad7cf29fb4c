"""A company's posting queue, as in Buffer: times of the week to post at, in the company's
time zone, and content put in the queue taking the next free one.

The schedule (``companies/{c}/config/posting_schedule``) lists times per weekday
(``{"mon": ["09:00", "13:00"], ...}``), read on the company's wall clock
(``settings.time_zone``). Slots are turned into instants with ``zoneinfo``, day by day,
so a slot keeps its wall-clock time across a daylight-saving change: 09:00 in New York is
14:00 UTC in winter and 13:00 UTC in summer. A time the clocks skip (02:30 on the night
they go forward) is the instant after the gap, as ``zoneinfo`` reads it (03:30 there); a
time they pass twice (01:30 on the night they go back) is its first occurrence. Two slots
falling on one instant are one slot. Each taken slot is a document
(``companies/{c}/queue_slots/{YYYYMMDDTHHMMZ}``) naming the content holding it.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from shared.domain.common import RequestModel, as_utc
from shared.domain.content import platform_names

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SlotTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
MAX_PER_DAY = 24
# How far ahead the queue looks for a free slot (a slot a year away is no queue).
HORIZON_DAYS = 366
SCHEDULE_ID = "posting_schedule"


class PostingSchedule(RequestModel):
    """Times of each weekday (``HH:MM``, 24-hour), kept sorted and without repeats."""

    slots: dict[Weekday, list[SlotTime]] = Field(default={}, max_length=7)

    @field_validator("slots")
    @classmethod
    def _sorted(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        days = {day: sorted(set(times)) for day, times in value.items()}
        if any(len(times) > MAX_PER_DAY for times in days.values()):
            raise ValueError(f"at most {MAX_PER_DAY} times a day")
        return {day: days[day] for day in WEEKDAYS if day in days}

    def merged(self, change: "PostingSchedule") -> "PostingSchedule":
        """This schedule with the days ``change`` names replaced (an empty list clears one)."""
        days = self.slots | change.slots
        return PostingSchedule(slots={d: t for d, t in days.items() if t})

    @property
    def empty(self) -> bool:
        return not any(self.slots.values())


class QueueRequest(RequestModel):
    """Staff put a content item in the queue, optionally naming its platforms."""

    platforms: list[str] | None = None

    _platforms = field_validator("platforms")(classmethod(lambda cls, v: platform_names(v)))


def zone_of(name: str) -> ZoneInfo:
    """The time zone ``name`` (IANA, e.g. ``Europe/Paris``); ``ValueError`` if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone {name!r}") from err


def instant(day: date, at: str, zone: ZoneInfo) -> datetime:
    """The instant (UTC) of wall-clock time ``at`` on ``day`` in ``zone``: a skipped time
    is the instant after the gap, a repeated one its first occurrence (``fold=0``)."""
    hour, minute = (int(part) for part in at.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)


def slots_from(schedule: PostingSchedule, zone: ZoneInfo, now: datetime) -> Iterator[datetime]:
    """Every slot at or after ``now``, in order, within ``HORIZON_DAYS``."""
    first = as_utc(now).astimezone(zone).date()
    last: datetime | None = None
    for offset in range(HORIZON_DAYS + 1):
        day = first + timedelta(days=offset)
        for at in schedule.slots.get(WEEKDAYS[day.weekday()], []):
            slot = instant(day, at, zone)
            if slot >= as_utc(now) and (last is None or slot > last):
                last = slot
                yield slot


def slot_id(at: datetime) -> str:
    return as_utc(at).strftime("%Y%m%dT%H%MZ")


def slot_path(company_id: str, at: datetime) -> str:
    return f"companies/{company_id}/queue_slots/{slot_id(at)}"


def schedule_path(company_id: str) -> str:
    return f"companies/{company_id}/config/{SCHEDULE_ID}"


def holds(content: dict[str, Any] | None, at: datetime) -> bool:
    """Whether this content still holds the slot at ``at``: it exists, is no longer a
    draft, and is scheduled for that instant (rescheduled, unscheduled or deleted
    content leaves its slot free)."""
    if content is None or content.get("status") in (None, "draft"):
        return False
    when = content.get("scheduled_at")
    return isinstance(when, datetime) and as_utc(when) == as_utc(at)
