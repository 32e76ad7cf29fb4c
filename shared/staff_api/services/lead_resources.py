"""The staff REST API's lead resources: leads, and each lead's interactions, notes and
assignments (who may do what: shared/staff_api/services/registry.py)."""

from __future__ import annotations

from shared.domain.identity import Role, lead_guard
from shared.domain.leads import Interaction, Lead, LeadStatus, lead_id_for
from shared.staff_api.domain.models import (
    AssignmentFields,
    InteractionFields,
    LeadAssignment,
    LeadFields,
    LeadNote,
    NoteFields,
)
from shared.staff_api.services import leads, queries
from shared.staff_api.services.resources import ResourceSpec, enum_values

LEAD_RESOURCES: tuple[ResourceSpec, ...] = (
    ResourceSpec(
        "leads",
        Lead,
        {
            "created_at": ("time", leads.or_by_email(queries.leads_by_created_at)),
            "score": ("number", leads.or_by_email(queries.leads_by_score)),
            "name_lower": ("text", leads.or_by_email(queries.leads_by_name)),
        },
        LeadFields,
        filters={"status": enum_values(LeadStatus)},
        params={
            "assigned_to": "me, none or a uid (users always list their own)",
            "email": "the lead of this address (exact; case and blanks as stored)",
        },
        search="name_lower",
        required=frozenset({"email"}),
        create_only=frozenset({"email"}),
        write=Role.USER,
        list_values=leads.lead_list_values,
        guard=lead_guard,
        derive=leads.derive_lead,
        new_id=lambda data: lead_id_for(str(data["email"])),
    ),
    ResourceSpec(
        "interactions",
        Interaction,
        {"created_at": ("time", queries.interactions)},
        InteractionFields,
        under_lead=True,
        write=Role.USER,
        delete=None,
        patchable=False,
    ),
    ResourceSpec(
        "notes",
        LeadNote,
        {"created_at": ("time", queries.notes)},
        NoteFields,
        required=frozenset({"body"}),
        under_lead=True,
        write=Role.USER,
        delete=Role.USER,
        list_values=leads.note_list_values,
        visible=leads.note_visible,
        write_guard=leads.note_author_only,
        derive=leads.derive_note,
    ),
    ResourceSpec(
        "assignments",
        LeadAssignment,
        {"created_at": ("time", queries.assignments)},
        AssignmentFields,
        required=frozenset({"to"}),
        under_lead=True,
        delete=None,
        patchable=False,
        creator=leads.assign_lead,
    ),
)
