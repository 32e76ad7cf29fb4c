"""Reading a campaign's progress against its goals, and its recipients page by page."""

from __future__ import annotations

from typing import Any

from shared.campaigns.domain.campaigns import Recipient
from shared.campaigns.services.campaigns import load_campaign
from shared.domain.identity import StaffIdentity
from shared.ports import DocumentStore, Filter


def progress(store: DocumentStore, staff: StaffIdentity, campaign_id: str) -> dict[str, Any]:
    """The campaign with its counters and each goal's progress.

    Args:
        store: The document store.
        staff: The caller (any role of the campaign's company).
        campaign_id: The campaign.

    Returns:
        ``{"campaign", "stats", "goals": [{"metric", "target", "actual", "reached"}]}``.

    Raises:
        NotFound: no such campaign.
    """
    _, campaign = load_campaign(store, staff.company_id, campaign_id)
    stats = campaign.stats
    goals = [
        {
            **g.model_dump(),
            "actual": stats.get(g.metric, 0),
            "reached": stats.get(g.metric, 0) >= g.target,
        }
        for g in campaign.goals
    ]
    return {"campaign": campaign.model_dump(mode="json"), "stats": stats, "goals": goals}


def list_recipients(
    store: DocumentStore,
    staff: StaffIdentity,
    campaign_id: str,
    status: str | None,
    after: str,
    limit: int,
) -> dict[str, Any]:
    """One page of a campaign's recipients in id order.

    Args:
        store: The document store.
        staff: The caller (any role of the campaign's company).
        campaign_id: The campaign.
        status: Only recipients in this status (None: all).
        after: The id the page starts after (``""``: the first page).
        limit: The page size.

    Returns:
        ``{"recipients": [...], "next": id to pass as ``after``, or None at the end}``.

    Raises:
        NotFound: no such campaign.
    """
    load_campaign(store, staff.company_id, campaign_id)
    company_id = staff.company_id
    snaps = (
        store.query(
            f"companies/{company_id}/campaigns/{campaign_id}/recipients",
            [Filter("status", "==", status), Filter("id", ">", after)],
            [("id", False)],
            limit,
        )
        if status
        else store.query(
            f"companies/{company_id}/campaigns/{campaign_id}/recipients",
            [Filter("id", ">", after)],
            [("id", False)],
            limit,
        )
    )
    items = [Recipient.model_validate(s.data).model_dump(mode="json") for s in snaps if s.data]
    return {"recipients": items, "next": items[-1]["id"] if len(items) == limit else None}
