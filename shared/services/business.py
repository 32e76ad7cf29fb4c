"""Business development in the staff REST API: the resource specs of business profiles,
audits, growth strategies, downloadable resources and their downloads, and the hooks
that give them the rules a generic create/update cannot know.

| resource | read | create, update | delete |
| --- | --- | --- | --- |
| business_profiles, business_audits, growth_strategies | user | manager | manager |
| resources (downloadable files) | user | manager | manager |
| resource_downloads | manager | the download_resource function | - |
| newsletter_subscriptions | manager | the newsletter functions | - |

Audits and strategies name their business profile, which must exist when they are made;
its name is copied onto them (``business_name``) so lists need no second read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.domain.business import (
    AuditFields,
    BusinessAudit,
    BusinessProfile,
    BusinessStage,
    GrowthStrategy,
    ProfileFields,
    StrategyFields,
    StrategyStatus,
    milestone_progress,
    stored_milestones,
)
from shared.domain.business_resources import (
    DownloadableResource,
    ResourceDownload,
    ResourceFields,
    ResourceType,
)
from shared.domain.common import is_document_id
from shared.domain.identity import Role, StaffIdentity
from shared.domain.newsletters import NewsletterSubscription, SubscriptionStatus
from shared.errors import InvalidInput
from shared.ports import Data, DocumentStore
from shared.services import business_queries as queries
from shared.staff_api.domain.lists import Scope
from shared.staff_api.services.resources import ResourceSpec, enum_values


def _id_filter(name: str) -> Any:
    """A list filter on one id from ``?{name}=``, validated as a document id."""

    def values(_staff: StaffIdentity, args: Mapping[str, str]) -> dict[str, Any]:
        raw = args.get(name)
        if raw is None:
            return {}
        if not is_document_id(raw) or len(raw) > 200:
            raise InvalidInput(f"{name} is not a valid id.")
        return {name: raw}

    return values


def link_profile(store: DocumentStore, _staff: StaffIdentity, scope: Scope, data: Data) -> Data:
    """The profile's name, read once when the audit or strategy is made (the profile must
    exist then; it is not read again on later changes)."""
    if data.get("business_name") is not None:
        return {}
    profile_id = str(data["business_profile_id"])
    snap = store.get_all([f"companies/{scope.company_id}/business_profiles/{profile_id}"])[0]
    if snap.data is None:
        fields = {"business_profile_id": "no such business profile"}
        raise InvalidInput("The business profile does not exist.", {"fields": fields})
    return {"business_name": snap.data.get("business_name")}


def derive_strategy(store: DocumentStore, staff: StaffIdentity, scope: Scope, data: Data) -> Data:
    """The profile link, milestone ids and completion dates, and the progress."""
    today = data["updated_at"].date().isoformat()
    try:
        milestones = stored_milestones(list(data.get("milestones") or []), today)
    except ValueError as err:
        raise InvalidInput(str(err), {"fields": {"milestones": str(err)}}) from err
    progress = milestone_progress(milestones)
    return link_profile(store, staff, scope, data) | {
        "milestones": milestones,
        "progress": progress,
    }


PROFILE_PARAM = {"business_profile_id": "those of this business profile"}
BUSINESS_RESOURCES: tuple[ResourceSpec, ...] = (
    ResourceSpec(
        "business_profiles",
        BusinessProfile,
        {"created_at": ("time", queries.profiles)},
        ProfileFields,
        filters={"stage": enum_values(BusinessStage)},
        required=frozenset({"business_name"}),
    ),
    ResourceSpec(
        "business_audits",
        BusinessAudit,
        {"created_at": ("time", queries.audits)},
        AuditFields,
        required=frozenset({"business_profile_id", "audit_date"}),
        create_only=frozenset({"business_profile_id"}),
        list_values=_id_filter("business_profile_id"),
        params=PROFILE_PARAM,
        derive=link_profile,
    ),
    ResourceSpec(
        "growth_strategies",
        GrowthStrategy,
        {"created_at": ("time", queries.strategies)},
        StrategyFields,
        filters={"status": enum_values(StrategyStatus)},
        required=frozenset({"business_profile_id", "name"}),
        create_only=frozenset({"business_profile_id"}),
        list_values=_id_filter("business_profile_id"),
        params=PROFILE_PARAM,
        derive=derive_strategy,
    ),
    ResourceSpec(
        "resources",
        DownloadableResource,
        {"created_at": ("time", queries.resources)},
        ResourceFields,
        filters={"type": enum_values(ResourceType)},
        required=frozenset({"title", "file_url"}),
    ),
    ResourceSpec(
        "resource_downloads",
        ResourceDownload,
        {"created_at": ("time", queries.downloads)},
        read=Role.MANAGER,
        list_values=_id_filter("resource_id"),
        params={"resource_id": "the downloads of this resource"},
        writes_elsewhere="download_resource",
    ),
    ResourceSpec(
        "newsletter_subscriptions",
        NewsletterSubscription,
        {"created_at": ("time", queries.subscriptions)},
        filters={"status": enum_values(SubscriptionStatus)},
        read=Role.MANAGER,
        writes_elsewhere="newsletter_signup",
    ),
)
