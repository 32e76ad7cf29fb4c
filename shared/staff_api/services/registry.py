"""Every resource family the staff REST API serves, and who may do what with it.

| resource | read | create, update | delete |
| --- | --- | --- | --- |
| leads | user (own) | user (own) | manager |
| leads/{id}/interactions | as the lead | as the lead | - |
| leads/{id}/notes | as the lead; private: author | as the lead; update: author | author |
| leads/{id}/assignments | as the lead | manager | - |
| content, campaigns | user | manager | manager (campaigns: drafts) |
| reviews, referrals | user (of the leads they see) | their own functions | - |
| spam_submissions | manager | lead intake; ``.../{id}/release`` (manager) | - |
| scoring_rules | user | admin | admin |
| newsletter_issues | manager | manager (not while sending) | manager (drafts) |

The specs live with their families (the modules below); ``RESOURCES`` imports a family's
module when a request first names one of its resources, so an instance serving the lead
list does not load the campaign, outreach, business and scoring-rule models on its cold
start. tests/unit/test_staff_api_resources.py checks this index against the modules.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from shared.staff_api.services.resources import ResourceSpec

# Each family's module and the tuple of specs it defines, with the resources it serves.
FAMILIES: dict[tuple[str, str], tuple[str, ...]] = {
    ("shared.staff_api.services.lead_resources", "LEAD_RESOURCES"): (
        "leads",
        "interactions",
        "notes",
        "assignments",
    ),
    ("shared.staff_api.services.record_resources", "RECORD_RESOURCES"): (
        "content",
        "campaigns",
        "reviews",
        "referrals",
        "spam_submissions",
    ),
    # Business development, downloads and newsletter subscriptions.
    ("shared.services.business", "BUSINESS_RESOURCES"): (
        "business_profiles",
        "business_audits",
        "growth_strategies",
        "resources",
        "resource_downloads",
        "newsletter_subscriptions",
    ),
    # Newsletter issues (sent by the newsletters function).
    ("shared.services.newsletter_issues", "ISSUE_RESOURCES"): ("newsletter_issues",),
    # Businesses, outreach contacts, suppressions, outreach messages.
    ("shared.campaigns.services.outreach_resources", "OUTREACH_RESOURCES"): (
        "businesses",
        "outreach_contacts",
        "suppressions",
        "outreach_messages",
    ),
    # Lead scoring rules (admins write them).
    ("shared.scoring.services.rule_resources", "SCORING_RULE_RESOURCES"): ("scoring_rules",),
}
_FAMILY_OF = {name: family for family, names in FAMILIES.items() for name in names}


def family_specs(module: str, attribute: str) -> tuple[ResourceSpec, ...]:
    """The specs a family's module defines (importing it the first time)."""
    specs: tuple[ResourceSpec, ...] = getattr(importlib.import_module(module), attribute)
    return specs


class _Resources(Mapping[str, ResourceSpec]):
    """Resource name to spec, each family loaded on first use. Threads racing on a first
    use each store the same specs (the module itself is imported once, under Python's
    import lock), so no lock of our own is needed."""

    def __init__(self) -> None:
        self._loaded: dict[str, ResourceSpec] = {}

    def __getitem__(self, name: str) -> ResourceSpec:
        if name not in self._loaded:
            family = _FAMILY_OF[name]  # KeyError for names no family serves
            self._loaded.update((spec.name, spec) for spec in family_specs(*family))
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_FAMILY_OF)

    def __len__(self) -> int:
        return len(_FAMILY_OF)


RESOURCES: Mapping[str, ResourceSpec] = _Resources()
