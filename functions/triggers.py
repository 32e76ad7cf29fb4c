"""Firestore triggers: Eventarc CloudEvents (protobuf ``DocumentEventData``) in, services run.

Python triggers are not retried unless a retry policy is set, so a permanent failure is
logged and swallowed (a retry could not fix it and would only repeat it). Only a
``Transient`` error is raised, for the delivery to be retried where retries are on (the
local Eventarc bridge always retries); the services are idempotent, so a retry is safe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import functions_framework
from cloudevents.http.event import CloudEvent

from shared import bootstrap
from shared.adapters.firestore_events import document_event
from shared.errors import DomainError, InvalidInput, Transient
from shared.events import DocumentEvent
from shared.manifest import by_name
from shared.ports import DocumentStore, TaskQueue
from shared.services import scoring, scoring_rules_copy, triggers

log = logging.getLogger("growthkit.triggers")

Service = Callable[[DocumentStore, TaskQueue, datetime, DocumentEvent, str], str]


def _handle(name: str, cloud_event: CloudEvent, service: Service) -> None:
    pattern = by_name(name).document or ""
    event_id = cloud_event.get("id")
    try:
        data = cloud_event.get_data()
        if not isinstance(data, bytes):
            raise InvalidInput("Firestore events carry protobuf DocumentEventData bytes.")
        event = document_event(cloud_event.get_attributes(), data, pattern)
        outcome = service(
            bootstrap.document_store(), bootstrap.task_queue(), bootstrap.clock.now(), event, name
        )
    except Transient as err:
        log.warning("%s event %s failed transiently, to be retried: %s", name, event_id, err)
        raise
    except DomainError as err:
        log.error("%s event %s dropped: %s", name, event_id, err.message)
        return
    except Exception:
        # Deliberately broad: a bug must not turn into a retry storm; the log has it all.
        log.exception("%s event %s failed", name, event_id)
        return
    log.info("%s %s (event %s): %s", name, event.document, event_id, outcome)


def _without_queue(
    service: Callable[[DocumentStore, datetime, DocumentEvent, str], str],
) -> Service:
    return lambda store, _queue, now, event, name: service(store, now, event, name)


@functions_framework.cloud_event
def on_lead_written(cloud_event: CloudEvent) -> None:
    """Score the lead; on conversion, schedule a review request if the company wants."""
    _handle("on_lead_written", cloud_event, scoring.on_lead_written)


@functions_framework.cloud_event
def on_interaction_created(cloud_event: CloudEvent) -> None:
    """Move the lead's ``last_engagement_at`` forward."""
    _handle("on_interaction_created", cloud_event, _without_queue(triggers.on_interaction_created))


@functions_framework.cloud_event
def on_review_written(cloud_event: CloudEvent) -> None:
    """A completed review cancels its pending reminders."""
    _handle("on_review_written", cloud_event, triggers.on_review_written)


@functions_framework.cloud_event
def on_content_written(cloud_event: CloudEvent) -> None:
    """Scheduled content gets its publish task; unscheduled content loses it."""
    _handle("on_content_written", cloud_event, triggers.on_content_written)


@functions_framework.cloud_event
def on_scoring_rule_written(cloud_event: CloudEvent) -> None:
    """Keep the company's one-document copy of its scoring rules current."""
    _handle(
        "on_scoring_rule_written",
        cloud_event,
        _without_queue(scoring_rules_copy.on_scoring_rule_written),
    )
