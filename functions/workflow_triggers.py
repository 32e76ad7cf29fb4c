"""Workflow triggers: Firestore changes to leads and interactions enrol leads in the
workflows they fire and end enrolments at goals; Cloud Scheduler fires schedule-triggered
workflows every minute."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework
from cloudevents.http.event import CloudEvent
from msgspec.structs import asdict

from functions._events import handle as handle_event
from functions._http import headers_of, respond
from shared import bootstrap
from shared.events import scheduled_event
from shared.services import workflows_triggers
from shared.services.workflows_schedule import enrol_scheduled_workflows as fire_schedules


@functions_framework.cloud_event
def on_lead_workflows(cloud_event: CloudEvent) -> None:
    """Enrol the lead in workflows its change fires; end enrolments at conversion; tell
    the assignee when the score crosses the company's threshold."""
    handle_event("on_lead_workflows", cloud_event, workflows_triggers.on_lead_workflows)


@functions_framework.cloud_event
def on_interaction_workflows(cloud_event: CloudEvent) -> None:
    """A form submission enrols in form-triggered workflows; a reply ends enrolments."""
    handle_event(
        "on_interaction_workflows", cloud_event, workflows_triggers.on_interaction_workflows
    )


@functions_framework.http
def enrol_scheduled_workflows(request: flask.Request) -> flask.Response:
    """Cloud Scheduler, every minute: schedule-triggered workflows whose time came fire."""

    def run() -> tuple[Any, int]:
        event = scheduled_event(headers_of(request), bootstrap.clock.now())
        result = fire_schedules(bootstrap.document_store(), bootstrap.task_queue(), event)
        return {"run": event.run_key, **asdict(result)}, 200

    return respond(run)
