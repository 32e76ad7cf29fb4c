"""Where a campaign and its recipients are stored, a recipient's statuses, and the key of
each send: what tracking, compliance and e-mail events need of a campaign.

Kept apart from the campaign models (shared/campaigns/domain/campaigns.py) so the
functions that only record an open, a click, a reply or an unsubscribe against a campaign
do not load those models, their staff-API field types and the template checks on their
cold start.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class RecipientStatus(StrEnum):
    PENDING = "pending"
    CONTACTED = "contacted"
    RESPONDED = "responded"
    CONVERTED = "converted"
    EXCLUDED = "excluded"


def campaign_path(company_id: str, campaign_id: str) -> str:
    return f"companies/{company_id}/campaigns/{campaign_id}"


def recipients_collection(company_id: str, campaign_id: str) -> str:
    return f"{campaign_path(company_id, campaign_id)}/recipients"


def recipient_path(company_id: str, campaign_id: str, recipient_id: str) -> str:
    return f"{recipients_collection(company_id, campaign_id)}/{recipient_id}"


def send_key(company_id: str, campaign_id: str, recipient_id: str, channel: str) -> str:
    """The idempotency key of a campaign's message to a recipient on a channel."""
    return f"campaign:{company_id}:{campaign_id}:{recipient_id}:{channel}"


def issue_path(company_id: str, issue_id: str) -> str:
    return f"companies/{company_id}/newsletter_issues/{issue_id}"


def counted_in(send: Mapping[str, Any]) -> list[str]:
    """The documents whose figures a marketing send counts in (its campaign's, its
    newsletter issue's): where its opens, clicks, bounces and complaints are added."""
    company_id = str(send.get("company_id") or "")
    owners = []
    if isinstance(send.get("campaign_id"), str):
        owners.append(campaign_path(company_id, send["campaign_id"]))
    if isinstance(send.get("issue_id"), str):
        owners.append(issue_path(company_id, send["issue_id"]))
    return owners
