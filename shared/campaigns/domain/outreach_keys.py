"""An outreach message's id, where it is stored, and its statuses in the order engagement
moves them: what tracking and e-mail events need of outreach without its import models."""

from __future__ import annotations

from enum import StrEnum

from shared.domain.common import stable_id


class MessageStatus(StrEnum):
    PENDING = "pending"  # reserved: being sent (a retry finishes it)
    SENT = "sent"
    FAILED = "failed"
    OPENED = "opened"
    REPLIED = "replied"


# Engagement only moves a message forward: a late open never undoes a reply.
MESSAGE_RANK: dict[str, int] = {s.value: i for i, s in enumerate(MessageStatus)}


def message_id(campaign_id: str, business: str, contact: str, platform: str) -> str:
    return stable_id("outreach", campaign_id, business, contact, platform)


def message_path(company_id: str, message: str) -> str:
    return f"companies/{company_id}/outreach_messages/{message}"
