"""Firestore triggers: Eventarc CloudEvents (protobuf ``DocumentEventData``) in, services run
through ``functions._events.handle``. The lead-scoring triggers are in
``functions/scoring.py``, so these load none of the scoring code."""

from __future__ import annotations

import functions_framework
from cloudevents.http.event import CloudEvent

from functions._events import handle, without_queue
from shared.services import triggers


@functions_framework.cloud_event
def on_interaction_created(cloud_event: CloudEvent) -> None:
    """Move the lead's ``last_engagement_at`` forward."""
    handle("on_interaction_created", cloud_event, without_queue(triggers.on_interaction_created))


@functions_framework.cloud_event
def on_review_written(cloud_event: CloudEvent) -> None:
    """A completed review cancels its pending reminders."""
    handle("on_review_written", cloud_event, triggers.on_review_written)


@functions_framework.cloud_event
def on_content_written(cloud_event: CloudEvent) -> None:
    """Scheduled content gets its publish task; unscheduled content loses it."""
    handle("on_content_written", cloud_event, triggers.on_content_written)
