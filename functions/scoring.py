"""Lead-scoring Firestore triggers."""

from __future__ import annotations

from functions import firestore_fn
from shared.scoring.services import on_lead as scoring
from shared.scoring.services import rescore


@firestore_fn.on_document_written(document="companies/{companyId}/leads/{leadId}")
def on_lead_written(event: firestore_fn.DocumentEvent, ctx: firestore_fn.Context) -> str:
    """Score the lead; on conversion, schedule a review request if the company wants."""
    return scoring.on_lead_written(ctx.store, ctx.queue, ctx.now(), event, ctx.name)


@firestore_fn.on_document_written(document="companies/{companyId}/scoring_rules/{ruleId}")
def on_scoring_rule_written(event: firestore_fn.DocumentEvent, ctx: firestore_fn.Context) -> str:
    """Keep the company's one-document copy of its scoring rules current, and rescore its
    existing leads by them (``rescore_leads`` tasks, a page of leads each; the first is
    enqueued by the dispatcher, within a minute)."""
    return rescore.on_rules_written(ctx.store, ctx.now(), event, ctx.name)
