"""Every resource family the staff REST API serves, and who may do what with it.

| resource | read | create, update | delete |
| --- | --- | --- | --- |
| leads | user (own) | user (own) | manager |
| leads/{id}/interactions | as the lead | as the lead | - |
| leads/{id}/notes | as the lead; private: author | as the lead; update: author | author |
| leads/{id}/assignments | as the lead | manager | - |
| content, campaigns | user | manager | manager (campaigns: drafts) |
| reviews, referrals | user | their own functions | - |
| scoring_rules | user | admin | admin |
"""

from __future__ import annotations

from enum import StrEnum

from shared.domain.campaigns import (
    Campaign,
    CampaignFields,
    CampaignStatus,
    campaign_check,
    campaign_deletable,
    campaign_editable,
)
from shared.domain.content import Content, ContentStatus
from shared.domain.identity import Role, StaffIdentity
from shared.domain.leads import Interaction, Lead, LeadStatus, lead_id_for
from shared.domain.referrals import Referral, ReferralStatus
from shared.domain.reviews import Review, ReviewStatus
from shared.domain.staff_api_models import (
    AssignmentFields,
    ContentFields,
    InteractionFields,
    LeadAssignment,
    LeadFields,
    LeadNote,
    NoteFields,
    content_check,
)
from shared.errors import Refused
from shared.ports import Data
from shared.services import staff_api_leads as leads
from shared.services import staff_api_queries as queries
from shared.services.business import BUSINESS_RESOURCES
from shared.services.outreach_resources import OUTREACH_RESOURCES
from shared.services.scoring_rule_resources import SCORING_RULE_RESOURCES
from shared.services.staff_api import ResourceSpec


def _statuses(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(s.value for s in enum)


def _not_published(_staff: StaffIdentity, content: Data) -> None:
    if content.get("status") == ContentStatus.PUBLISHED.value:
        raise Refused("Published content stays: it is live on its platforms.")


RESOURCES: dict[str, ResourceSpec] = {
    spec.name: spec
    for spec in (
        ResourceSpec(
            "leads",
            Lead,
            {
                "created_at": ("time", queries.leads_by_created_at),
                "score": ("number", queries.leads_by_score),
            },
            LeadFields,
            filters={"status": _statuses(LeadStatus)},
            required=frozenset({"email"}),
            create_only=frozenset({"email"}),
            write=Role.USER,
            list_values=leads.lead_list_values,
            guard=leads.lead_guard,
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
        ResourceSpec(
            "content",
            Content,
            {"created_at": ("time", queries.content)},
            ContentFields,
            filters={"status": _statuses(ContentStatus)},
            required=frozenset({"title"}),
            check=content_check,
            deletable=_not_published,
        ),
        ResourceSpec(
            "campaigns",
            Campaign,
            {"created_at": ("time", queries.campaigns)},
            CampaignFields,
            filters={"status": _statuses(CampaignStatus)},
            required=frozenset({"name"}),
            check=campaign_check,
            write_guard=campaign_editable,
            deletable=campaign_deletable,
        ),
        ResourceSpec(
            "reviews",
            Review,
            {"created_at": ("time", queries.reviews)},
            filters={"status": _statuses(ReviewStatus)},
            writes_elsewhere="request_review",
        ),
        ResourceSpec(
            "referrals",
            Referral,
            {"created_at": ("time", queries.referrals)},
            filters={"status": _statuses(ReferralStatus)},
            id_field="code",
            writes_elsewhere="referral_codes",
        ),
    )
}

# Business development, downloads and newsletter subscriptions: shared/services/business.py.
RESOURCES.update({spec.name: spec for spec in BUSINESS_RESOURCES})

# Businesses, outreach contacts, suppressions, outreach messages: outreach_resources.py.
RESOURCES.update({spec.name: spec for spec in OUTREACH_RESOURCES})

# Lead scoring rules (admins write them): scoring_rule_resources.py.
RESOURCES.update({spec.name: spec for spec in SCORING_RULE_RESOURCES})
