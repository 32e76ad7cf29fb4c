"""Scheduled tasks: durable work stored at ``companies/{c}/scheduled_tasks/{id}``.

The Firestore document is the truth; a Cloud Task is only the alarm clock that makes
``run_task`` look at it. So a task may be delivered twice, late or early, and what
decides whether it runs is the document's status and its processing lease.
"""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from msgspec import Struct

from shared.domain.common import DeferredModel, DocumentId, StoredModel
from shared.queues import TASKS_QUEUE


class TaskStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})
# How long run_task may work on one task (its Cloud Function's timeout).
RUN_TASK_TIMEOUT_SECONDS = 300
# A lease outlives the longest run_task can take, so it only expires for a dead instance.
LEASE = timedelta(seconds=RUN_TASK_TIMEOUT_SECONDS + 30)
# Each lease taken is one attempt; past the queue's own limit the task is given up.
MAX_ATTEMPTS = TASKS_QUEUE.max_attempts


class ScheduledTask(StoredModel):
    id: str
    company_id: str
    type: str
    status: TaskStatus = TaskStatus.PENDING
    scheduled_for: datetime
    executed_at: datetime | None = None
    data: dict[str, Any] = {}
    result: dict[str, Any] | None = None
    error: str | None = None
    retry_count: int = 0
    lease_until: datetime | None = None
    # Identifies the run holding the lease, so a run that lost it records nothing.
    lease_id: str | None = None
    key: str = ""


class TaskRef(DeferredModel):
    """The body Cloud Tasks posts to ``run_task``."""

    company_id: DocumentId
    task_id: DocumentId


ClaimOutcome = Literal["claimed", "duplicate", "busy", "not_due", "exhausted", "missing"]


class Claim(Struct, frozen=True):
    """What ``run_task`` should do with a delivery, decided from the stored task."""

    outcome: ClaimOutcome
    task: ScheduledTask | None = None


def decide_claim(task: ScheduledTask | None, now: datetime) -> ClaimOutcome:
    """Pure lease rules: run a pending task or one whose holder died, refuse the rest."""
    if task is None:
        return "missing"
    if task.status in FINAL_STATUSES:
        return "duplicate"
    if task.status == TaskStatus.PROCESSING and task.lease_until and task.lease_until > now:
        return "busy"
    if task.scheduled_for > now:
        return "not_due"
    if task.retry_count >= MAX_ATTEMPTS:
        return "exhausted"
    return "claimed"


def task_path(company_id: str, task_id: str) -> str:
    return f"companies/{company_id}/scheduled_tasks/{task_id}"


def ids_from_path(path: str) -> tuple[str, str]:
    """``(company_id, task_id)`` of a ``companies/{c}/scheduled_tasks/{id}`` path."""
    parts = path.split("/")
    return parts[1], parts[3]


def cloud_task_name(company_id: str, task_id: str) -> str:
    """The Cloud Task that wakes this task up (the queue adapter hash-prefixes it)."""
    return f"{company_id}-{task_id}"


def task_payload(company_id: str, task_id: str) -> dict[str, Any]:
    return {"company_id": company_id, "task_id": task_id}
