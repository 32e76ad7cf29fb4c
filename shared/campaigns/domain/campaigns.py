"""Campaigns: what staff plan (target, template, budget, goals, dates), how a campaign
moves through its statuses, and its recipients.

A campaign lives at ``companies/{c}/campaigns/{id}`` (created and edited through the staff
REST API); starting it writes one recipient per selected lead or outreach contact at
``companies/{c}/campaigns/{id}/recipients/{leadOrContactId}``, each with its own status
(pending, contacted, responded, converted, excluded) and send state (queued, deferred,
done). Only the ``campaigns`` function changes a campaign's status.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Field, field_validator, model_validator

from shared.campaigns.domain.compliance import Channel
from shared.campaigns.domain.keys import RecipientStatus
from shared.campaigns.domain.templates import template_error
from shared.domain.common import ONE_LINE, DeferredModel, DocumentId, StoredModel, as_utc
from shared.domain.leads import LeadStatus
from shared.errors import Refused
from shared.staff_api.domain.edits import DocId, EditModel, Tag

MAX_EXPLICIT_IDS = 1000


class CampaignType(StrEnum):
    EMAIL = "email"
    COLD_OUTREACH = "cold_outreach"
    SOCIAL = "social"
    CONTENT = "content"
    MIXED = "mixed"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class SendState(StrEnum):
    QUEUED = "queued"  # the next batch with room takes it
    DEFERRED = "deferred"  # quiet hours: a wake-up task queues it again at deferred_until
    DONE = "done"  # sent, excluded or failed for good


Audience = Literal["leads", "contacts"]
Label = Annotated[str, Field(min_length=1, max_length=100)]


class TargetCriteria(EditModel):
    """Who a campaign reaches: leads or outreach contacts, listed by id or matching all of
    the filters given (an empty filter matches everyone)."""

    audience: Audience = "leads"
    ids: list[DocId] = Field(default=[], max_length=MAX_EXPLICIT_IDS)
    lead_statuses: list[LeadStatus] = Field(default=[], max_length=10)
    tags_any: list[Tag] = Field(default=[], max_length=20)
    min_score: int | None = Field(default=None, ge=0, le=100)
    industries: list[Label] = Field(default=[], max_length=20)
    countries: list[Label] = Field(default=[], max_length=50)
    business_ids: list[DocId] = Field(default=[], max_length=MAX_EXPLICIT_IDS)
    limit: int | None = Field(default=None, ge=1, le=100_000)


class Goal(EditModel):
    metric: Literal["sent", "opened", "clicked", "responded", "converted"]
    target: int = Field(ge=1, le=10_000_000)


def _valid_template(value: str) -> str:
    problem = template_error(value)
    if problem is not None:
        raise ValueError(problem)
    return value


class MessageTemplate(EditModel):
    """Sandboxed Jinja2 (``{{ contact.first_name }}``); ``subject`` is for e-mail."""

    subject: Annotated[str, Field(max_length=300), ONE_LINE] = ""
    body: str = Field(min_length=1, max_length=20_000)

    _checked = field_validator("subject", "body")(classmethod(lambda cls, v: _valid_template(v)))


class CampaignFields(EditModel):
    """What staff write through the staff REST API; the status is not among them."""

    name: str = Field(default="", min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    type: CampaignType = CampaignType.EMAIL
    channel: Channel = "email"
    target: TargetCriteria = Field(default_factory=TargetCriteria)
    template: MessageTemplate | None = None
    budget_allocated: float | None = Field(default=None, ge=0, le=1e12)
    budget_spent: float = Field(default=0.0, ge=0, le=1e12)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    goals: list[Goal] = Field(default=[], max_length=10)
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    _aware = field_validator("starts_at", "ends_at")(
        classmethod(lambda cls, v: as_utc(v) if v is not None else None)
    )


class Campaign(StoredModel, CampaignFields):
    model_config = ConfigDict(extra="allow")

    id: str
    company_id: str
    status: CampaignStatus = CampaignStatus.DRAFT
    status_reason: str | None = None
    stats: dict[str, int] = {}
    # Sending: each start, resume or wake-up after a pause in the chain starts a new
    # ``run`` of batches; only that run's batches send. One batch at a time holds the lease.
    run: int = 0
    materialized: bool = False
    chain_active: bool = False
    batch_lease: dict[str, Any] | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def sends_messages(self) -> bool:
        """Social and content campaigns are tracked here but posted elsewhere."""
        return self.template is not None


def campaign_check(merged: dict[str, Any]) -> None:
    """Whole-document rules of a campaign (the staff API's ``check``)."""
    starts, ends = merged.get("starts_at"), merged.get("ends_at")
    if isinstance(starts, datetime) and isinstance(ends, datetime) and ends <= starts:
        raise ValueError("ends_at must be after starts_at")
    target = merged.get("target") or {}
    audience = target.get("audience") if isinstance(target, dict) else target.audience
    if merged.get("type") == CampaignType.COLD_OUTREACH and audience != "contacts":
        raise ValueError("cold outreach reaches outreach contacts (target.audience: contacts)")


# Which statuses each action moves from, and to which.
TRANSITIONS: dict[str, tuple[frozenset[CampaignStatus], CampaignStatus]] = {
    "schedule": (frozenset({CampaignStatus.DRAFT}), CampaignStatus.SCHEDULED),
    "unschedule": (frozenset({CampaignStatus.SCHEDULED}), CampaignStatus.DRAFT),
    "start": (frozenset({CampaignStatus.DRAFT, CampaignStatus.SCHEDULED}), CampaignStatus.SENDING),
    "pause": (frozenset({CampaignStatus.SENDING}), CampaignStatus.PAUSED),
    "resume": (frozenset({CampaignStatus.PAUSED}), CampaignStatus.SENDING),
    "complete": (
        frozenset({CampaignStatus.SENDING, CampaignStatus.PAUSED}),
        CampaignStatus.COMPLETED,
    ),
    "cancel": (
        frozenset(
            {
                CampaignStatus.DRAFT,
                CampaignStatus.SCHEDULED,
                CampaignStatus.SENDING,
                CampaignStatus.PAUSED,
            }
        ),
        CampaignStatus.CANCELLED,
    ),
}
StatusAction = Literal["schedule", "unschedule", "start", "pause", "resume", "complete", "cancel"]


def transition(status: CampaignStatus, action: str) -> CampaignStatus:
    """The status ``action`` leads to from ``status``; Refused (409) when it cannot."""
    sources, target = TRANSITIONS[action]
    if status not in sources:
        allowed = sorted(s.value for s in sources)
        raise Refused(
            f"A {status.value} campaign cannot {action}.",
            {"status": status.value, "allowed_from": allowed},
        )
    return target


class Recipient(StoredModel):
    id: str
    company_id: str
    campaign_id: str
    kind: Literal["lead", "contact"]
    status: RecipientStatus = RecipientStatus.PENDING
    send_state: SendState = SendState.QUEUED
    business_id: str | None = None
    deferred_until: datetime | None = None
    reason: str | None = None
    send_id: str | None = None
    message_id: str | None = None
    contacted_at: datetime | None = None


class CampaignRequest(DeferredModel):
    """A POST to the ``campaigns`` function: a status action, a preview, or marking a
    recipient's outcome (``mark``: responded, converted or excluded)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    action: Literal[StatusAction, "preview", "mark"]
    campaign_id: DocumentId
    company_id: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=20, ge=1, le=100)
    template: MessageTemplate | None = None  # preview: try a template before saving it
    recipient_id: DocumentId | None = None
    status: Literal["responded", "converted", "excluded"] | None = None
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _mark_needs(self) -> Self:
        if self.action == "mark" and (self.recipient_id is None or self.status is None):
            raise ValueError("mark needs recipient_id and status")
        return self


def campaign_editable(_staff: object, campaign: dict[str, Any]) -> None:
    """The staff API's write guard: a sending campaign is paused before it is changed."""
    if campaign.get("status") == CampaignStatus.SENDING.value:
        raise Refused("Pause the campaign before changing it.", {"status": "sending"})


def campaign_deletable(_staff: object, campaign: dict[str, Any]) -> None:
    """Only drafts go: a campaign that ran keeps its recipients and history (cancel it)."""
    if campaign.get("status", CampaignStatus.DRAFT.value) != CampaignStatus.DRAFT.value:
        raise Refused("Only draft campaigns can be deleted; cancel it instead.")
