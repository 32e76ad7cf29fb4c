"""Schedule-triggered workflows: a cron time enrols every lead the conditions select.

Each schedule-triggered workflow keeps its next cron time, ``next_fire_at`` (set when it
is saved and each time it fires). ``enrol_scheduled_workflows`` runs every minute (Cloud
Scheduler) and fans out (``shared.services.periodic``): a collection-group query finds
the active workflows due by the run's time, and each company with one gets a task; a
minute with nothing due costs one read. The company's task gives each due workflow one
``workflow_fire`` task, keyed by the cron time, so Scheduler retries and overlapping runs
fire it once, and moves its ``next_fire_at`` on. A ``workflow_fire`` task enrols a page
of the company's leads (by creation time) matching the conditions, with a marker per
(fire, lead), and continues with the next page in a task of its own: a retried page
skips the leads it already enrolled.

Production needs composite indexes on the ``workflows`` collection group and collection:
trigger.type ASC, status ASC, next_fire_at ASC.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from shared.domain.common import as_utc
from shared.domain.tasks import ScheduledTask
from shared.errors import Contention, InvalidInput
from shared.events import cursor_data, cursor_from_data
from shared.ports import DocumentStore, Filter, PagedStore, Snapshot, TaskQueue, Write
from shared.services.once import MARKER_TTL, marker_path
from shared.services.periodic import Page, Step, page_of
from shared.services.scheduling import TaskSpec, schedule_task, schedule_tasks
from shared.services.task_handlers import TaskContext
from shared.workflows.domain.conditions import TriggerType
from shared.workflows.domain.definition import Workflow, WorkflowStatus, workflow_path
from shared.workflows.domain.triggers import conditions_hold, last_fire, next_fire
from shared.workflows.services.enrolment import enrol
from shared.workflows.services.manage import workflow_from

log = logging.getLogger("growthkit.workflows")

SCHEDULE_PAGE = 100  # a company's due workflows per task
FIRE_PAGE = 200  # leads per workflow_fire task; the next page is a task of its own
FIRE = "workflow_fire"


def due_page(store: PagedStore, when: datetime, after: Snapshot | None, limit: int) -> Page:
    """The run's source: a page of the active schedule-triggered workflows whose next cron
    time has come by ``when``, across every company, soonest first: their companies."""
    due = store.query(
        "workflows",
        [
            Filter("trigger.type", "==", TriggerType.SCHEDULE.value),
            Filter("status", "==", WorkflowStatus.ACTIVE.value),
            Filter("next_fire_at", "<=", when),
        ],
        [("next_fire_at", False)],
        limit,
        collection_group=True,
        start_after=after,
    )
    return page_of(due, limit, ("next_fire_at",))


def schedule_unit(
    ctx: TaskContext, company_id: str, when: datetime, after: Snapshot | None
) -> Step:
    """A page of one company's workflows due by ``when``, fired: how many fired."""
    due = ctx.store.query(
        f"companies/{company_id}/workflows",
        [
            Filter("trigger.type", "==", TriggerType.SCHEDULE.value),
            Filter("status", "==", WorkflowStatus.ACTIVE.value),
            Filter("next_fire_at", "<=", when),
        ],
        [("next_fire_at", False)],
        SCHEDULE_PAGE,
        start_after=after,
    )
    fired = sum(_fire_if_due(ctx.store, ctx.queue, snap, when) for snap in due)
    return Step(fired, page_of(due, SCHEDULE_PAGE, ("next_fire_at",)).cursor)


def _fire_if_due(store: DocumentStore, queue: TaskQueue, snap: Snapshot, when: datetime) -> bool:
    """Fire the workflow's latest cron time by ``when`` unless it fired it already (or it
    came before the workflow existed); either way its ``next_fire_at`` moves past it."""
    workflow = workflow_from(snap)
    fire = last_fire(workflow.trigger, when)
    created, last = workflow.created_at, workflow.schedule_fired_at
    due = not (
        fire is None or (created and fire < as_utc(created)) or (last and fire <= as_utc(last))
    )
    if due and fire is not None:
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
    update: dict[str, Any] = {"next_fire_at": next_fire(workflow.trigger, fire or when)}
    if due:
        update["schedule_fired_at"] = fire
    try:
        store.commit([Write(snap.path, update, "update", snap.update_time)])
    except Contention:
        # Edited meanwhile: the next run sees this fire again, and its task key is taken.
        log.info("workflow %s changed while firing; the next run records the fire", snap.path)
    return due


def workflow_fire_task(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """Task ``workflow_fire`` (data: ``workflow_id``, ``fire``; a later page also ``page``,
    ``after`` and ``first``, the first page's task): enrol a page of the leads matching
    the workflow's conditions, in order of creation; the next page is a task of its own."""
    workflow_id, page = task.data.get("workflow_id"), task.data.get("page", 1)
    if not isinstance(workflow_id, str) or not workflow_id or not isinstance(page, int):
        raise InvalidInput("A workflow_fire task needs data.workflow_id (and an integer page).")
    snap = ctx.store.get_all([workflow_path(task.company_id, workflow_id)])[0]
    if snap.data is None or snap.data.get("status") != WorkflowStatus.ACTIVE.value:
        return {"skipped": "workflow missing or inactive"}
    workflow = workflow_from(snap)
    raw_after = task.data.get("after")
    leads = ctx.store.query(
        f"companies/{task.company_id}/leads",
        [],
        order_by=[("created_at", False)],
        limit=FIRE_PAGE,
        start_after=cursor_from_data(raw_after) if raw_after is not None else None,
    )
    first, cause = str(task.data.get("first") or task.id), task.key.split(":page-")[0]
    holding = [
        lead for lead in leads if conditions_hold(workflow.trigger, lead.data or {}, ctx.now)
    ]
    enrolled = sum(_enrol_one(ctx, first, cause, workflow, lead) for lead in holding)
    cursor = page_of(leads, FIRE_PAGE, ("created_at",)).cursor
    if cursor is not None:
        _next_page(ctx, task, first, page + 1, cursor)
    return {"workflow_id": workflow_id, "page": page, "leads": len(leads), "enrolled": enrolled}


def _next_page(
    ctx: TaskContext, task: ScheduledTask, first: str, page: int, after: Snapshot
) -> None:
    data = {**task.data, "page": page, "after": cursor_data(after), "first": first}
    key = f"{task.key.split(':page-')[0]}:page-{page}"  # the fire's key, then the page
    spec = TaskSpec(task.company_id, FIRE, data, ctx.now, key)
    schedule_tasks(ctx.store, ctx.queue, ctx.now, [spec])


def _enrol_one(ctx: TaskContext, first: str, cause: str, workflow: Workflow, lead: Snapshot) -> int:
    """Enrol the lead, once per fire (``first``: the fire's first task, whatever page;
    ``cause``: the fire's key)."""
    lead_id = lead.path.rsplit("/", 1)[1]
    path = marker_path(workflow.company_id, FIRE, f"{first}-{lead_id}")
    marker: dict[str, Any] = {"function": FIRE, "event_id": first, "document": lead.path}
    marker.update(processed_at=ctx.now, expires_at=ctx.now + MARKER_TTL)
    result = enrol(
        ctx.store,
        ctx.queue,
        ctx.now,
        workflow=workflow,
        lead_id=lead_id,
        enrolled_by=TriggerType.SCHEDULE.value,
        cause=cause,
        marker=Write(path, marker, "create"),
    )
    return int(result.outcome == "enrolled")
