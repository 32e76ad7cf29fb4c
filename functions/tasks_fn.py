"""Cloud Tasks work declares itself here.

- ``@tasks_fn.on_task("review_reminder")``: the handler of one kind of scheduled task
  (``def handler(ctx: TaskContext, task: ScheduledTask) -> dict``). ``run_task`` finds it
  by the task's type through the manifest, importing only the module that declares it.
  A handler returns the task's result, raises ``Transient`` to be retried and anything
  else to fail the task for good; it must be idempotent (a task cut short runs again).
- ``@tasks_fn.on_task_dispatched(...)``: the function a Cloud Tasks queue calls
  (``run_task``), handed the delivery as a typed ``TaskEvent``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask

from functions._context import Context, json_view
from functions._http import headers_of, read_body
from shared.events import TaskEvent, task_event
from shared.manifest import Function, TaskType, Trigger, declare, declare_task
from shared.services.task_handlers import Handler, TaskContext, register

__all__ = ["Context", "TaskContext", "TaskEvent", "on_task", "on_task_dispatched"]

Dispatched = Callable[[TaskEvent, Context], dict[str, Any]]
METHODS = ("POST",)


def on_task(task_type: str) -> Callable[[Handler], Handler]:
    """Declare the handler of the scheduled tasks of type ``task_type``."""

    def decorate(handler: Handler) -> Handler:
        declare_task(TaskType(task_type, handler.__module__))
        register(task_type, handler)
        return handler

    return decorate


def on_task_dispatched(
    *,
    timeout_seconds: int,
    memory: str = "256Mi",
    secrets: tuple[str, ...] = (),
    sends: bool = False,
    oauth_clients: bool = False,
) -> Callable[[Dispatched], Callable[[flask.Request], flask.Response]]:
    """Declare the function Cloud Tasks delivers the queue's tasks to (``secrets``: the
    variables its handlers read, as for any function; ``sends``: its handlers send e-mail
    or SMS; ``oauth_clients``: its handlers call platforms with the deploy's OAuth
    clients)."""

    def decorate(handler: Dispatched) -> Callable[[flask.Request], flask.Response]:
        name = handler.__name__
        declare(
            Function(
                name,
                Trigger.TASK,
                timeout_seconds=timeout_seconds,
                memory=memory,
                secrets=secrets,
                sends=sends,
                oauth_clients=oauth_clients,
                methods=METHODS,
                module=handler.__module__,
            )
        )

        def answer(request: flask.Request, ctx: Context) -> dict[str, Any]:
            body = read_body(request, ctx.settings.max_body_bytes)
            return handler(task_event(headers_of(request), body), ctx)

        return json_view(handler, METHODS, answer)

    return decorate
