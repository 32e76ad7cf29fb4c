"""Unix-cron schedules read in a time zone: validation and the next run times.

Cloud Scheduler takes five-field unix-cron. Tests cannot wait a minute for a job to fire,
so a server started with ``allow_seconds=True`` also accepts six fields with *seconds
first* (Quartz/Spring style: ``*/2 * * * * *`` fires every two seconds). Without that
option six fields are refused like any other bad schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from localcloud.scheduler.errors import invalid

# The API documents "utc" for UTC; an empty time zone also means UTC.
_UTC_ALIASES = {"", "utc", "UTC", "Etc/UTC", "GMT", "Etc/GMT"}


def zone(name: str) -> ZoneInfo:
    """The tz database zone called ``name``; INVALID_ARGUMENT if there is none."""
    if name in _UTC_ALIASES:
        return ZoneInfo("Etc/UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise invalid(f"Invalid time zone: {name!r}") from err


@dataclass(frozen=True)
class Schedule:
    """A validated cron expression in a time zone."""

    expression: str
    tz: ZoneInfo
    seconds: bool  # six fields, seconds first

    @classmethod
    def parse(cls, expression: str, time_zone: str, allow_seconds: bool = False) -> Schedule:
        fields = expression.split()
        allowed = (5, 6) if allow_seconds else (5,)
        if len(fields) not in allowed:
            expected = "5 fields, or 6 with seconds first" if allow_seconds else "5 fields"
            raise invalid(f"Invalid schedule {expression!r}: expected unix-cron, {expected}")
        schedule = cls(" ".join(fields), zone(time_zone), len(fields) == 6)
        try:
            schedule.next_after(datetime(2000, 1, 1, tzinfo=UTC))
        except (CroniterError, ValueError, KeyError) as err:
            raise invalid(f"Invalid schedule {expression!r}: {err}") from err
        return schedule

    def _iterator(self, start: datetime) -> croniter:
        # Iterating in the job's zone makes "0 9 * * *" mean 9 o'clock local time, DST included.
        return croniter(
            self.expression, start.astimezone(self.tz), second_at_beginning=self.seconds
        )

    def next_after(self, after: datetime) -> datetime:
        """The first run time strictly after ``after``, in UTC."""
        result: datetime = self._iterator(after).get_next(datetime)
        return result.astimezone(UTC)

    def latest_at_or_before(self, moment: datetime) -> datetime:
        """The last run time at or before ``moment``, in UTC."""
        later = self.next_after(moment)
        previous: datetime = self._iterator(later).get_prev(datetime)
        return previous.astimezone(UTC)

    def due_after(self, previous: datetime, now: datetime) -> datetime:
        """When the execution after the one scheduled for ``previous`` is due.

        If run times went by while the previous execution was outstanding, the next one
        starts at once (it was delayed, not dropped) for the latest missed time; earlier
        missed times are skipped, so a slow target never builds a backlog.
        """
        following = self.next_after(previous)
        if following > now:
            return following
        return max(following, self.latest_at_or_before(now))
