"""Engagement scoring: a new interaction earns the points of the scoring rules it matches;
once a day, Cloud Scheduler has engagement points decay where the company set it up."""

from __future__ import annotations

from typing import Any

from msgspec.structs import asdict

from functions import firestore_fn, scheduler_fn
from functions.firestore_fn import Context, DocumentEvent
from shared.scoring.services import engagement as scoring_engagement


@firestore_fn.on_document_written(
    document="companies/{companyId}/leads/{leadId}/interactions/{interactionId}"
)
def on_interaction_scored(event: DocumentEvent, ctx: Context) -> str:
    """Award the engagement points of the scoring rules a new interaction matches."""
    return scoring_engagement.on_interaction_scored(ctx.store, ctx.now(), event, ctx.name)


@scheduler_fn.on_schedule(schedule="30 2 * * *")
def decay_engagement_scores(event: scheduler_fn.ScheduledEvent, ctx: Context) -> dict[str, Any]:
    """Cloud Scheduler, daily: engagement points decay where the company set it up (one
    task per such company, a page of companies per invocation)."""
    from shared.services.periodic import fan_out

    return asdict(fan_out(ctx.store, ctx.queue, ctx.now(), event, ctx.name))
