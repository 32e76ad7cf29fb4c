"""Wiring: the real adapters behind each port, built once per instance on first use."""

from __future__ import annotations

import functools
from datetime import datetime

from shared.domain.common import utcnow
from shared.ports import DocumentStore, Messenger, TaskQueue


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


@functools.cache
def document_store() -> DocumentStore:
    from shared.adapters.clients import firestore_client
    from shared.adapters.firestore_store import FirestoreStore

    return FirestoreStore(firestore_client())


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
