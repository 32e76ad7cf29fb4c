"""A lead that converts after a campaign reached it: its recipients become ``converted``.

``on_lead_campaigns`` (a Firestore trigger on leads) looks up the lead's recipients in
every campaign with one collection-group query (``recipients`` where ``company_id`` and
``id``), and moves those contacted or responded to converted, counting each campaign's
conversion once: the write is guarded by the update time read, so a duplicate delivery
of the event finds the recipient converted and counts nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from shared.campaigns.domain.keys import RecipientStatus
from shared.events import DocumentEvent
from shared.ports import DocumentStore, Filter, Increment, TaskQueue, Write
from shared.services.once import became, retrying

log = logging.getLogger("growthkit.campaigns")
MAX_CAMPAIGNS = 200
_REACHED = (RecipientStatus.CONTACTED.value, RecipientStatus.RESPONDED.value)


def on_lead_campaigns(
    store: DocumentStore, _queue: TaskQueue, now: datetime, event: DocumentEvent, _function: str
) -> str:
    """Mark the lead converted in the campaigns that reached it, when it converts.

    Args:
        store: The document store.
        _queue: Unused (the trigger signature).
        now: The time of this run.
        event: The lead's change.
        _function: The trigger's name.

    Returns:
        ``converted in N campaigns``, or why nothing was done.
    """
    if event.deleted or not became(event, "status", "converted"):
        return "not a conversion"
    company_id, lead_id = event.params["companyId"], event.params["leadId"]
    return retrying(lambda: _convert(store, now, company_id, lead_id))


def _convert(store: DocumentStore, now: datetime, company_id: str, lead_id: str) -> str:
    snaps = store.query(
        "recipients",
        [Filter("company_id", "==", company_id), Filter("id", "==", lead_id)],
        limit=MAX_CAMPAIGNS,
        collection_group=True,
    )
    writes: list[Write] = []
    for snap in snaps:
        if snap.data is None or snap.data.get("status") not in _REACHED:
            continue
        update = {"status": RecipientStatus.CONVERTED.value, "converted_at": now, "updated_at": now}
        campaign = snap.path.rsplit("/recipients/", 1)[0]
        writes.append(Write(snap.path, update, "update", snap.update_time))
        writes.append(Write(campaign, {"stats": {"converted": Increment(1)}}, "merge"))
    if writes:
        store.commit(writes)  # Contention when a duplicate delivery got there first: retried
    log.info("lead %s/%s converted in %d campaigns", company_id, lead_id, len(writes) // 2)
    return f"converted in {len(writes) // 2} campaigns"
