"""Analytics functions: the daily rollup Cloud Scheduler calls."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework
from msgspec.structs import asdict

from functions._http import headers_of, respond
from shared import bootstrap
from shared.events import scheduled_event
from shared.services.analytics import rollup_analytics as rollup


def _rollup(request: flask.Request) -> tuple[dict[str, Any], int]:
    now = bootstrap.clock.now()
    event = scheduled_event(headers_of(request), now)
    result = rollup(bootstrap.document_store(), bootstrap.task_queue(), now, event)
    return asdict(result), 200


@functions_framework.http
def rollup_analytics(request: flask.Request) -> flask.Response:
    """Roll up yesterday's metrics for every company (Cloud Scheduler, daily at 00:15 UTC;
    ``X-CloudScheduler-ScheduleTime`` picks the day, so a rerun rewrites the same one)."""
    return respond(lambda: _rollup(request))
