"""``on_lead_campaigns``: a lead that converts is marked converted in the campaigns that
reached it (a Firestore trigger on leads). Its own area: it needs the recipients' paths
and statuses only, not the campaign models the staff ``campaigns`` function loads."""

from __future__ import annotations

from functions import firestore_fn
from functions.firestore_fn import Context, DocumentEvent
from shared.campaigns.services.conversions import on_lead_campaigns as convert


@firestore_fn.on_document_written(document="companies/{companyId}/leads/{leadId}")
def on_lead_campaigns(event: DocumentEvent, ctx: Context) -> str:
    """A lead that converts is marked converted in the campaigns that reached it."""
    return convert(ctx.store, ctx.queue, ctx.now(), event, ctx.name)
