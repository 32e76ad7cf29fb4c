"""The ``TaskQueue`` port on Cloud Tasks: every task is an HTTP POST to a function, to
``run_task`` unless it names another (a periodic function's continuation).

Task names are derived from what the task does, hash-prefixed (the service advises
against sequential names), so creating the same task twice is refused by Cloud Tasks with
ALREADY_EXISTS, which counts as success here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime, timedelta

from shared.errors import Transient
from shared.ports import TaskRequest
from shared.settings import Settings

log = logging.getLogger("growthkit.tasks")
# Cloud Tasks refuses schedule times more than 30 days ahead; later work is re-deferred.
MAX_AHEAD = timedelta(days=29)
_NOT_ID_CHARACTER = re.compile(r"[^A-Za-z0-9_-]")


def task_id(key: str) -> str:
    """A valid, hash-prefixed task id for ``key`` (letters, digits, - and _ only)."""
    cleaned = _NOT_ID_CHARACTER.sub("-", key)[:400]
    return f"{hashlib.sha256(key.encode()).hexdigest()[:12]}-{cleaned}"


class CloudTasksQueue:
    """Implements ``shared.ports.TaskQueue``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def enqueue(self, task: TaskRequest) -> bool:
        from google.api_core import exceptions as gexc

        from shared.adapters.clients import tasks_client

        try:
            tasks_client().create_task(parent=self.settings.queue_path, task=self._task(task))
        except gexc.AlreadyExists:
            return False
        except (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError) as err:
            raise Transient(f"Cloud Tasks unavailable: {err}") from err
        log.info("enqueued task %s for %s", task.name, task.schedule_time or "now")
        return True

    def cancel(self, name: str) -> bool:
        from google.api_core import exceptions as gexc

        from shared.adapters.clients import tasks_client

        try:
            tasks_client().delete_task(name=f"{self.settings.queue_path}/tasks/{task_id(name)}")
        except gexc.NotFound:
            return False
        return True

    def _task(self, task: TaskRequest) -> dict[str, object]:
        http_request: dict[str, object] = {
            "http_method": "POST",
            "url": f"{self.settings.functions_base_url.rstrip('/')}/{task.target}",
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(task.payload, default=str).encode(),
        }
        if self.settings.task_service_account:
            http_request["oidc_token"] = {
                "service_account_email": self.settings.task_service_account
            }
        spec: dict[str, object] = {
            "name": f"{self.settings.queue_path}/tasks/{task_id(task.name)}",
            "http_request": http_request,
        }
        if task.schedule_time is not None:
            latest = datetime.now(UTC) + MAX_AHEAD
            spec["schedule_time"] = min(task.schedule_time, latest)
        return spec
