"""Faults around scheduled work: a task handler killed after its side effect and before its
acknowledgement, and the whole local cloud restarted on its data directory.

Both go through the real path: a scheduled task document plus a named Cloud Task in the
local Cloud Tasks, delivered over HTTP to ``run_task`` in the functions process, whose
handler sends a review reminder through the outbox messenger.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from shared import bootstrap
from shared.adapters.messaging import outbox_path
from shared.domain.identity import Role, StaffIdentity
from shared.domain.leads import lead_id_for
from shared.domain.reviews import reminder_key
from shared.domain.tasks import task_path
from shared.services.reviews import request_review
from shared.services.scheduling import schedule_task
from stress.load import Tenant
from stress.stack import StressStack

WAIT_SECONDS = 90.0


def wait_for(probe: Callable[[], Any], seconds: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    return None


def review_for(tenant: Tenant) -> str:
    """A review request to the tenant's referrer, so reminders have something to remind."""
    review_id = f"stress-review-{uuid.uuid4().hex[:8]}"
    request_review(
        bootstrap.document_store(),
        bootstrap.task_queue(),
        bootstrap.messenger(),
        bootstrap.clock.now(),
        staff=StaffIdentity("stress", tenant.company, Role.MANAGER),
        company_id=tenant.company,
        lead_id=lead_id_for(tenant.referrer_email),
        review_id=review_id,
    )
    return review_id


def schedule_reminder(tenant: Tenant, review_id: str, number: int, delay: float) -> tuple[str, str]:
    """A reminder task due in ``delay`` seconds; its task id and its message's outbox path."""
    now = bootstrap.clock.now()
    task_id = schedule_task(
        bootstrap.document_store(),
        bootstrap.task_queue(),
        now,
        company_id=tenant.company,
        task_type="review_reminder",
        data={"review_id": review_id, "number": number},
        run_at=now + timedelta(seconds=delay),
        key=f"stress-reminder-{review_id}-{number}",
    )
    return task_id, outbox_path(reminder_key(tenant.company, review_id, number))


def sent(path: str) -> int:
    """How many messages the outbox holds for this idempotency key (0 or 1 by design)."""
    from shared.adapters.clients import firestore_client

    key = path.rsplit("/", 1)[1]
    return sum(1 for d in firestore_client().collection("outbox").stream() if d.id == key)


def status(tenant: Tenant, task_id: str) -> str:
    from shared.adapters.clients import firestore_client

    doc = firestore_client().document(task_path(tenant.company, task_id)).get()
    return str((doc.to_dict() or {}).get("status"))


def crash_after_send(stack: StressStack, tenant: Tenant) -> dict[str, Any]:
    """SIGKILL the functions process the moment the reminder reaches the outbox (inside
    that commit, before its answer reaches the handler), restart it, and let Cloud Tasks
    redeliver. The dead run's lease would keep redeliveries out for five minutes; the
    stress run does not wait: it moves that lease's expiry to now, as time would."""
    task_id, message = schedule_reminder(tenant, review_for(tenant), 7, delay=1.0)
    fired = threading.Event()

    def on_commit(commit: Any) -> None:
        if not fired.is_set() and any(c.name.endswith(message) for c in commit.changes):
            stack.kill_functions()
            fired.set()

    unsubscribe = stack.firestore.store.subscribe(on_commit)
    killed = fired.wait(WAIT_SECONDS)
    unsubscribe()
    held = status(tenant, task_id)
    _expire_lease(tenant, task_id)
    stack.restart_functions()
    done = wait_for(lambda: status(tenant, task_id) == "completed")
    return {
        "killed after the send": killed,
        "task status after the kill": held,
        "task status after redelivery": "completed" if done else status(tenant, task_id),
        "messages sent for the task": sent(message),
        "ok": bool(killed and done and sent(message) == 1),
    }


def _expire_lease(tenant: Tenant, task_id: str) -> None:
    from shared.adapters.clients import firestore_client

    past = bootstrap.clock.now() - timedelta(seconds=1)
    firestore_client().document(task_path(tenant.company, task_id)).update({"lease_until": past})


def restart(stack: StressStack, tenant: Tenant) -> tuple[StressStack, dict[str, Any]]:
    """Schedule a reminder, restart everything before it is due, and see it sent once after;
    the Scheduler jobs survive the restart and still run."""
    task_id, message = schedule_reminder(tenant, review_for(tenant), 8, delay=6.0)
    stack = stack.restarted()
    bootstrap.reset()
    done = wait_for(lambda: status(tenant, task_id) == "completed")
    jobs, ran = _scheduler_still_runs(stack)
    return stack, {
        "reminder due during the restart": "completed" if done else status(tenant, task_id),
        "messages sent for it": sent(message),
        "Scheduler jobs after the restart": jobs,
        "dispatch_due_tasks run on demand": ran,
        "ok": bool(done and sent(message) == 1 and ran),
    }


def _scheduler_still_runs(stack: StressStack) -> tuple[int, bool]:
    """The jobs are still there, and forcing one makes its function run (its run marker)."""
    from shared.adapters.clients import firestore_client
    from shared.deploy.scheduler_adapter import scheduler_client

    client = scheduler_client(f"{stack.ports.host}:{stack.ports.scheduler}")
    jobs = list(client.list_jobs(parent=f"projects/{stack.project}/locations/us-central1"))
    dispatch = next(j for j in jobs if j.name.endswith("growthkit-dispatch-due-tasks"))
    runs = firestore_client().collection("scheduler_runs")
    before = len(list(runs.stream()))
    client.run_job(name=dispatch.name)
    return len(jobs), bool(wait_for(lambda: len(list(runs.stream())) > before, 30.0))
