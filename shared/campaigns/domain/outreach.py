"""Outreach to businesses: the businesses and their contacts, a CSV row, and the messages.

Businesses (``companies/{c}/businesses/{id}``) and their contacts
(``companies/{c}/outreach_contacts/{id}``) have ids derived from what makes them the same:
a business from its normalised name and domain, a contact from its normalised e-mail, so
an import never makes a second one. Outreach messages
(``companies/{c}/outreach_messages/{id}``) are one per campaign, business, contact and
platform, again by a derived id.
"""

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, field_validator, model_validator

from shared.campaigns.domain.outreach_keys import MessageStatus
from shared.domain.common import (
    ONE_LINE,
    DeferredModel,
    Email,
    StoredModel,
    normalize_email,
    stable_id,
)
from shared.domain.consent import LawfulBasis

MAX_CUSTOM_COLUMNS = 30
MAX_ROWS = 5000
# Legal forms say nothing about which business it is: "Acme Ltd" is "Acme".
_LEGAL_FORMS = {
    "inc", "incorporated", "llc", "ltd", "limited", "co", "corp", "corporation", "company",
    "gmbh", "ag", "sa", "sas", "sarl", "bv", "nv", "plc", "pty", "srl", "oy", "ab", "as",
}  # fmt: skip
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalize_business_name(name: str) -> str:
    """Case, accents, punctuation, spacing and a trailing legal form do not count."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", " ", plain.casefold().replace("&", " and ")).split()
    while len(words) > 1 and words[-1] in _LEGAL_FORMS:
        words.pop()
    return " ".join(words)


def normalize_domain(value: str) -> str:
    """``https://www.Acme.example/about`` -> ``acme.example``; ValueError if not a host."""
    text = value.strip().lower()
    host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
    host = host.rstrip(".").removeprefix("www.")
    if not _HOST.match(host):
        raise ValueError("not a domain name (e.g. acme.example)")
    return host


def business_id(name: str, domain: str | None) -> str:
    return stable_id("business", normalize_business_name(name), domain or "")


def contact_id(email: str) -> str:
    return stable_id("contact", normalize_email(email))


def business_path(company_id: str, business: str) -> str:
    return f"companies/{company_id}/businesses/{business}"


def contact_path(company_id: str, contact: str) -> str:
    return f"companies/{company_id}/outreach_contacts/{contact}"


def _zone(value: str | None) -> str | None:
    if value:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError("not a time zone (e.g. Europe/Paris)") from err
    return value


class Business(StoredModel):
    id: str
    company_id: str
    name: str
    name_normalized: str = ""
    domain: str | None = None
    industry: str | None = None
    city: str | None = None
    country: str | None = None
    phone: str | None = None
    timezone: str | None = None
    custom_fields: dict[str, Any] = {}
    source: str = "import"
    import_id: str | None = None


class Contact(StoredModel):
    id: str
    company_id: str
    business_id: str | None = None
    email: str
    email_normalized: str = ""
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    phone: str | None = None
    timezone: str | None = None
    custom_fields: dict[str, Any] = {}
    # The basis for marketing e-mail to them, as staff recorded it (an import's row, the
    # API: shared.domain.consent); read as stored, checked where it is used.
    lawful_basis: dict[str, Any] | str | None = None
    source: str = "import"
    import_id: str | None = None


# Labels that may end in a subject ({{ contact.first_name }}, {{ business.name }}).
Label = Annotated[str, Field(max_length=200), ONE_LINE]
Text = Label | None


class ImportRow(DeferredModel):
    """One CSV row (blank cells left out): a business, and optionally one of its contacts
    (``contact_*``). Columns not listed here become the business's ``custom_fields``."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid", frozen=True)

    business_name: Annotated[str, Field(min_length=1, max_length=200), ONE_LINE]
    domain: str | None = Field(default=None, max_length=2000)
    industry: Text = None
    city: Text = None
    country: Text = None
    phone: str | None = Field(default=None, max_length=40)
    timezone: str | None = Field(default=None, max_length=64)
    contact_email: Email | None = None
    contact_first_name: Text = None
    contact_last_name: Text = None
    contact_title: Text = None
    contact_phone: str | None = Field(default=None, max_length=40)
    contact_lawful_basis: LawfulBasis | None = None
    custom_fields: dict[str, str] = Field(default={}, max_length=MAX_CUSTOM_COLUMNS)

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        return normalize_domain(value) if value else None

    _zone = field_validator("timezone")(classmethod(lambda cls, v: _zone(v)))

    @model_validator(mode="after")
    def _contact_needs_email(self) -> Self:
        named = (self.contact_first_name, self.contact_last_name, self.contact_title)
        if self.contact_email is None and any(
            (*named, self.contact_phone, self.contact_lawful_basis)
        ):
            raise ValueError("contact_email is required for a contact")
        return self


COLUMNS = tuple(name for name in ImportRow.model_fields if name != "custom_fields")


class OutreachMessage(StoredModel):
    """One message of a campaign to one contact of one business on one platform."""

    id: str
    company_id: str
    campaign_id: str
    business_id: str = ""
    contact_id: str
    platform: str
    status: MessageStatus = MessageStatus.PENDING
    to: str = ""
    subject: str = ""
    send_id: str = ""
    error: str | None = None
    sent_at: datetime | None = None
    opened_at: datetime | None = None
    clicked_at: datetime | None = None
    replied_at: datetime | None = None
