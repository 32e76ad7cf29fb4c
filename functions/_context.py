"""What every function's code works with besides its event: the ports, the clock and the
settings, built once per instance on first use (``shared.bootstrap``), never at import."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

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
