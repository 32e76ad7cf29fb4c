"""Which function runs each task type, resolved lazily by ``"module:function"`` name.

Handlers are imported only when a task of their type runs, so ``run_task`` cold starts
load just what they need, and a missing module fails only its own task type (as a
permanent error, recorded on the task) instead of every task.

A handler is ``def handler(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]``:
it returns the task's result, raises ``Transient`` to be retried, and raises anything else
to fail the task for good. Handlers must be idempotent: a task whose run was cut short
is run again.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from msgspec import Struct

from shared.domain.tasks import ScheduledTask
from shared.errors import NotFound
from shared.ports import DocumentStore, Messenger, TaskQueue


class TaskContext(Struct, frozen=True):
    """The ports and time a handler works with."""

    store: DocumentStore
    queue: TaskQueue
    messenger: Messenger
    now: datetime


Handler = Callable[[TaskContext, ScheduledTask], dict[str, Any]]

HANDLERS: dict[str, str] = {
    "review_request": "shared.services.reviews:review_request_task",
    "review_reminder": "shared.services.reviews:review_reminder_task",
    "publish_content": "shared.services.content:publish_content_task",
    "workflow_step": "shared.services.workflows_engine:workflow_step_task",
    "workflow_fire": "shared.services.workflows_schedule:workflow_fire_task",
    "score_notify": "shared.services.scoring_engagement:score_notify_task",
    "campaign_start": "shared.services.campaigns:campaign_start_task",
    "campaign_batch": "shared.services.campaigns_sending:campaign_batch_task",
    "campaign_wake": "shared.services.campaigns_sending:campaign_wake_task",
    "consultation_reminder": "shared.services.consultations_lifecycle:consultation_reminder_task",
    "periodic_retry": "shared.services.periodic:periodic_retry_task",
}


def register(task_type: str, target: str) -> None:
    """Map ``task_type`` to a ``"package.module:function"`` handler."""
    if ":" not in target:
        raise ValueError(f"Handler target {target!r} must look like 'module:function'.")
    HANDLERS[task_type] = target


def resolve(task_type: str) -> Handler:
    """Import the handler of ``task_type``.

    Raises:
        NotFound: no handler is registered, or its module or function is missing
            (permanent: retrying will not make the code appear).
    """
    target = HANDLERS.get(task_type)
    if target is None:
        raise NotFound(f"No handler is registered for task type {task_type!r}.")
    module_name, _, function_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise NotFound(f"Handler module {module_name!r} for {task_type!r} is missing.") from err
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise NotFound(f"Handler {target!r} for {task_type!r} is missing.")
    resolved: Handler = handler
    return resolved
