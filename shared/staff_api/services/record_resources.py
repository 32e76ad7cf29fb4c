"""The staff REST API's content, campaigns, reviews, referrals and spam submissions
(reviews and referrals are read here and written by their own functions; spam
submissions are written by lead intake and released by ``shared.services.spam``)."""

from __future__ import annotations

from shared.campaigns.domain.campaigns import (
    Campaign,
    CampaignFields,
    CampaignStatus,
    campaign_check,
    campaign_deletable,
    campaign_editable,
)
from shared.domain.content import Content, ContentStatus
from shared.domain.identity import Role, StaffIdentity
from shared.domain.intake import SpamReason
from shared.domain.leads import SpamStatus, SpamSubmission
from shared.domain.referrals import Referral, ReferralStatus
from shared.domain.reviews import Review, ReviewStatus
from shared.errors import Refused
from shared.ports import Data
from shared.staff_api.domain.models import ContentFields, content_check
from shared.staff_api.services import queries
from shared.staff_api.services.resources import ResourceSpec, enum_values


def _not_published(_staff: StaffIdentity, content: Data) -> None:
    if content.get("status") == ContentStatus.PUBLISHED.value:
        raise Refused("Published content stays: it is live on its platforms.")


RECORD_RESOURCES: tuple[ResourceSpec, ...] = (
    ResourceSpec(
        "content",
        Content,
        {"created_at": ("time", queries.content)},
        ContentFields,
        filters={"status": enum_values(ContentStatus)},
        required=frozenset({"title"}),
        check=content_check,
        deletable=_not_published,
    ),
    ResourceSpec(
        "campaigns",
        Campaign,
        {"created_at": ("time", queries.campaigns)},
        CampaignFields,
        filters={"status": enum_values(CampaignStatus)},
        required=frozenset({"name"}),
        check=campaign_check,
        write_guard=campaign_editable,
        deletable=campaign_deletable,
    ),
    ResourceSpec(
        "reviews",
        Review,
        {"created_at": ("time", queries.reviews)},
        filters={"status": enum_values(ReviewStatus)},
        writes_elsewhere="request_review",
        lead_field="lead_id",
    ),
    ResourceSpec(
        "referrals",
        Referral,
        {"created_at": ("time", queries.referrals)},
        filters={"status": enum_values(ReferralStatus)},
        id_field="code",
        writes_elsewhere="referral_codes",
        lead_field="referrer_lead_id",
    ),
    ResourceSpec(
        "spam_submissions",
        SpamSubmission,
        {"created_at": ("time", queries.spam_submissions)},
        filters={"reason": enum_values(SpamReason), "status": enum_values(SpamStatus)},
        read=Role.MANAGER,
        writes_elsewhere="lead_intake",
    ),
)
