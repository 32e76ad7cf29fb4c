"""Wiring: the real adapters behind each port, built once per instance on first use."""

from __future__ import annotations

import functools
from datetime import datetime

from shared.domain.common import utcnow
from shared.ports import Messenger, PagedStore, TaskQueue


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


@functools.cache
def document_store() -> PagedStore:
    from shared.adapters.clients import firestore_client
    from shared.adapters.firestore_store import FirestoreStore
    from shared.services.activity import ActivityStore

    # Writes that make a company active mark its day (the daily rollup visits only those).
    return ActivityStore(FirestoreStore(firestore_client()), _now)


def _now() -> datetime:
    """The clock's time, looked up at each call (tests replace ``clock``)."""
    return clock.now()


@functools.cache
def task_queue() -> TaskQueue:
    from shared.adapters.cloud_tasks import CloudTasksQueue
    from shared.settings import get_settings

    return CloudTasksQueue(get_settings())


@functools.cache
def messenger() -> Messenger:
    from shared.adapters.messaging import build_messenger

    return build_messenger(document_store())


clock = SystemClock()


def reset() -> None:
    """Forget every built adapter and setting (tests switch projects and emulators)."""
    from shared.adapters.clients import reset_clients
    from shared.settings import get_settings

    for cached in (document_store, task_queue, messenger, get_settings):
        cached.cache_clear()
    reset_clients()
