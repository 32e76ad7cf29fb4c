"""Review requests: the stored review, the cooldown rule and the message text.

Every customer gets the same neutral request: nothing here reads a rating or a sentiment
before asking (review gating breaks platform rules and consumer-protection law).
"""

import string
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import Field

from shared.domain.common import DeferredModel, DocumentId, RequestModel, StoredModel, stable_id
from shared.domain.company import Company, CompanySettings
from shared.domain.leads import (
    Interaction,
    InteractionStatus,
    InteractionType,
    Lead,
    greeting_name,
    interaction_path,
)
from shared.errors import InvalidInput
from shared.ports import Write

TEMPLATE_FIELDS = frozenset({"name", "company", "url"})
_DEFAULT_TEMPLATE = str(CompanySettings.model_fields["review_message_template"].default)


class ReviewStatus(StrEnum):
    REQUESTED = "requested"
    COMPLETED = "completed"
    VERIFIED = "verified"


class Review(StoredModel):
    id: str
    company_id: str
    lead_id: str
    platform: str
    rating: int | None = None
    status: ReviewStatus = ReviewStatus.REQUESTED
    requested_at: datetime
    completed_at: datetime | None = None
    review_url: str
    request_message: str
    reminders_sent: int = 0
    # "sending" until the request is handed to the messenger, so a retry can resume it.
    delivery: Literal["sending", "sent"] = "sending"
    message_id: str | None = None
    reminder_task_ids: list[str] = []


class CooldownMarker(DeferredModel):
    """The last request to one customer, at ``companies/{c}/review_cooldowns/{leadId}``."""

    lead_id: str
    review_id: str
    requested_at: datetime


class ReviewRequestBody(RequestModel):
    action: Literal["request"] = "request"
    company_id: str | None = Field(default=None, max_length=200)
    lead_id: DocumentId
    platform: str | None = Field(default=None, max_length=50)
    message: str | None = Field(default=None, max_length=2000)


class ReviewCompletionBody(RequestModel):
    action: Literal["complete"]
    company_id: str | None = Field(default=None, max_length=200)
    review_id: DocumentId
    rating: int = Field(ge=1, le=5)


def cooldown_blocks(
    marker: CooldownMarker | None, review_id: str, cooldown_days: int, now: datetime
) -> bool:
    """Whether an earlier request (another review) to this customer is too recent."""
    if marker is None or marker.review_id == review_id:
        return False
    return marker.requested_at + timedelta(days=cooldown_days) > now


class _KeepUnknown(dict[str, str]):
    """Leaves unknown ``{fields}`` as written instead of failing the whole message."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _plain_fields(template: str) -> bool:
    """Only bare names: ``{name.__class__}`` or ``{url[0]}`` would reach into objects."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError:
        return False
    return all(f.isidentifier() for f in fields)


def render_message(template: str, *, name: str, company: str, url: str, full_name: str = "") -> str:
    """The company's template with ``{name}`` (the greeting's first name, also
    ``{first_name}``), ``{full_name}``, ``{company}`` and ``{url}`` filled in; a malformed
    template falls back to the default one rather than failing the request."""
    values = _KeepUnknown(
        name=name, first_name=name, full_name=full_name or name, company=company, url=url
    )
    if not _plain_fields(template):
        template = _DEFAULT_TEMPLATE
    try:
        return template.format_map(values)
    except (ValueError, IndexError):  # e.g. a bad format spec such as "{name:d}"
        return _DEFAULT_TEMPLATE.format_map(values)


def request_subject(company: str) -> str:
    return f"How was your experience with {company}?"


def reminder_text(request_message: str) -> str:
    return f"A friendly reminder, in case our last message got buried:\n\n{request_message}"


def review_path(company_id: str, review_id: str) -> str:
    return f"companies/{company_id}/reviews/{review_id}"


def cooldown_path(company_id: str, lead_id: str) -> str:
    return f"companies/{company_id}/review_cooldowns/{lead_id}"


def reminder_key(company_id: str, review_id: str, number: int) -> str:
    return f"review-reminder:{company_id}:{review_id}:{number}"


def reminder_task_id(company_id: str, review_id: str, number: int) -> str:
    """The scheduled task id of a reminder (``schedule_task`` ids are ``stable_id(key)``)."""
    return stable_id(reminder_key(company_id, review_id, number))


def new_review(
    company: Company,
    lead: Lead,
    review_id: str,
    platform: str | None,
    message: str | None,
    now: datetime,
) -> Review:
    """The review a request creates, with its rendered message and reminder task ids."""
    settings = company.settings
    platform = platform or settings.default_review_platform
    url = settings.review_urls.get(platform)
    if not url:
        raise InvalidInput(f"The company has no review link for {platform!r}.")
    text = render_message(
        message or settings.review_message_template,
        name=greeting_name(lead.first_name, lead.name) or "there",
        full_name=lead.name or "",
        company=company.name,
        url=url,
    )
    reminders = range(1, settings.review_reminders + 1)
    return Review(
        id=review_id,
        company_id=company.id,
        lead_id=lead.id,
        platform=platform,
        requested_at=now,
        review_url=url,
        request_message=text,
        reminder_task_ids=[reminder_task_id(company.id, review_id, n) for n in reminders],
        created_at=now,
        updated_at=now,
    )


def review_interaction(
    review: Review,
    number: int,
    subject: str,
    provider_id: str,
    now: datetime,
    status: InteractionStatus = InteractionStatus.SENT,
) -> Write:
    """The outbound e-mail on the lead's timeline (number 0 is the request, then the
    reminders), ``sent`` or only ``queued`` (``handed_status``); its id is derived, so a
    replayed send overwrites instead of adding."""
    interaction = Interaction(
        id=stable_id("review", review.id, str(number)),
        lead_id=review.lead_id,
        company_id=review.company_id,
        type=InteractionType.EMAIL,
        direction="outbound",
        channel="email",
        status=status,
        subject=subject,
        body=review.request_message if number == 0 else reminder_text(review.request_message),
        metadata={"review_id": review.id, "reminder": number, "message_id": provider_id},
        created_at=now,
        updated_at=now,
    )
    path = interaction_path(review.company_id, review.lead_id, interaction.id)
    return Write(path, interaction.model_dump(), "set")
