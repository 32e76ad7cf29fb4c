"""What is about a lead is seen by those who see the lead.

Reviews, referral codes and consultations name a lead; a user (the role) sees only the
leads assigned to them (``shared.domain.identity.lead_visible``), so they see only the
records about those leads. Managers and admins see every lead, and nothing is read for
them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.domain.identity import StaffIdentity, lead_visible, sees_every_lead
from shared.domain.leads import lead_path
from shared.ports import Data, DocumentStore


def about_visible_leads(
    store: DocumentStore,
    staff: StaffIdentity,
    company_id: str,
    items: Sequence[Data],
    lead_field: str,
) -> list[Data]:
    """The items the caller may see: those naming no lead in ``lead_field``, and those
    whose lead they see (the leads read in one round trip)."""
    if sees_every_lead(staff):
        return list(items)
    ids = sorted({str(i[lead_field]) for i in items if i.get(lead_field)})
    paths = [lead_path(company_id, lead_id) for lead_id in ids]
    leads: dict[str, Any] = {s.path: s.data for s in store.get_all(paths)} if paths else {}
    return [
        i
        for i in items
        if not i.get(lead_field)
        or lead_visible(staff, leads.get(lead_path(company_id, str(i[lead_field]))))
    ]
