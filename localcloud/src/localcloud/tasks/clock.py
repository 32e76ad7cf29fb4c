"""The server's clock: wall time plus an offset that tests can move forward.

Scheduling, tombstones and the 30-day horizon all read this clock, so a test can run a
task scheduled an hour ahead by advancing the clock instead of sleeping. Waits between
dispatches still use real time; ``TasksServer.advance`` wakes the dispatcher.
"""

from __future__ import annotations

import threading
import time


class Clock:
    """``now()`` in seconds since the epoch, shifted by everything ``advance``d so far."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
