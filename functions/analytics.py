"""Analytics functions: the daily rollup Cloud Scheduler calls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, cast

import flask
import functions_framework

from functions._http import respond
from shared import bootstrap
from shared.events import scheduled_event
from shared.services.analytics import rollup_analytics as rollup


def _rollup(request: flask.Request) -> tuple[dict[str, Any], int]:
    # Werkzeug's Headers match names case-insensitively, which a plain dict would not.
    headers = cast(Mapping[str, str], request.headers)
    now = bootstrap.clock.now()
    result = rollup(bootstrap.document_store(), now, scheduled_event(headers, now))
    return asdict(result), 200


@functions_framework.http
def rollup_analytics(request: flask.Request) -> flask.Response:
    """Roll up yesterday's metrics for every company (Cloud Scheduler, daily at 00:15 UTC;
    ``X-CloudScheduler-ScheduleTime`` picks the day, so a rerun rewrites the same one)."""
    return respond(lambda: _rollup(request))
