"""Workflow triggers: Firestore changes to leads and interactions enrol leads in the
workflows they fire and end enrolments at goals; Cloud Scheduler fires schedule-triggered
workflows every minute."""

from __future__ import annotations

from typing import Any

from msgspec.structs import asdict

from functions import firestore_fn, scheduler_fn
from functions.firestore_fn import Context, DocumentEvent
from shared.workflows.services import triggers as workflows_triggers


@firestore_fn.on_document_written(document="companies/{companyId}/leads/{leadId}")
def on_lead_workflows(event: DocumentEvent, ctx: Context) -> str:
    """Enrol the lead in workflows its change fires; end enrolments at conversion; tell
    the assignee when the score crosses the company's threshold."""
    return workflows_triggers.on_lead_workflows(ctx.store, ctx.queue, ctx.now(), event, ctx.name)


@firestore_fn.on_document_written(
    document="companies/{companyId}/leads/{leadId}/interactions/{interactionId}"
)
def on_interaction_workflows(event: DocumentEvent, ctx: Context) -> str:
    """A form submission enrols in form-triggered workflows; a reply ends enrolments."""
    return workflows_triggers.on_interaction_workflows(
        ctx.store, ctx.queue, ctx.now(), event, ctx.name
    )


@scheduler_fn.on_schedule(schedule="* * * * *")
def enrol_scheduled_workflows(event: scheduler_fn.ScheduledEvent, ctx: Context) -> dict[str, Any]:
    """Cloud Scheduler, every minute: schedule-triggered workflows whose time came fire
    (one task per company with a workflow due, a page of companies per invocation)."""
    from shared.services.periodic import fan_out

    return asdict(fan_out(ctx.store, ctx.queue, ctx.now(), event, ctx.name))
