"""The handlers of scheduled tasks, by type, found through the manifest.

Each handler is declared next to the functions of its feature with
``functions.tasks_fn.on_task("type")``, which registers it here as its module loads.
``resolve`` imports only the module that declares the type (``shared.manifest.module_of``),
so ``run_task`` cold starts load just what they need, and a missing module fails only its
own task type (as a permanent error, recorded on the task) instead of every task.

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

HANDLERS: dict[str, Handler] = {}


def register(task_type: str, handler: Handler) -> None:
    """Make ``handler`` run the tasks of ``task_type`` (``tasks_fn.on_task`` calls this)."""
    HANDLERS[task_type] = handler


def resolve(task_type: str) -> Handler:
    """The handler of ``task_type``, importing the module that declares it.

    Raises:
        NotFound: no module declares it, or the module is missing (permanent: retrying
            will not make the code appear).
    """
    if task_type not in HANDLERS:
        from shared.manifest import module_of

        module_name = module_of(task_type, "tasks")
        if module_name is None:
            raise NotFound(f"No handler is registered for task type {task_type!r}.")
        try:
            importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            raise NotFound(f"Handler module {module_name!r} for {task_type!r} is missing.") from err
    handler = HANDLERS.get(task_type)
    if handler is None:
        raise NotFound(f"No handler is registered for task type {task_type!r}.")
    return handler
