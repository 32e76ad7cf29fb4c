"""Companies (the tenants) and the settings the functions read from them."""

import hmac
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import Field

from shared.domain.common import DeferredModel, HeaderUrl, StoredModel, is_document_id


class CompanySettings(DeferredModel):
    min_submit_seconds: float = 3.0
    submissions_per_ip_per_hour: int = 20
    submissions_per_company_per_minute: int = 120
    # Website analytics events one IP address may send per hour (shared office NATs too).
    events_per_ip_per_hour: int = 1000
    thank_you_url: str | None = None
    review_cooldown_days: int = 180
    review_reminders: int = 2
    review_reminder_interval_hours: float = 72.0
    review_on_conversion: bool = False
    default_review_platform: str = "google"
    review_urls: dict[str, str] = {}
    review_message_template: str = (
        "Hi {name}, thank you for choosing {company}! Would you share your experience? {url}"
    )
    # The company's wall clock: the posting queue's times, and workflow waits for leads
    # without a time zone of their own.
    time_zone: str = "UTC"
    # Scoring: tell the lead's assignee when the score reaches this (None: never).
    score_notify_at: int | None = None
    # Each new lead is e-mailed to its assignee, or to every admin while it has none
    # (`growthkit company create` turns it on).
    notify_new_leads: bool = False
    # Scoring: engagement points lose this percentage every ``engagement_decay_days``
    # days without new engagement (0: no decay).
    engagement_decay_percent: float = Field(default=0.0, ge=0, le=100)
    engagement_decay_days: int = Field(default=30, ge=1, le=365)
    # Marketing (campaigns and workflows): the sender's postal address goes in every
    # marketing e-mail's footer; without one, marketing e-mail is refused.
    postal_address: str | None = Field(default=None, max_length=500)
    # At most ``frequency_cap`` marketing messages per channel and address in each
    # ``frequency_cap_days`` window, across every campaign and workflow.
    frequency_cap: int = Field(default=5, ge=1, le=1000)
    frequency_cap_days: int = Field(default=7, ge=1, le=90)
    # Marketing SMS goes out only from ``quiet_hours_start`` to ``quiet_hours_end`` on the
    # recipient's clock; one due outside them waits for the next start hour.
    quiet_hours_start: int = Field(default=8, ge=0, le=23)
    quiet_hours_end: int = Field(default=21, ge=1, le=24)
    # Campaign throttle per channel: messages in each ``send_window_seconds``.
    send_rate_email: int = Field(default=50, ge=1, le=1000)
    send_rate_sms: int = Field(default=20, ge=1, le=1000)
    send_window_seconds: int = Field(default=60, ge=1, le=3600)
    sms_help_text: str = Field(
        default="{company}: marketing messages. Reply STOP to opt out, START to opt back in."
        " Msg & data rates may apply.",
        max_length=320,
    )
    # Consultations: reminders to the attendee this many hours before the start.
    consultation_reminder_hours: list[float] = Field(
        default_factory=lambda: [24.0, 1.0], max_length=5
    )


class CompanySettingsFields(CompanySettings):
    """Settings as admins write them: stricter where a value ends in a header. Stored
    settings are read as ``CompanySettings``, so one written before a check was added
    still loads (and is checked where it is used)."""

    thank_you_url: HeaderUrl | None = None


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    TRIAL = "trial"
    EXPIRED = "expired"


class Subscription(DeferredModel):
    """Billing's record of the plan: staff read it, only billing changes it."""

    tier: str = "free"
    status: SubscriptionStatus = SubscriptionStatus.TRIAL
    trial_ends_at: datetime | None = None


class RetiredFormKey(DeferredModel):
    """A form key a rotation replaced: pages still carrying it keep working until
    ``valid_until``, so a site can be updated without losing a submission."""

    key: str
    valid_until: datetime


class Company(StoredModel):
    id: str
    name: str = ""
    industry: str | None = None
    website: str | None = None
    logo_url: str | None = None
    subscription: Subscription = Field(default_factory=Subscription)
    public_form_key: str = ""
    retired_form_keys: list[RetiredFormKey] = []
    allowed_origins: list[str] = []
    settings: CompanySettings = Field(default_factory=CompanySettings)

    def form_key_matches(self, key: str, now: datetime) -> bool:
        """The current key, or a retired one still in its grace period at ``now``."""
        if self.public_form_key and hmac.compare_digest(self.public_form_key, key):
            return True
        # Every retired key is compared (no early exit), so timing says nothing of which.
        live = [
            hmac.compare_digest(r.key, key) and now < r.valid_until for r in self.retired_form_keys
        ]
        return any(live)


def new_form_key(company_id: str) -> str:
    """``{companyId}.{secret}``: the company is found from the key without a lookup."""
    return f"{company_id}.{secrets.token_urlsafe(18)}"


MAX_FORM_KEY_GRACE = timedelta(days=90)


def rotated_form_keys(company: Company, now: datetime, grace: timedelta) -> dict[str, Any]:
    """The fields of ``company`` after a rotation: a new key, the current one retired
    until ``now + grace``, and retired keys whose grace ran out dropped.

    Raises:
        ValueError: a negative grace, or one longer than ``MAX_FORM_KEY_GRACE``.
    """
    if not timedelta(0) <= grace <= MAX_FORM_KEY_GRACE:
        raise ValueError(f"the grace period must be 0 to {MAX_FORM_KEY_GRACE.days} days")
    kept = [r for r in company.retired_form_keys if now < r.valid_until]
    if company.public_form_key and grace:
        kept.append(RetiredFormKey(key=company.public_form_key, valid_until=now + grace))
    return {
        "public_form_key": new_form_key(company.id),
        "retired_form_keys": [r.model_dump() for r in kept],
    }


def company_id_from_form_key(key: str) -> str | None:
    company_id, dot, secret = key.rpartition(".")
    return company_id if dot and secret and is_document_id(company_id) else None


def company_path(company_id: str) -> str:
    return f"companies/{company_id}"
