"""Google clients, created on first use: cold starts are dominated by imports.

Each client honours the emulator variables (``FIRESTORE_EMULATOR_HOST``,
``CLOUD_TASKS_EMULATOR_HOST``, ``CLOUD_SCHEDULER_EMULATOR_HOST``) so the same code runs
against localcloud and production.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from shared.startup import collector_paused


@functools.cache
def firestore_client() -> Any:
    from shared.settings import get_settings

    with collector_paused():  # the import is most of a first request's CPU time
        from google.cloud import firestore

        return firestore.Client(project=get_settings().project_id)


@functools.cache
def tasks_client() -> Any:
    with collector_paused():
        from google.cloud import tasks_v2

        host = os.environ.get("CLOUD_TASKS_EMULATOR_HOST")
        if not host:
            return tasks_v2.CloudTasksClient()
        import grpc
        from google.cloud.tasks_v2.services.cloud_tasks.transports import (
            CloudTasksGrpcTransport,
        )

        return tasks_v2.CloudTasksClient(
            transport=CloudTasksGrpcTransport(channel=grpc.insecure_channel(host))
        )


def reset_clients() -> None:
    """Forget cached clients (tests point them at a new emulator or project)."""
    firestore_client.cache_clear()
    tasks_client.cache_clear()
