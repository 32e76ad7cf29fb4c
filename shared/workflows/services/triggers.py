"""Enrolment by events and schedules, goals reached between steps, score thresholds.

``on_lead_workflows`` and ``on_interaction_workflows`` are Firestore triggers apart from
scoring's, each idempotent under duplicate delivery: an enrolment commits a marker per
(event, workflow) with it, a threshold notification is a task keyed by the event, and
ending enrolments for a goal is idempotent by the enrolment's status. A change that
cannot fire anything is recognised from the event alone, without a read.
"""

from __future__ import annotations

import logging
from datetime import datetime

from shared.domain.company import company_path
from shared.domain.leads import lead_path
from shared.errors import Contention
from shared.events import DocumentEvent
from shared.ports import DocumentStore, Filter, TaskQueue, Write
from shared.scoring.services.engagement import notify_key
from shared.scoring.services.on_lead import company_settings
from shared.services.once import became, marker_path, marker_write
from shared.services.scheduling import cancel_task, schedule_task
from shared.workflows.domain.conditions import TriggerType
from shared.workflows.domain.definition import Workflow, WorkflowStatus, workflows_collection
from shared.workflows.domain.runtime import Execution, ExecutionStatus
from shared.workflows.domain.triggers import (
    LEAD_TRIGGERS,
    conditions_hold,
    crossed,
    form_fires,
    is_form_submission,
    lead_fires,
    lead_trigger_types,
)
from shared.workflows.services.enrolment import enrol, finish_writes
from shared.workflows.services.manage import workflow_from

log = logging.getLogger("growthkit.workflows")

MAX_ACTIVE_WORKFLOWS = 200
MAX_LEAD_ENROLMENTS = 100


def active_workflows(
    store: DocumentStore, company_id: str, kinds: set[TriggerType]
) -> list[Workflow]:
    """The company's active workflows with one of these trigger types."""
    snaps = store.query(
        workflows_collection(company_id),
        [Filter("status", "==", WorkflowStatus.ACTIVE.value)],
        limit=MAX_ACTIVE_WORKFLOWS,
    )
    return [w for w in map(workflow_from, snaps) if w.trigger.type in kinds]


def on_lead_workflows(
    store: DocumentStore, queue: TaskQueue, now: datetime, event: DocumentEvent, function: str
) -> str:
    """Enrol the lead in the active workflows its change fires; end enrolments whose goal
    is conversion when it converts; notify the assignee when the score crosses the
    company's threshold.

    Args:
        store: The document store.
        queue: For the enrolments' first tasks and the notification task.
        now: The time of this run.
        event: The lead's change.
        function: The trigger's name (part of the duplicate markers).

    Returns:
        What happened, e.g. ``enrolled 1, goal 0, notified 0``, or ``no trigger``.
    """
    if event.deleted or event.after is None:
        return "deleted"
    kinds = lead_trigger_types(event.before, event.after) & LEAD_TRIGGERS
    converted = became(event, "status", "converted")
    if not kinds and not converted:
        return "no trigger"
    company_id, lead_id = event.params["companyId"], event.params["leadId"]
    fired = [
        w
        for w in active_workflows(store, company_id, kinds)
        if lead_fires(w.trigger, event.before, event.after)
        and conditions_hold(w.trigger, event.after, now)
    ]
    enrolled = _enrol_all(store, queue, now, fired, lead_id, event, function)
    goals = end_for_goal(store, queue, now, company_id, lead_id, "converted") if converted else 0
    notified = 0
    if TriggerType.SCORE_REACHED in kinds:
        notified = _notify_threshold(store, queue, now, event, company_id, lead_id)
    return f"enrolled {enrolled}, goal {goals}, notified {notified}"


