"""Schedule-triggered workflows: a cron time enrols every lead the conditions select.

``enrol_scheduled_workflows`` runs every minute (Cloud Scheduler): one collection-group
query finds the active schedule-triggered workflows, and each whose cron time has come
gets one ``workflow_fire`` task, keyed by the cron time, so Scheduler retries and
overlapping runs fire it once. Companies are handled one by one: one whose workflows
fail to fire is retried alone (``shared.services.periodic``). The task pages through the
company's leads by creation time and enrols those matching, with a marker per (fire,
lead): a retried task skips the leads it already enrolled.

Production needs a composite index on the ``workflows`` collection group, and one on
the ``workflows`` collection (a retry's query): trigger.type ASC, status ASC.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from msgspec import Struct

from shared.domain.common import as_utc
from shared.domain.tasks import ScheduledTask
from shared.errors import Contention, InvalidInput
from shared.events import ScheduledEvent
from shared.ports import DocumentStore, Filter, Snapshot, TaskQueue, Write
from shared.services.once import MARKER_TTL, marker_path
from shared.services.periodic import Retry, by_company, each_tenant
from shared.services.scheduling import schedule_task
from shared.services.task_handlers import TaskContext
from shared.workflows.domain.conditions import TriggerType
from shared.workflows.domain.definition import Workflow, WorkflowStatus, workflow_path
from shared.workflows.domain.triggers import conditions_hold, last_fire
from shared.workflows.services.enrolment import enrol
from shared.workflows.services.manage import workflow_from

log = logging.getLogger("growthkit.workflows")

JOB = "enrol_scheduled_workflows"
MAX_SCHEDULED_WORKFLOWS = 500
FIRE_PAGE = 200
FIRE_MAX_PAGES = 50  # 10,000 leads per fire; a larger company needs a narrower audience
FIRE = "workflow_fire"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ScheduleResult(Struct, frozen=True):
    workflows: int = 0
    fired: int = 0
    failed: tuple[str, ...] = ()  # companies left to their retry task


def enrol_scheduled_workflows(
    store: DocumentStore, queue: TaskQueue, event: ScheduledEvent
) -> ScheduleResult:
    """Fire every schedule-triggered workflow whose cron time came since it last fired.

    Args:
        store: The document store.
        queue: For the ``workflow_fire`` tasks.
        event: The Scheduler run; its schedule time is "now".

    Returns:
        How many schedule-triggered workflows there are, how many fired, and the
        companies whose firing failed (each left a retry task).
    """
    when = event.schedule_time
    snaps = store.query(
        "workflows",
        [
            Filter("trigger.type", "==", TriggerType.SCHEDULE.value),
            Filter("status", "==", WorkflowStatus.ACTIVE.value),
        ],
        limit=MAX_SCHEDULED_WORKFLOWS,
        collection_group=True,
    )
    grouped = by_company(snaps)
    run = each_tenant(
        JOB,
        event,
        grouped,
        lambda company_id: _fire_all(store, queue, grouped[company_id], when),
        Retry(store, queue),
    )
    result = ScheduleResult(len(snaps), sum(run.results.values()), tuple(run.failed))
    log.info("scheduled workflows %s: %s", event.run_key, result)
    return result


def enrol_company_schedules(ctx: TaskContext, company_id: str, when: datetime) -> int:
    """One company's part of the run at ``when`` (a retry's unit): how many fired."""
    snaps = ctx.store.query(
        f"companies/{company_id}/workflows",
        [
            Filter("trigger.type", "==", TriggerType.SCHEDULE.value),
            Filter("status", "==", WorkflowStatus.ACTIVE.value),
        ],
        limit=MAX_SCHEDULED_WORKFLOWS,
    )
    return _fire_all(ctx.store, ctx.queue, snaps, when)


def _fire_all(store: DocumentStore, queue: TaskQueue, snaps: list[Snapshot], when: datetime) -> int:
    return sum(_fire_if_due(store, queue, snap, when) for snap in snaps)


def _fire_if_due(store: DocumentStore, queue: TaskQueue, snap: Snapshot, when: datetime) -> bool:
    workflow = workflow_from(snap)
    fire = last_fire(workflow.trigger, when)
    created, last = workflow.created_at, workflow.schedule_fired_at
    if fire is None or (created and fire < as_utc(created)) or (last and fire <= as_utc(last)):
        return False
    schedule_task(
        store,
        queue,
        when,
        company_id=workflow.company_id,
        task_type=FIRE,
        data={"workflow_id": workflow.id, "fire": fire},
        run_at=when,
        key=f"{FIRE}:{workflow.company_id}:{workflow.id}:{fire.isoformat()}",
    )
    try:
        store.commit([Write(snap.path, {"schedule_fired_at": fire}, "update", snap.update_time)])
    except Contention:
        # Edited meanwhile: the next run sees this fire again, and its task key is taken.
        log.info("workflow %s changed while firing; the next run records the fire", snap.path)
    return True


def workflow_fire_task(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """Task ``workflow_fire`` (data: ``workflow_id``, ``fire``): enrol the leads matching
    the workflow's conditions, page by page in order of creation."""
    workflow_id = task.data.get("workflow_id")
    if not isinstance(workflow_id, str) or not workflow_id:
        raise InvalidInput("A workflow_fire task needs data.workflow_id.")
    snap = ctx.store.get_all([workflow_path(task.company_id, workflow_id)])[0]
    if snap.data is None or snap.data.get("status") != WorkflowStatus.ACTIVE.value:
        return {"skipped": "workflow missing or inactive"}
    workflow = workflow_from(snap)
    enrolled, seen, after = 0, set[str](), EPOCH
    for _ in range(FIRE_MAX_PAGES):
        # ">=": leads created at the same instant may straddle pages; seen ones are skipped.
        leads = ctx.store.query(
            f"companies/{task.company_id}/leads",
            [Filter("created_at", ">=", after)],
            order_by=[("created_at", False)],
            limit=FIRE_PAGE,
        )
        fresh = [lead for lead in leads if lead.path not in seen]
        for lead in fresh:
            seen.add(lead.path)
            if conditions_hold(workflow.trigger, lead.data or {}, ctx.now):
                enrolled += _enrol_one(ctx, task, workflow, lead)
        if len(leads) < FIRE_PAGE or not fresh:
            break
        after = (leads[-1].data or {}).get("created_at") or after
    return {"workflow_id": workflow_id, "leads": len(seen), "enrolled": enrolled}


def _enrol_one(ctx: TaskContext, task: ScheduledTask, workflow: Workflow, lead: Snapshot) -> int:
    lead_id = lead.path.rsplit("/", 1)[1]
    path = marker_path(task.company_id, FIRE, f"{task.id}-{lead_id}")
    marker: dict[str, Any] = {"function": FIRE, "event_id": task.id, "document": lead.path}
    marker.update(processed_at=ctx.now, expires_at=ctx.now + MARKER_TTL)
    result = enrol(
        ctx.store,
        ctx.queue,
        ctx.now,
        workflow=workflow,
        lead_id=lead_id,
        enrolled_by=TriggerType.SCHEDULE.value,
        cause=task.key,
        marker=Write(path, marker, "create"),
    )
    return int(result.outcome == "enrolled")
