"""What staff may write through the REST API, and the resources only it creates.

Each resource has one *fields* model: every field staff may set, with defaults, refusing
unknown keys. A create validates the body against it (some fields are required); a PATCH
validates the same model and applies only the keys that were sent, so one model serves
both. Lead notes and lead assignments are defined here too (campaigns: ``campaigns``).
"""

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from shared.domain.common import ONE_LINE, Email, ShortText, StoredModel, as_utc
from shared.domain.consent import LawfulBasis
from shared.domain.content import ContentType
from shared.domain.leads import InteractionStatus, InteractionType, LeadStatus
from shared.domain.publishing import refusals
from shared.staff_api.domain.edits import DocId, EditModel, Tag

MAX_TAGS = 20
MAX_CUSTOM_FIELDS = 30
MAX_MENTIONS = 20
# "@alice" or "@alice@acme.example", not inside an e-mail address ("bob@acme.example").
_MENTION = re.compile(r"(?<![\w.+-])@([A-Za-z0-9][\w.+-]*(?:@[\w-]+(?:\.[\w-]+)+)?)")


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


class LeadFields(EditModel):
    email: Email = ""  # create only: the lead's id is derived from it
    name: ShortText | None = None
    phone: str | None = Field(default=None, max_length=40)
    status: LeadStatus = LeadStatus.NEW
    source: ShortText = "staff"
    tags: list[Tag] = Field(default=[], max_length=MAX_TAGS)
    custom_fields: dict[str, Any] = Field(default={}, max_length=MAX_CUSTOM_FIELDS)
    do_not_contact: bool = False
    # Marketing e-mail without the lead's consent (managers; stored with who and when).
    lawful_basis: LawfulBasis | None = None
    # The lead's clock for SMS quiet hours and waits (None: the company's time zone).
    timezone: str | None = Field(default=None, max_length=64)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as err:
                raise ValueError("not a time zone (e.g. Europe/Paris)") from err
        return value


class InteractionFields(EditModel):
    type: Literal[
        InteractionType.CALL, InteractionType.MEETING, InteractionType.EMAIL, InteractionType.SMS
    ] = InteractionType.CALL
    direction: Literal["inbound", "outbound"] = "outbound"
    channel: str = Field(default="phone", max_length=30)
    status: InteractionStatus = InteractionStatus.DELIVERED
    subject: ShortText | None = None
    body: str | None = Field(default=None, max_length=5000)


class NoteFields(EditModel):
    body: str = Field(default="", min_length=1, max_length=5000)
    private: bool = False


class LeadNote(StoredModel):
    """A note on a lead. A private note is seen by its author alone; ``audience`` is the
    author's uid then, else ``team``, so one ``in`` query lists what a caller may see."""

    id: str
    lead_id: str
    company_id: str
    body: str
    private: bool = False
    audience: str = "team"
    author: str
    mentions: list[str] = []
    mentioned_uids: list[str] = []


class AssignmentFields(EditModel):
    to: DocId | None = None  # None unassigns
    reason: str | None = Field(default=None, max_length=500)


class LeadAssignment(StoredModel):
    """One change of a lead's owner, kept as history."""

    id: str
    lead_id: str
    company_id: str
    from_uid: str | None = None
    to_uid: str | None = None
    by: str
    reason: str | None = None


class ContentFields(EditModel):
    """Drafts and schedules; publication fields belong to the publishing functions."""

    title: str = Field(default="", min_length=1, max_length=300)
    body: str = Field(default="", max_length=100_000)
    type: ContentType = ContentType.BLOG
    status: Literal["draft", "scheduled"] = "draft"
    tags: list[Tag] = Field(default=[], max_length=MAX_TAGS)
    platforms: list[Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,30}$")]] = Field(
        default=[], max_length=10
    )
    # The picture Instagram posts and WordPress features (a public URL platforms fetch).
    image_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    scheduled_at: datetime | None = None

    _aware = field_validator("scheduled_at")(classmethod(lambda cls, v: _utc(v)))


def parse_mentions(text: str) -> list[str]:
    """The distinct ``@handles`` in ``text``, lower-cased, in order (at most 20)."""
    found = dict.fromkeys(m.lower().rstrip(".") for m in _MENTION.findall(text))
    return list(found)[:MAX_MENTIONS]


def mention_matches(handle: str, uid: str, email: str) -> bool:
    """Whether ``@handle`` names this user: by e-mail, its local part, or uid."""
    email = email.lower()
    return handle in (email, email.partition("@")[0], uid.lower())


def content_check(merged: dict[str, Any]) -> None:
    """Scheduled content needs a time to be published at, and platforms that take it
    (Instagram an image, X at most its length): refused now, not when it is due."""
    if merged.get("status") != "scheduled":
        return
    if merged.get("scheduled_at") is None:
        raise ValueError("scheduled content needs scheduled_at")
    refused = refusals(
        merged.get("platforms") or [],
        title=str(merged.get("title") or ""),
        body=str(merged.get("body") or ""),
        content_type=str(merged.get("type") or "blog"),
        image_url=merged.get("image_url"),
    )
    if refused:
        raise ValueError("; ".join(f"{p}: {why}" for p, why in refused.items()))


Origin = Annotated[str, Field(max_length=200, pattern=r"^https?://[^/\s?#]+$")]


class CompanyFields(EditModel):
    """What a company's admins may change; its id, form key and subscription are not."""

    name: Annotated[str, Field(min_length=1, max_length=200), ONE_LINE] = ""
    industry: ShortText | None = None
    website: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    logo_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    allowed_origins: list[Origin] = Field(default=[], max_length=20)
    settings: dict[str, Any] = {}  # merged into the stored ones
