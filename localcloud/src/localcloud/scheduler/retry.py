"""A job's retry policy: how long to back off and when to give up (pure arithmetic)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The service's defaults for a job created without these fields.
DEFAULT_MIN_BACKOFF = 5.0
DEFAULT_MAX_BACKOFF = 3600.0
DEFAULT_MAX_DOUBLINGS = 5
MAX_RETRY_COUNT = 5


def seconds(duration: Any) -> float:
    """A ``google.protobuf.Duration`` in seconds."""
    return float(duration.seconds + duration.nanos / 1e9)


@dataclass(frozen=True)
class RetryPolicy:
    retry_count: int = 0
    min_backoff: float = DEFAULT_MIN_BACKOFF
    max_backoff: float = DEFAULT_MAX_BACKOFF
    max_doublings: int = DEFAULT_MAX_DOUBLINGS
    max_retry_duration: float = 0.0  # zero: no time limit

    @classmethod
    def from_pb(cls, config: Any) -> RetryPolicy:
        """The policy of a stored job's ``RetryConfig`` (defaults are filled at creation)."""
        return cls(
            retry_count=config.retry_count,
            min_backoff=seconds(config.min_backoff_duration),
            max_backoff=seconds(config.max_backoff_duration),
            max_doublings=config.max_doublings,
            max_retry_duration=seconds(config.max_retry_duration),
        )

    def backoff(self, retries_done: int) -> float:
        """Seconds to wait before the next retry after ``retries_done`` retries.

        The interval starts at min_backoff, doubles max_doublings times, then grows
        linearly by that last step, capped at max_backoff: with 10s, 300s and 3 doublings
        the retries come after 10, 20, 40, 80, 160, 240, 300, 300 ... seconds.
        """
        if retries_done <= self.max_doublings:
            delay = self.min_backoff * 2.0**retries_done
        else:
            step = self.min_backoff * 2.0**self.max_doublings
            delay = step * (retries_done - self.max_doublings + 1)
        return min(delay, self.max_backoff)

    def should_retry(self, retries_done: int, elapsed: float) -> bool:
        """Whether a failed attempt is retried, ``elapsed`` seconds after the first one.

        A retry_count of zero never retries. Otherwise, as documented for RetryConfig,
        retries go on until *both* limits are reached: the count and, when set, the
        duration since the first attempt.
        """
        if self.retry_count == 0:
            return False
        if retries_done < self.retry_count:
            return True
        return self.max_retry_duration > 0 and elapsed < self.max_retry_duration
