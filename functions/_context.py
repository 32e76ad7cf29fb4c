"""What every function's code works with besides its event: the ports, the clock and the
settings, built once per instance on first use (``shared.bootstrap``), never at import."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import flask
import functions_framework

from functions._http import method_not_allowed, respond
from shared import bootstrap

if TYPE_CHECKING:
    from shared.ports import Clock, Messenger, PagedStore, TaskQueue
    from shared.settings import Settings


class Context:
    """The ports of one invocation of the function ``name``."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def store(self) -> PagedStore:
        return bootstrap.document_store()

    @property
    def queue(self) -> TaskQueue:
        return bootstrap.task_queue()

    @property
    def messenger(self) -> Messenger:
        """The messenger, for a function declared ``sends=True`` only: any other is deployed
        without the mail and SMS settings and would send nothing in production, so its
        reaching for the messenger is a bug, raised where the tests see it."""
        from shared.manifest import declared

        function = declared(self.name)
        if function is None or not function.sends:
            raise RuntimeError(f"{self.name} sends messages: declare it with sends=True")
        return bootstrap.messenger()

    @property
    def clock(self) -> Clock:
        return bootstrap.clock

    @property
    def settings(self) -> Settings:
        from shared.settings import get_settings

        return get_settings()

    def now(self) -> datetime:
        return bootstrap.clock.now()


View = Callable[[flask.Request], flask.Response]


def json_view(
    handler: Callable[..., Any],
    methods: tuple[str, ...],
    answer: Callable[[flask.Request, Context], dict[str, Any]],
) -> View:
    """The functions-framework view of a function called by a Google service (Scheduler,
    Cloud Tasks): other methods get a 405, ``answer`` turns the request into the JSON
    body of a 200, and domain errors get their status."""

    @functools.wraps(handler)
    def view(request: flask.Request) -> flask.Response:
        if request.method not in methods:
            return method_not_allowed(methods)
        ctx = Context(handler.__name__)
        return respond(lambda: (answer(request, ctx), 200))

    return cast(View, functions_framework.http(view))
