"""Referral programmes: the codes staff give customers to share, and the rules of redeeming.

A code is the id of its document (``companies/{c}/referrals/ABCD-EFGH-JK``), so redeeming
one needs no query. Each friend can be referred once per company: a marker document keyed
by their canonical e-mail (Gmail dots and ``+tags`` ignored) records it, again without a
query.
"""

import re
import secrets
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from shared.domain.common import (
    DocumentId,
    Email,
    RequestModel,
    ShortText,
    StoredModel,
    canonical_email,
    stable_id,
)
from shared.domain.leads import Lead, LeadStatus, LeadSubmission, lead_id_for
from shared.errors import Refused

# No 0/O, 1/I/L: codes are read aloud and typed from paper. 31 symbols ** 10 ~ 2 ** 49.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
MAX_USES_LIMIT = 1000  # referred_leads lives in the code's document, so it stays bounded
ATTEMPTS_PER_IP_PER_HOUR = 20


class ReferralStatus(StrEnum):
    ACTIVE = "active"
    USED = "used"
    EXPIRED = "expired"


class Referral(StoredModel):
    code: str
    company_id: str
    status: ReferralStatus = ReferralStatus.ACTIVE
    referrer_lead_id: str
    # Denormalised at creation so a redemption checks self-referral without reading the lead.
    referrer_email: str
    offer_details: str | None = None
    expires_at: datetime | None = None
    max_uses: int = 1
    times_used: int = 0
    referred_leads: list[str] = []
    created_by: str | None = None


def format_code(raw: str) -> str:
    """``ABCDEFGHJK`` -> ``ABCD-EFGH-JK``."""
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def new_code() -> str:
    """A fresh, unguessable code from the operating system's CSPRNG."""
    return format_code("".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)))


def normalize_code(value: str) -> str:
    """What a person typed (any case, spaces or dashes anywhere) as the stored code."""
    raw = re.sub(r"[\s-]", "", value).upper()
    if len(raw) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in raw):
        raise ValueError("not a referral code")
    return format_code(raw)


def _aware(value: datetime | None) -> datetime | None:
    """Naive times are taken as UTC: Firestore stores instants, not wall-clock times."""
    return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value


class RedemptionRequest(RequestModel):
    """A visitor's redemption form: the code and their contact details."""

    form_key: str = Field(min_length=3, max_length=200)
    code: str = Field(max_length=40)
    email: Email
    name: ShortText | None = None
    phone: str | None = Field(default=None, max_length=40)
    message: str | None = Field(default=None, max_length=5000)
    consent: bool = False
    consent_text: str | None = Field(default=None, max_length=2000)
    consent_text_version: str | None = Field(default=None, max_length=50)

    @field_validator("code")
    @classmethod
    def _normalize(cls, value: str) -> str:
        return normalize_code(value)

    def as_submission(self) -> LeadSubmission:
        """The same details as a lead-form submission, so leads are built one way."""
        fields = self.model_dump(exclude={"code"})
        return LeadSubmission.model_validate({**fields, "source": "referral"})


def redemption_from_form(body: dict[str, Any], form_key: str | None) -> dict[str, Any]:
    """A JSON or urlencoded body for ``RedemptionRequest`` (key may come from ``?key=``)."""
    data = {k: v for k, v in body.items() if k in RedemptionRequest.model_fields}
    data.setdefault("form_key", form_key or body.get("key") or "")
    if isinstance(data.get("consent"), str):
        data["consent"] = data["consent"].lower() in ("1", "true", "on", "yes")
    return data


class ReferralCreate(RequestModel):
    """Staff create a code for a referrer, named by lead id or e-mail."""

    company_id: str | None = Field(default=None, max_length=200)
    referrer_lead_id: DocumentId | None = None
    referrer_email: Email | None = None
    offer_details: str | None = Field(default=None, max_length=2000)
    expires_at: datetime | None = None
    max_uses: int = Field(default=10, ge=1, le=MAX_USES_LIMIT)

    @field_validator("expires_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _aware(value)

    @model_validator(mode="after")
    def _has_referrer(self) -> Self:
        if not (self.referrer_lead_id or self.referrer_email):
            raise ValueError("give referrer_lead_id or referrer_email")
        return self

    @property
    def lead_id(self) -> str:
        return self.referrer_lead_id or lead_id_for(self.referrer_email or "")


class ReferralAction(RequestModel):
    company_id: str | None = Field(default=None, max_length=200)
    action: Literal["expire"]
    code: str = Field(max_length=40)

    @field_validator("code")
    @classmethod
    def _normalize(cls, value: str) -> str:
        return normalize_code(value)


def referral_path(company_id: str, code: str) -> str:
    return f"companies/{company_id}/referrals/{code}"


def marker_path(company_id: str, email: str) -> str:
    """Where "this person was referred" is recorded, whichever address variant they use."""
    return f"companies/{company_id}/referral_redemptions/{stable_id(canonical_email(email))}"


def attempts_path(company_id: str, ip: str, now: datetime) -> tuple[str, datetime]:
    """The per-IP counter of this hour's attempts, and when it may be deleted."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    doc_id = f"referral-ip-{stable_id(ip, length=16)}-{hour:%Y%m%d%H}"
    return f"companies/{company_id}/rate_limits/{doc_id}", hour + timedelta(hours=2)


def _refuse(reason: str, message: str) -> Refused:
    return Refused(message, {"reason": reason})


def check_code(referral: Referral, now: datetime) -> None:
    """Raise ``Refused`` unless the code can be redeemed now."""
    expires_at = _aware(referral.expires_at)
    if referral.status is ReferralStatus.EXPIRED or (expires_at and expires_at <= now):
        raise _refuse("expired", "This referral code has expired.")
    if referral.status is ReferralStatus.USED or referral.times_used >= referral.max_uses:
        raise _refuse("used_up", "This referral code has been used as many times as allowed.")


def check_friend(referral: Referral, email: str, lead: Lead | None, referred: bool) -> None:
    """Raise ``Refused`` unless ``email`` may be referred with this code.

    ``referred`` says whether the company's marker for this person exists.
    """
    same_person = canonical_email(email) == canonical_email(referral.referrer_email)
    if same_person or lead_id_for(email) == referral.referrer_lead_id:
        raise _refuse("self_referral", "You cannot redeem your own referral code.")
    if referred or (lead is not None and lead.referred_by):
        raise _refuse("already_referred", "This person has already been referred.")
    if lead is not None and lead.status is LeadStatus.CONVERTED:
        raise _refuse("existing_customer", "Existing customers cannot be referred.")


def redeemed(referral: Referral, lead_id: str, now: datetime) -> Referral:
    """The code after one more use: ``used`` once it reaches ``max_uses``."""
    times_used = referral.times_used + 1
    status = ReferralStatus.USED if times_used >= referral.max_uses else referral.status
    return referral.model_copy(
        update={
            "times_used": times_used,
            "referred_leads": [*referral.referred_leads, lead_id],
            "status": status,
            "updated_at": now,
        }
    )
