"""Analytics functions: the daily rollup Cloud Scheduler calls."""

from __future__ import annotations

from typing import Any

from msgspec.structs import asdict

from functions import scheduler_fn
from functions.scheduler_fn import Context, ScheduledEvent
from shared.services.analytics import rollup_analytics as rollup


@scheduler_fn.on_schedule(schedule="15 0 * * *")
def rollup_analytics(event: ScheduledEvent, ctx: Context) -> dict[str, Any]:
    """Roll up yesterday's metrics for every company (Cloud Scheduler, daily at 00:15 UTC;
    ``X-CloudScheduler-ScheduleTime`` picks the day, so a rerun rewrites the same one)."""
    return asdict(rollup(ctx.store, ctx.queue, ctx.now(), event))
