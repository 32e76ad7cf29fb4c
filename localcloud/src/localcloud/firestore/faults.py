"""Fault injection: Commit fails at random, before it applies anything, as the real service
sometimes does (``ABORTED`` under contention, ``UNAVAILABLE`` when a backend restarts).

Off unless asked for: ``FirestoreServer(faults=Faults(0.1))``, setting ``server.faults.rate``
while it runs, or ``LOCALCLOUD_FIRESTORE_FAULTS=0.1`` (optionally ``0.1:ABORTED`` to pick the
codes) for a standalone server or ``make serve``. What the real service implies is kept: an
aborted transaction is over (the client begins it again), while after ``UNAVAILABLE`` it is
still open (the client retries the same Commit).
"""

from __future__ import annotations

import os
import random
import threading
from collections import Counter
from dataclasses import dataclass, field

import grpc

ENV = "LOCALCLOUD_FIRESTORE_FAULTS"
DEFAULT_CODES = (grpc.StatusCode.ABORTED, grpc.StatusCode.UNAVAILABLE)


@dataclass
class Faults:
    """Fail each Commit with probability ``rate``, with one of ``codes`` at random."""

    rate: float = 0.0
    codes: tuple[grpc.StatusCode, ...] = DEFAULT_CODES
    seed: int | None = None
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0 or not self.codes:
            raise ValueError("a fault rate is between 0 and 1, with at least one code")
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self) -> grpc.StatusCode | None:
        """The code this Commit fails with, or None to let it through."""
        if self.rate <= 0.0:
            return None
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            code = self._random.choice(self.codes)
            self.injected[code.name] += 1
            return code

    @classmethod
    def from_env(cls, value: str | None = None) -> Faults:
        """``"0.1"`` or ``"0.1:ABORTED,UNAVAILABLE"`` (``$LOCALCLOUD_FIRESTORE_FAULTS``)."""
        text = os.environ.get(ENV, "") if value is None else value
        if not text.strip():
            return cls()
        rate, _, names = text.partition(":")
        codes = tuple(grpc.StatusCode[n.strip()] for n in names.split(",") if n.strip())
        return cls(float(rate), codes or DEFAULT_CODES)
