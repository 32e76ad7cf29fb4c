"""The bundle's Cloud Tasks queues: part of the manifest (localcloud and the deploy plan
read them with shared.manifest's functions), kept in a module of their own because every
function's Settings names the tasks queue and need not build the list of functions."""

from __future__ import annotations

from msgspec import Struct


class Queue(Struct, frozen=True):
    """A Cloud Tasks queue and its retry and rate configuration."""

    name: str
    max_attempts: int = 10
    min_backoff_seconds: float = 1.0
    max_backoff_seconds: float = 300.0
    max_doublings: int = 5
    max_dispatches_per_second: float = 50.0
    max_concurrent_dispatches: int = 50


TASKS_QUEUE = Queue("growth-tasks")
QUEUES: tuple[Queue, ...] = (TASKS_QUEUE,)
