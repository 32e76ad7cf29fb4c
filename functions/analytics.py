"""Analytics functions: the daily rollup Cloud Scheduler calls."""

from __future__ import annotations

from typing import Any

from msgspec.structs import asdict

from functions import scheduler_fn
from functions.scheduler_fn import Context, ScheduledEvent
from shared.services.periodic import fan_out


@scheduler_fn.on_schedule(schedule="15 0 * * *")
def rollup_analytics(event: ScheduledEvent, ctx: Context) -> dict[str, Any]:
    """Roll up yesterday's metrics (Cloud Scheduler, daily at 00:15 UTC): one task per
    company active that day, a page of companies per invocation.
    ``X-CloudScheduler-ScheduleTime`` picks the day, so a rerun rewrites the same one."""
    return asdict(fan_out(ctx.store, ctx.queue, ctx.now(), event, ctx.name))
