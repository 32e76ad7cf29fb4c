"""Newsletter subscriptions with double opt-in, and the signed links that confirm and end
them.

A signup is ``pending`` until the confirmation link mailed to the address is followed;
only then is it ``active``. The link is an HMAC-signed token (``settings.signing_key``)
naming the company, the subscription and the pending signup's nonce, and expiring after
``CONFIRM_TTL``; a signup made again while pending mails the link again (once a day). The
unsubscribe link is signed the same way without an expiry: it works any time, and the
time it was used is kept.
"""

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from msgspec import Struct
from pydantic import Field, field_validator

from shared.domain.common import (
    Email,
    RequestModel,
    ShortText,
    StoredModel,
    normalize_email,
    stable_id,
)
from shared.errors import InvalidInput, Refused

CONFIRM_TTL = timedelta(hours=48)
MAX_TOPICS = 20
Topic = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[\w -]+$")]
Purpose = Literal["confirm", "unsubscribe"]


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class SubscriptionStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"


class SignupRequest(RequestModel):
    form_key: str = Field(min_length=3, max_length=200)
    email: Email
    name: ShortText | None = None
    frequency: Frequency = Frequency.WEEKLY
    topics: list[Topic] = Field(default=[], max_length=MAX_TOPICS)
    website: str | None = Field(default=None, max_length=2000)  # the honeypot
    page_url: str | None = Field(default=None, max_length=2000)

    @field_validator("topics", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """A form posts ``topics=a,b``; JSON clients send a list."""
        if isinstance(value, str):
            return [t.strip() for t in value.split(",") if t.strip()]
        return value


class NewsletterSubscription(StoredModel):
    id: str
    company_id: str
    email: str
    name: str | None = None
    status: SubscriptionStatus
    frequency: Frequency = Frequency.WEEKLY
    topics: list[str] = []
    signup_ip: str | None = None
    signup_page_url: str | None = None
    confirmation_sent_at: datetime | None = None
    confirmed_at: datetime | None = None
    confirmed_ip: str | None = None
    unsubscribed_at: datetime | None = None
    # Names the pending signup its confirmation links belong to; never shown.
    nonce: str | None = Field(default=None, exclude=True)


def merged_topics(kept: list[str], sent: list[str]) -> list[str]:
    """The topics of a signup made again while pending: the earlier ones, then those the
    new signup adds; past ``MAX_TOPICS`` the oldest give way (the latest choice counts)."""
    new = list(dict.fromkeys(sent))
    earlier = [t for t in dict.fromkeys(kept) if t not in new]
    room = max(0, MAX_TOPICS - len(new))
    return earlier[len(earlier) - room :] + new if room else new


def subscription_id(email: str) -> str:
    """One subscription per company and address: derived, so no query is needed."""
    return stable_id("newsletter", normalize_email(email))


def subscription_path(company_id: str, sub_id: str) -> str:
    return f"companies/{company_id}/newsletter_subscriptions/{sub_id}"


class LinkClaims(Struct, frozen=True):
    purpose: Purpose
    company_id: str
    subscription_id: str
    nonce: str = ""
    expires_at: int | None = None  # seconds since the epoch; None: never


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: str, payload: str) -> str:
    # The prefix keeps these signatures apart from anything else signed with the same key.
    digest = hmac.new(key.encode(), f"newsletter-link\x00{payload}".encode(), hashlib.sha256)
    return _b64(digest.digest())


def sign_link(key: str, claims: LinkClaims) -> str:
    """A URL-safe token carrying ``claims`` and their signature."""
    body = [claims.purpose, claims.company_id, claims.subscription_id, claims.nonce]
    payload = _b64(json.dumps([*body, claims.expires_at], separators=(",", ":")).encode())
    return f"{payload}.{_mac(key, payload)}"


def verify_link(key: str, token: str, purpose: Purpose, now: datetime) -> LinkClaims:
    """The claims of a token signed with ``key`` for ``purpose``.

    Raises:
        InvalidInput: The token is damaged, forged or for another purpose.
        Refused: The token has expired.
    """
    payload, _, signature = token.partition(".")
    if not payload or len(token) > 1000 or not hmac.compare_digest(_mac(key, payload), signature):
        raise InvalidInput("This link is not valid; use the one from the e-mail.")
    try:
        kind, company_id, sub_id, nonce, expires = json.loads(_unb64(payload))
    except (ValueError, TypeError, binascii.Error) as err:
        raise InvalidInput("This link is not valid; use the one from the e-mail.") from err
    if kind != purpose:
        raise InvalidInput("This link is not valid here.")
    if expires is not None and now.timestamp() > expires:
        raise Refused("This confirmation link has expired; sign up again for a new one.")
    return LinkClaims(kind, company_id, sub_id, nonce, expires)


def confirmation_text(company: str, confirm_url: str, ttl_hours: int) -> tuple[str, str]:
    subject = f"Confirm your subscription to {company}'s newsletter"
    body = "\n".join(
        [
            f"Please confirm that you want to receive {company}'s newsletter:",
            "",
            confirm_url,
            "",
            f"The link works for {ttl_hours} hours. If you did not sign up, ignore this"
            " e-mail: you will not be subscribed.",
        ]
    )
    return subject, body