def _enrol_all(
    store: DocumentStore,
    queue: TaskQueue,
    now: datetime,
    workflows: list[Workflow],
    lead_id: str,
    event: DocumentEvent,
    function: str,
) -> int:
    count = 0
    for workflow in workflows:
        marker = marker_path(workflow.company_id, function, f"{event.id}-{workflow.id}")
        result = enrol(
            store,
            queue,
            now,
            workflow=workflow,
            lead_id=lead_id,
            enrolled_by=workflow.trigger.type.value,
            cause=event.id,
            marker=marker_write(marker, function, event, now),
        )
        log.info("workflow %s for lead %s: %s", workflow.id, lead_id, result.outcome)
        count += result.outcome == "enrolled"
    return count


def _notify_threshold(
    store: DocumentStore,
    queue: TaskQueue,
    now: datetime,
    event: DocumentEvent,
    company_id: str,
    lead_id: str,
) -> int:
    """Schedule the assignee's notification once per crossing (keyed by the event)."""
    settings = company_settings(store.get_all([company_path(company_id)])[0])
    threshold = settings.score_notify_at
    if threshold is None or not crossed(event.before, event.after or {}, threshold):
        return 0
    schedule_task(
        store,
        queue,
        now,
        company_id=company_id,
        task_type="score_notify",
        data={
            "lead_id": lead_id,
            "score": (event.after or {}).get("score"),
            "threshold": threshold,
        },
        run_at=now,
        key=notify_key(company_id, lead_id, event.id),
    )
    return 1


def on_interaction_workflows(
    store: DocumentStore, queue: TaskQueue, now: datetime, event: DocumentEvent, function: str
) -> str:
    """A new form submission enrols the lead in ``form_submitted`` workflows; a reply (a
    new interaction, or one whose status becomes replied) ends enrolments whose goal is
    a reply.

    Returns:
        What happened, e.g. ``enrolled 1``, ``goal 2``, ``lead missing`` or
        ``not a form or reply``.
    """
    data = event.after or {}
    company_id, lead_id = event.params["companyId"], event.params["leadId"]
    if became(event, "status", "replied"):  # a new reply, or a message marked replied
        return f"goal {end_for_goal(store, queue, now, company_id, lead_id, 'replied')}"
    if not event.created or not is_form_submission(data):
        return "not a form or reply"
    workflows = active_workflows(store, company_id, {TriggerType.FORM_SUBMITTED})
    fired = [w for w in workflows if form_fires(w.trigger, data)]
    if not fired:
        return "enrolled 0"
    lead = store.get_all([lead_path(company_id, lead_id)])[0].data
    if lead is None:
        return "lead missing"
    fired = [w for w in fired if conditions_hold(w.trigger, lead, now)]
    return f"enrolled {_enrol_all(store, queue, now, fired, lead_id, event, function)}"


def end_for_goal(
    store: DocumentStore, queue: TaskQueue, now: datetime, company_id: str, lead_id: str, goal: str
) -> int:
    """End the lead's active enrolments that have ``goal`` (replied or converted) at once,
    rather than at their next step, and cancel the task waiting to run it.

    Returns:
        How many enrolments ended.
    """
    snaps = store.query(
        f"companies/{company_id}/workflow_executions",
        [Filter("lead_id", "==", lead_id), Filter("status", "==", ExecutionStatus.ACTIVE.value)],
        limit=MAX_LEAD_ENROLMENTS,
    )
    ended = 0
    for snap in snaps:
        execution = Execution.model_validate(snap.data)
        if not any(g.kind == goal for g in execution.workflow().goals):
            continue
        writes = finish_writes(
            execution, ExecutionStatus.GOAL_REACHED, f"goal reached: {goal}", now
        )
        # Guarded: a step committed meanwhile may have ended it already, or moved it on.
        guarded = Write(writes[0].path, writes[0].data, "merge", snap.update_time)
        try:
            store.commit([guarded, *writes[1:]])
        except Contention:
            log.info("enrolment %s moved on meanwhile; its next step checks the goal", snap.path)
            continue
        if execution.cursor is not None:
            cancel_task(store, queue, now, company_id=company_id, task_id=execution.cursor.task_id)
        ended += 1
    return ended
