"""Retries and rate limits: the retry policy of a task, its backoff, a token bucket."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from localcloud.tasks import pb
from localcloud.tasks.queues import fill_retry_defaults

# 2**64 times any backoff is far past every max_backoff: more doublings change nothing.
_MAX_USEFUL_DOUBLINGS = 64


@dataclass(frozen=True)
class RetryPolicy:
    """A queue's RetryConfig, overridden field by field by the task's own, in seconds."""

    max_attempts: int
    max_retry_duration: float
    min_backoff: float
    max_backoff: float
    max_doublings: int

    @classmethod
    def of(cls, queue: Any, task: Any) -> RetryPolicy:
        config = pb.RetryConfig()
        config.CopyFrom(queue.retry_config)
        # Field by field, not MergeFrom: merging a Duration would add 2 s to the queue's
        # 0.1 s nanos instead of replacing it.
        for field, value in task.retry_config.ListFields():
            config.ClearField(field.name)
            if field.message_type is not None:
                getattr(config, field.name).CopyFrom(value)
            else:
                setattr(config, field.name, value)
        fill_retry_defaults(config)
        return cls(
            max_attempts=config.max_attempts,
            max_retry_duration=pb.seconds_of(config.max_retry_duration),
            min_backoff=pb.seconds_of(config.min_backoff),
            max_backoff=pb.seconds_of(config.max_backoff),
            max_doublings=min(config.max_doublings, _MAX_USEFUL_DOUBLINGS),
        )

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th attempt failed (1 = the first).

        The interval starts at min_backoff, doubles max_doublings times, then grows
        linearly by that last doubled step, capped by max_backoff: with 10 s, 300 s and 3
        doublings the retries come after 10, 20, 40, 80, 160, 240, 300, 300 s.
        """
        retries = max(attempts, 1) - 1
        step = math.ldexp(self.min_backoff, min(retries, self.max_doublings))
        linear = retries - self.max_doublings
        if linear > 0:
            step += linear * math.ldexp(self.min_backoff, self.max_doublings)
        return min(step, self.max_backoff)

    def exhausted(self, attempts: int, first_dispatch: float, now: float) -> bool:
        """True when no further attempt is allowed: the service stops only when both the
        attempt count and max_retry_duration are used up (-1 and 0 mean unlimited)."""
        duration_done = self.max_retry_duration <= 0 or (
            now - first_dispatch >= self.max_retry_duration
        )
        if self.max_attempts == -1:
            return self.max_retry_duration > 0 and duration_done
        return attempts >= self.max_attempts and duration_done


class TokenBucket:
    """Dispatch tokens: ``burst`` at most, refilled at ``rate`` per second (real time)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def take(self) -> bool:
        with self._lock:
            self._refill(time.monotonic())
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True

    def wait_time(self) -> float:
        """Seconds until the next token."""
        with self._lock:
            self._refill(time.monotonic())
            return max(0.0, (1 - self._tokens) / self.rate)
