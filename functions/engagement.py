"""Engagement scoring: a new interaction earns the points of the scoring rules it matches;
once a day, Cloud Scheduler has engagement points decay where the company set it up."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework
from cloudevents.http.event import CloudEvent
from msgspec.structs import asdict

from functions._events import handle as handle_event
from functions._events import without_queue
from functions._http import headers_of, respond
from shared import bootstrap
from shared.events import scheduled_event
from shared.services import scoring_engagement


@functions_framework.cloud_event
def on_interaction_scored(cloud_event: CloudEvent) -> None:
    """Award the engagement points of the scoring rules a new interaction matches."""
    service_fn = without_queue(scoring_engagement.on_interaction_scored)
    handle_event("on_interaction_scored", cloud_event, service_fn)


@functions_framework.http
def decay_engagement_scores(request: flask.Request) -> flask.Response:
    """Cloud Scheduler, daily: engagement points decay where the company set it up."""

    def run() -> tuple[Any, int]:
        event = scheduled_event(headers_of(request), bootstrap.clock.now())
        store, queue = bootstrap.document_store(), bootstrap.task_queue()
        result = scoring_engagement.decay_engagement_scores(store, queue, event)
        return {"run": event.run_key, **asdict(result)}, 200

    return respond(run)
