"""Task functions: ``run_task`` (the Cloud Tasks target) and ``dispatch_due_tasks`` (every
minute from Cloud Scheduler, the catch-up for tasks whose Cloud Task was never created)."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework
from msgspec.structs import asdict

from functions._http import headers_of, read_body, respond
from shared import bootstrap
from shared.domain.tasks import TaskRef
from shared.events import scheduled_event, task_event
from shared.services.scheduling import dispatch_due_tasks as dispatch_service
from shared.services.task_runner import run_scheduled_task
from shared.settings import get_settings


def _run_task(request: flask.Request) -> tuple[dict[str, Any], int]:
    body = read_body(request, get_settings().max_body_bytes)
    delivery = task_event(headers_of(request), body)
    ref = TaskRef.model_validate(body)
    result = run_scheduled_task(
        bootstrap.document_store(),
        bootstrap.task_queue(),
        bootstrap.messenger(),
        bootstrap.clock,
        delivery,
        company_id=ref.company_id,
        task_id=ref.task_id,
    )
    return asdict(result), 200


@functions_framework.http
def run_task(request: flask.Request) -> flask.Response:
    """Run one scheduled task. 503 (so Cloud Tasks retries) only for transient failures
    and for a task another delivery is running; every other outcome is a 200."""
    return respond(lambda: _run_task(request))


def _dispatch(request: flask.Request) -> tuple[dict[str, Any], int]:
    event = scheduled_event(headers_of(request), bootstrap.clock.now())
    result = dispatch_service(
        bootstrap.document_store(),
        bootstrap.task_queue(),
        event.schedule_time,
        run_key=event.run_key,
    )
    return asdict(result), 200


@functions_framework.http
def dispatch_due_tasks(request: flask.Request) -> flask.Response:
    """Enqueue every due pending task (Cloud Scheduler, every minute)."""
    return respond(lambda: _dispatch(request))
