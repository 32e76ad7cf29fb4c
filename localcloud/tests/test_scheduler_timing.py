"""The local Cloud Scheduler's timing arithmetic: backoff, retry limits, next run times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from localcloud.scheduler.cron import Schedule
from localcloud.scheduler.errors import SchedulerError
from localcloud.scheduler.retry import RetryPolicy


def test_backoff_doubles_then_grows_linearly_up_to_the_maximum() -> None:
    """The RetryConfig documentation's example: 10 s, 300 s, three doublings."""
    policy = RetryPolicy(retry_count=5, min_backoff=10, max_backoff=300, max_doublings=3)
    assert [10, 20, 40, 80, 160, 240, 300, 300] == [policy.backoff(n) for n in range(8)]


def test_retries_go_on_until_both_limits_are_reached() -> None:
    """No retries at count 0; otherwise until the count and the duration are both used."""
    assert not RetryPolicy(retry_count=0, max_retry_duration=60).should_retry(0, 0)
    by_count = RetryPolicy(retry_count=2)
    assert [True, True, False] == [by_count.should_retry(n, 9999) for n in range(3)]
    by_both = RetryPolicy(retry_count=1, max_retry_duration=30)
    assert [True, True, False] == [
        by_both.should_retry(0, 40),
        by_both.should_retry(5, 10),
        by_both.should_retry(5, 30),
    ]


def test_next_run_is_read_in_the_jobs_time_zone() -> None:
    """9 o'clock in New York is 14:00 UTC in winter and 13:00 UTC in summer."""
    schedule = Schedule.parse("0 9 * * *", "America/New_York")
    winter = schedule.next_after(datetime(2030, 1, 10, 12, tzinfo=UTC))
    summer = schedule.next_after(datetime(2030, 7, 10, 12, tzinfo=UTC))
    assert [datetime(2030, 1, 10, 14, tzinfo=UTC), datetime(2030, 7, 10, 13, tzinfo=UTC)] == [
        winter,
        summer,
    ]


def test_a_late_execution_runs_the_latest_missed_time_once() -> None:
    """After a slow run the next one starts at once for the latest missed time only."""
    schedule = Schedule.parse("* * * * *", "Etc/UTC")
    previous = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    on_time = schedule.due_after(previous, datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC))
    late = schedule.due_after(previous, datetime(2030, 1, 1, 12, 3, 30, tzinfo=UTC))
    expected = [datetime(2030, 1, 1, 12, 1, tzinfo=UTC), datetime(2030, 1, 1, 12, 3, tzinfo=UTC)]
    assert expected == [on_time, late]


@pytest.mark.parametrize(
    "schedule, allow_seconds",
    [("*/5 * * * * *", False), ("0 0 31 2 *", False), ("@hourly", True), ("1 2 3", True)],
)
def test_unusable_schedules_are_refused(schedule: str, allow_seconds: bool) -> None:
    """Seconds without the test option, impossible dates and non-cron text are refused."""
    with pytest.raises(SchedulerError):
        Schedule.parse(schedule, "Etc/UTC", allow_seconds)


def test_seconds_field_comes_first_when_allowed() -> None:
    """Six fields read as seconds first: ``*/2 * * * * *`` is every two seconds."""
    schedule = Schedule.parse("*/2 * * * * *", "UTC", allow_seconds=True)
    after = datetime(2030, 1, 1, 12, 0, 0, 500000, tzinfo=UTC)
    assert datetime(2030, 1, 1, 12, 0, 2, tzinfo=UTC) == schedule.next_after(after)
