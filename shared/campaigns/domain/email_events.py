"""What e-mail providers tell us about marketing mail after it left: deliveries, bounces,
spam complaints and replies, in one provider-neutral format.

Every marketing e-mail carries a *send reference*: a token signed with
``settings.signing_key`` naming the company and the send (``outreach_sends/{id}``). It is
the ``X-GrowthKit-Send`` header and the local part of the ``Message-ID``
(``<reference@sender-domain>``), so a provider's event (which names the Message-ID) and a
reply (whose ``In-Reply-To`` or ``References`` names it) lead back to the send.
``read_send_reference`` accepts either form, with or without angle brackets.

The reference is the only way an event reaches a company: an address proves nothing (a
reply's From is whatever its sender wrote, and several companies may mail one person), so
an event naming no reference of ours is never filed under a tenant.

The webhook's body is ``{"events": [...]}`` (``EmailEventBatch``), signed with
``X-GrowthKit-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` under
``settings.email_events_secret``.
"""

import hashlib
import hmac
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Field, field_validator, model_validator

from shared.campaigns.domain.compliance import unsign
from shared.campaigns.domain.tracking import SEND_PURPOSE
from shared.domain.common import DeferredModel, normalize_email, stable_id
from shared.errors import InvalidInput

SIGNATURE_HEADER = "X-GrowthKit-Signature"
MAX_EVENTS = 100
MAX_ADDRESS_CHARS = 320
MAX_REFERENCES = 100
# What is kept of a reply: enough to read it on the lead's timeline, not a mailbox.
REPLY_TEXT_CHARS = 5000
REPLY_SUBJECT_CHARS = 300
DETAIL_CHARS = 500

EmailEventType = Literal["delivered", "bounced", "complained", "replied"]


def read_send_reference(value: str | None, key: bytes) -> tuple[str, str] | None:
    """(company, send) from ``<reference@domain>``, ``reference@domain`` or the bare
    reference; None when it is not one of ours (another sender's id, forged, damaged)."""
    text = (value or "").strip().strip("<>").strip()
    token = text.rpartition("@")[0] if "@" in text else text
    try:
        payload = unsign(token, key, SEND_PURPOSE)
    except InvalidInput:
        return None
    company_id, send_id = payload.get("c"), payload.get("s")
    if isinstance(company_id, str) and company_id and isinstance(send_id, str) and send_id:
        return company_id, send_id
    return None


def signature(body: bytes, secret: str) -> str:
    """The ``X-GrowthKit-Signature`` value of ``body``: ``sha256=`` and the hex HMAC."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def valid_signature(body: bytes, given: str, secret: str) -> bool:
    return hmac.compare_digest(signature(body, secret).encode(), given.strip().encode())


def _address(value: str | None) -> str | None:
    if value is None:
        return None
    address = normalize_email(value)
    local, at, domain = address.partition("@")
    if not (local and at and domain) or any(c.isspace() for c in address):
        raise ValueError("not an e-mail address")
    return address


class EmailReply(DeferredModel):
    """A reply to a marketing e-mail, as the provider's inbound parsing read it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from", min_length=3, max_length=MAX_ADDRESS_CHARS)
    subject: str = Field("", max_length=2000)
    text: str = Field("", max_length=50_000)

    @field_validator("from_")
    @classmethod
    def _from_address(cls, value: str) -> str:
        return _address(value) or value


class EmailEvent(DeferredModel):
    """One event about a message we sent.

    ``message_id`` is the sent message's ``Message-ID`` (a reply's ``In-Reply-To``) or
    its ``X-GrowthKit-Send`` header; ``references`` a reply's ``References`` (its
    message ids, as a list or as the header's text). The event goes to the send the first
    of those that is ours names; none: it is unmatched (``recipient``, or ``reply.from``,
    is kept for operators, never used to find a send). ``event_id`` is the provider's id
    of the event: a retried webhook keeps it, so the event acts once (without one, an id
    is derived from the event's content).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: EmailEventType
    event_id: str | None = Field(None, min_length=1, max_length=200)
    message_id: str | None = Field(None, max_length=1000)
    references: list[Annotated[str, Field(max_length=1000)]] = Field([], max_length=MAX_REFERENCES)
    recipient: str | None = Field(None, max_length=MAX_ADDRESS_CHARS)
    bounce_type: Literal["hard", "soft"] | None = None
    detail: str | None = Field(None, max_length=2000)
    reply: EmailReply | None = None
    occurred_at: datetime | None = None

    @field_validator("recipient")
    @classmethod
    def _recipient_address(cls, value: str | None) -> str | None:
        return _address(value)

    @field_validator("references", mode="before")
    @classmethod
    def _header_text(cls, value: Any) -> Any:
        """The header as it is written (ids separated by white space) is a list too."""
        return value.split() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.type == "bounced" and self.bounce_type is None:
            raise ValueError("bounce_type (hard or soft) is required for a bounce")
        if self.type == "replied" and self.reply is None:
            raise ValueError("reply ({from, subject, text}) is required for a reply")
        if not (self.message_id or self.references or self.address):
            raise ValueError("message_id, references or recipient is required")
        return self

    def named_messages(self) -> list[str]:
        """The message ids the event names, the likeliest to be ours first: the one it
        is about (In-Reply-To), then References from the latest back to the first."""
        return [*([self.message_id] if self.message_id else []), *reversed(self.references)]

    @property
    def address(self) -> str | None:
        """Whom the event is about: the recipient, or who replied."""
        return self.recipient or (self.reply.from_ if self.reply else None)

    def key(self) -> str:
        """The event's idempotency key (its id, or one derived from what it says)."""
        if self.event_id:
            return stable_id("email-event", self.event_id)
        reply = self.reply
        parts = [
            self.type,
            self.message_id or "",
            *self.references,
            self.address or "",
            self.bounce_type or "",
            self.occurred_at.isoformat() if self.occurred_at else "",
            *((reply.subject, reply.text) if reply else ()),
        ]
        return stable_id("email-event-derived", *parts)


class EmailEventBatch(DeferredModel):
    """The webhook's body: up to 100 events."""

    model_config = ConfigDict(extra="forbid")

    events: list[EmailEvent] = Field(min_length=1, max_length=MAX_EVENTS)
