"""Periodic functions declare themselves here: ``@scheduler_fn.on_schedule(schedule=...)``.

Cloud Scheduler calls the function over HTTP; the decorator registers it (with its cron
schedule and time zone, from which the deploy plan and localcloud create the job) and
turns the call into a typed ``ScheduledEvent`` (``X-CloudScheduler-ScheduleTime`` names
the run, so a retried run is recognised; a run that fans out continues itself with a
Cloud Task whose body names the run, its next page and cursor). The function returns its
result as a dict, answered 200; a domain error gets its status, so only a transient one
is retried.

    @scheduler_fn.on_schedule(schedule="15 0 * * *")
    def rollup_analytics(event: ScheduledEvent, ctx: Context) -> dict[str, Any]:
        ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask

from functions._context import Context, json_view
from functions._http import headers_of, read_body
from shared.events import ScheduledEvent, scheduled_event
from shared.manifest import Function, Trigger, declare

__all__ = ["Context", "ScheduledEvent", "on_schedule"]

Handler = Callable[[ScheduledEvent, Context], dict[str, Any]]
# Scheduler's HTTP targets use POST; GET serves a person running the job by hand.
METHODS = ("GET", "POST")


def on_schedule(
    *,
    schedule: str,
    time_zone: str = "Etc/UTC",
    secrets: tuple[str, ...] = (),
    timeout_seconds: int = 60,
    memory: str = "256Mi",
    oauth_clients: bool = False,
    sends: bool = False,
) -> Callable[[Handler], Callable[[flask.Request], flask.Response]]:
    """Declare a function Cloud Scheduler calls on the unix-cron ``schedule`` (``sends``:
    it sends e-mail or SMS)."""

    def decorate(handler: Handler) -> Callable[[flask.Request], flask.Response]:
        name = handler.__name__
        declare(
            Function(
                name,
                Trigger.SCHEDULE,
                schedule=schedule,
                time_zone=time_zone,
                secrets=secrets,
                timeout_seconds=timeout_seconds,
                memory=memory,
                oauth_clients=oauth_clients,
                sends=sends,
                methods=METHODS,
                module=handler.__module__,
            )
        )

        def answer(request: flask.Request, ctx: Context) -> dict[str, Any]:
            # Scheduler posts {}; a run's continuation posts the page it continues at.
            body = (
                read_body(request, ctx.settings.max_body_bytes) if request.method == "POST" else {}
            )
            return handler(scheduled_event(headers_of(request), ctx.now(), body), ctx)

        return json_view(handler, METHODS, answer)

    return decorate
