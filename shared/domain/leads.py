"""Leads and their interactions: the web-form request, the stored lead, and merging."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator, model_validator

from shared.domain.common import (
    DeferredModel,
    Email,
    HeaderUrl,
    RequestModel,
    ShortText,
    StoredModel,
    is_reserved_name,
    normalize_email,
    search_key,
    stable_id,
)

MAX_CUSTOM_FIELDS = 20
MAX_CUSTOM_VALUE = 1000
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# The schema of lead documents written now (shared/migrations: the highest VERSION of
# the migrations of "leads"; a stored lead without one is at 1).
SCHEMA_VERSION = 3


def split_name(name: object) -> tuple[str | None, str | None]:
    """The first and last name in a full name: the first word, and the rest ("Jean de La
    Fontaine": "Jean", "de La Fontaine"); "Lovelace, Ada" (one comma) is read last name
    first; a single word is a first name; no name (or not a string), neither."""
    text = " ".join(name.split()) if isinstance(name, str) else ""
    last, _, first = (part.strip() for part in text.partition(","))
    if text.count(",") == 1 and first and last:
        return first, last
    first, _, rest = " ".join(text.replace(",", " ").split()).partition(" ")
    return first or None, rest or None


def greeting_name(first_name: object, name: object) -> str | None:
    """The name to greet someone by ("Hi Bob,", not "Hi Bob Builder,"): their first name
    as stored, else the first name in their full name (a document stored before it had
    one); None when they gave no name."""
    if isinstance(first_name, str) and first_name.strip():
        return first_name.strip()
    return split_name(name)[0]


def name_parts(name: object) -> dict[str, str | None]:
    """``{"first_name": ..., "last_name": ...}`` of ``split_name``."""
    first, last = split_name(name)
    return {"first_name": first, "last_name": last}


class LeadStatus(StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    CONVERTED = "converted"
    LOST = "lost"


class InteractionType(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    CALL = "call"
    MEETING = "meeting"
    FORM = "form"


class InteractionStatus(StrEnum):
    QUEUED = "queued"  # recorded, no provider has it (the outbox backend)
    SENT = "sent"  # the SMTP server or the SMS provider accepted it
    DELIVERED = "delivered"
    BOUNCED = "bounced"  # the provider could not deliver it (a hard bounce, undelivered SMS)
    OPENED = "opened"
    CLICKED = "clicked"
    REPLIED = "replied"
    RECEIVED = "received"


def handed_status(accepted: bool) -> InteractionStatus:
    """An outbound message's status once handed to the messenger: ``sent`` when a provider
    accepted it, ``queued`` when it was only recorded."""
    return InteractionStatus.SENT if accepted else InteractionStatus.QUEUED


# How far an outbound message got; it only moves forward (engagement may come to a
# bounced message if the bounce was wrong, never a delivery).
_DELIVERY_RANK = {"queued": 0, "sent": 1, "delivered": 2, "bounced": 2, "opened": 3}
_DELIVERY_RANK |= {"clicked": 4, "replied": 5, "received": 5}


def delivery_moves(current: object, reported: InteractionStatus) -> bool:
    """Whether a provider's report (``delivered`` or ``bounced``) changes a message now
    ``current``: only one that got no further than being delivered (a bounce may follow
    a delivery report; a delivery never undoes a bounce)."""
    rank = _DELIVERY_RANK.get(str(current), 0)
    if reported is InteractionStatus.BOUNCED:
        return current != "bounced" and rank <= _DELIVERY_RANK["delivered"]
    return rank < _DELIVERY_RANK[reported.value]


class Utm(DeferredModel):
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    term: str | None = None
    content: str | None = None


class Touch(DeferredModel):
    """Where a submission came from (first touch is kept forever)."""

    utm: Utm = Field(default_factory=Utm)
    referrer: str | None = None
    page_url: str | None = None
    at: datetime | None = None


class Consent(DeferredModel):
    """Evidence of marketing consent: when, from where, and to what text."""

    given: bool = False
    text: str | None = None
    text_version: str | None = None
    given_at: datetime | None = None
    ip: str | None = None
    form_id: str | None = None


class LeadSubmission(RequestModel):
    """A web form post. Unknown keys become custom fields (bounded)."""

    form_key: str = Field(min_length=3, max_length=200)
    email: Email
    name: ShortText | None = None
    phone: str | None = Field(default=None, max_length=40)
    message: str | None = Field(default=None, max_length=5000)
    source: ShortText | None = None
    form_id: str | None = Field(default=None, max_length=100)
    page_url: str | None = Field(default=None, max_length=2000)
    referrer: str | None = Field(default=None, max_length=2000)
    consent: bool = False
    consent_text: str | None = Field(default=None, max_length=2000)
    consent_text_version: str | None = Field(default=None, max_length=50)
    # A hidden field people never fill in; bots do.
    website: str | None = Field(default=None, max_length=2000)
    # Milliseconds since the epoch when the form was rendered (set by the page's script).
    started_at: float | None = None
    redirect_url: HeaderUrl | None = None
    # Chosen by the client (a UUID made when the form is shown, or an Idempotency-Key
    # header): a retried post with the same id is stored once and answered as before.
    submission_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{8,64}$")
    utm: Utm = Field(default_factory=Utm)
    custom_fields: dict[str, str] = {}

    @field_validator("custom_fields")
    @classmethod
    def _bounded(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_CUSTOM_FIELDS:
            raise ValueError(f"at most {MAX_CUSTOM_FIELDS} custom fields")
        if any(len(k) > 100 or len(v) > MAX_CUSTOM_VALUE for k, v in value.items()):
            raise ValueError(f"custom field names up to 100, values up to {MAX_CUSTOM_VALUE}")
        if any(not k or is_reserved_name(k) for k in value):
            # Firestore refuses empty and __reserved__ field names.
            raise ValueError("custom field names must be non-empty and not __reserved__")
        return value


_KNOWN = set(LeadSubmission.model_fields) | set(UTM_KEYS) | {"key", "companyId"}


def submission_from_form(body: dict[str, Any], form_key: str | None) -> dict[str, Any]:
    """Reshape a flat form body (``utm_source=...``, extra inputs) for ``LeadSubmission``."""
    data = {k: v for k, v in body.items() if k in LeadSubmission.model_fields}
    data.setdefault("form_key", form_key or body.get("key") or "")
    utm = data.get("utm") if isinstance(data.get("utm"), dict) else {}
    data["utm"] = {**{k[4:]: body[k] for k in UTM_KEYS if body.get(k)}, **(utm or {})}
    extras = {k: v for k, v in body.items() if k not in _KNOWN}
    if extras and "custom_fields" not in data:
        data["custom_fields"] = {k: v if isinstance(v, str) else str(v) for k, v in extras.items()}
    if isinstance(data.get("consent"), str):
        data["consent"] = data["consent"].lower() in ("1", "true", "on", "yes")
    return data


class Lead(StoredModel):
    id: str
    company_id: str
    email: str
    email_normalized: str
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    # The name as ``?q=`` searches it (``search_key``): derived, never written by staff.
    name_lower: str = ""
    phone: str | None = None
    source: str = "web_form"
    status: LeadStatus = LeadStatus.NEW
    notes: str | None = None
    tags: list[str] = []
    assigned_to: str | None = None
    custom_fields: dict[str, Any] = {}
    score: int = 0
    temperature: str = "cold"
    first_touch: Touch = Field(default_factory=Touch)
    last_touch: Touch = Field(default_factory=Touch)
    consent: Consent = Field(default_factory=Consent)
    # A basis for marketing e-mail other than consent, as a manager recorded it
    # (shared.domain.consent: basis, set_by, set_at); read as stored, checked where used.
    lawful_basis: dict[str, Any] | str | None = None
    do_not_contact: bool = False
    submission_count: int = 0
    referred_by: str | None = None
    last_engagement_at: datetime | None = None
    schema_version: int = SCHEMA_VERSION

    @model_validator(mode="before")
    @classmethod
    def _read_as_current(cls, data: Any) -> Any:
        """A lead stored before schema 3 reads as migrations 2 and 3 leave it (what the
        model writes back is then current, and the migrations skip it); one built in code
        from its name gets its search key the same way."""
        if isinstance(data, dict) and _version(data) < 2:
            data = {**data, **name_parts(data.get("name")), "schema_version": 2}
        if isinstance(data, dict) and (_version(data) < 3 or "name_lower" not in data):
            data = {**data, "name_lower": search_key(data.get("name")), "schema_version": 3}
        return data


def _version(data: dict[str, Any]) -> int:
    version = data.get("schema_version", 1)
    return version if isinstance(version, int) else 1


class Interaction(StoredModel):
    id: str
    lead_id: str
    company_id: str
    type: InteractionType
    direction: str = "inbound"
    channel: str = "web"
    status: InteractionStatus = InteractionStatus.RECEIVED
    subject: str | None = None
    body: str | None = None
    metadata: dict[str, Any] = {}


class SpamStatus(StrEnum):
    HELD = "held"  # kept apart (the visitor was told "thanks")
    RELEASED = "released"  # made a lead by staff: a false positive


class SpamSubmission(StoredModel):
    """A submission intake kept apart as spam (its reason: ``shared.domain.intake.
    SpamReason``), with what it sent, as staff list and release it."""

    id: str
    company_id: str | None = None
    reason: str
    ip: str | None = None
    submission: dict[str, Any] = {}
    status: SpamStatus = SpamStatus.HELD
    lead_id: str | None = None
    released_at: datetime | None = None
    released_by: str | None = None


def spam_path(company_id: str, spam_id: str) -> str:
    return f"companies/{company_id}/spam_submissions/{spam_id}"


def lead_id_for(email: str) -> str:
    """One lead per company and e-mail: the id is derived, so no query is needed."""
    return stable_id(normalize_email(email))


def lead_path(company_id: str, lead_id: str) -> str:
    return f"companies/{company_id}/leads/{lead_id}"


def interaction_path(company_id: str, lead_id: str, interaction_id: str) -> str:
    return f"{lead_path(company_id, lead_id)}/interactions/{interaction_id}"
