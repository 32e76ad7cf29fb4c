"""Firestore triggers of interactions, reviews and content. The lead-scoring triggers are
in ``functions/scoring.py``, so these load none of the scoring code."""

from __future__ import annotations

from functions import firestore_fn
from functions.firestore_fn import Context, DocumentEvent
from shared.services import triggers

INTERACTION = "companies/{companyId}/leads/{leadId}/interactions/{interactionId}"


@firestore_fn.on_document_created(document=INTERACTION)
def on_interaction_created(event: DocumentEvent, ctx: Context) -> str:
    """Move the lead's ``last_engagement_at`` forward."""
    return triggers.on_interaction_created(ctx.store, ctx.now(), event, ctx.name)


@firestore_fn.on_document_written(document="companies/{companyId}/reviews/{reviewId}")
def on_review_written(event: DocumentEvent, ctx: Context) -> str:
    """A completed review cancels its pending reminders."""
    return triggers.on_review_written(ctx.store, ctx.queue, ctx.now(), event, ctx.name)


@firestore_fn.on_document_written(document="companies/{companyId}/content/{contentId}")
def on_content_written(event: DocumentEvent, ctx: Context) -> str:
    """Scheduled content gets its publish task; unscheduled content loses it."""
    return triggers.on_content_written(ctx.store, ctx.queue, ctx.now(), event, ctx.name)
