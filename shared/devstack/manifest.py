"""growthkit's manifest (``shared.manifest``, ``shared.queues``) in localcloud's terms."""

from __future__ import annotations

from pathlib import Path

from localcloud.manifest import FunctionSpec, Manifest, QueueSpec
from localcloud.manifest import Trigger as LocalTrigger
from shared.manifest import FUNCTIONS, Function, Trigger, scheduler_job_id
from shared.queues import QUEUES, Queue

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "functions" / "main.py"


def function_spec(function: Function) -> FunctionSpec:
    """One function; the table notes who may call an HTTP function."""
    note = (
        ("public" if function.public else "staff (ID token)")
        if function.trigger is Trigger.HTTP
        else ""
    )
    return FunctionSpec(
        name=function.name,
        trigger=LocalTrigger(function.trigger.value),
        event_type=function.event_type,
        document=function.document,
        schedule=function.schedule,
        time_zone=function.time_zone,
        timeout_seconds=function.timeout_seconds,
        entry_point=function.entry_point,
        job_id=scheduler_job_id(function) if function.trigger is Trigger.SCHEDULE else "",
        note=note,
    )


def queue_spec(queue: Queue) -> QueueSpec:
    return QueueSpec(
        name=queue.name,
        max_attempts=queue.max_attempts,
        min_backoff_seconds=queue.min_backoff_seconds,
        max_backoff_seconds=queue.max_backoff_seconds,
        max_doublings=queue.max_doublings,
        max_dispatches_per_second=queue.max_dispatches_per_second,
        max_concurrent_dispatches=queue.max_concurrent_dispatches,
    )


def growthkit_manifest(location: str = "us-central1") -> Manifest:
    """Every function of functions/main.py and every queue, in ``location`` (the region
    the functions' Settings name their queue in)."""
    return Manifest(
        functions=tuple(function_spec(f) for f in FUNCTIONS),
        queues=tuple(queue_spec(q) for q in QUEUES),
        source=SOURCE,
        location=location,
    )
