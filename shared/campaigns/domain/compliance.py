"""Compliant marketing: who may not be contacted, when, how often, and signed links.

A *suppression* (do-not-contact record) is kept per channel and address at
``companies/{c}/suppressions/{channel}-{address id}``: an address, not a lead, is what
receives a message, so a lead and an outreach contact sharing an address share it too.
Frequency caps count marketing messages per channel and address in fixed windows
(``companies/{c}/frequency_counters/{channel}-{address id}-{window}``). SMS keeps quiet
hours on the recipient's clock. Links in messages carry HMAC-signed tokens.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.domain.common import NOT_AN_ADDRESS, StoredModel, mailbox_of, stable_id
from shared.errors import InvalidInput

Channel = Literal["email", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")
# Opt-out words a carrier or regulator recognises; the first word of a reply decides, so
# "Stop texting me" opts out too (over-suppressing is the safe side of the law).
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE"})
START_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
SmsKeyword = Literal["stop", "start", "help"]
MAX_TOKEN_CHARS = 4096
_SIGNATURE_BYTES = 16


class SuppressionReason(StrEnum):
    UNSUBSCRIBED = "unsubscribed"  # the link or List-Unsubscribe in an e-mail
    SMS_STOP = "sms_stop"  # a STOP (or similar) reply
    MANUAL = "manual"  # staff recorded a do-not-contact request
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class Suppression(StoredModel):
    """A do-not-contact record: marketing on ``channel`` to ``address`` is not sent."""

    id: str
    company_id: str
    channel: Channel
    address: str
    reason: SuppressionReason
    lead_id: str | None = None
    contact_id: str | None = None
    source: str = ""  # what recorded it: unsubscribe_link, one_click, sms_keyword, staff
    send_id: str | None = None  # the message it was answered from, when known
    detail: str | None = None


def normalize_phone(value: str) -> str:
    """``+`` and digits only: ``+1 (555) 010-2030`` and ``+15550102030`` are one number."""
    digits = re.sub(r"\D", "", value)
    return f"+{digits}" if value.strip().startswith("+") else digits


def normalize_address(channel: Channel, address: str) -> str:
    """The form suppressions and caps are keyed by: a number's digits; an e-mail's plain
    address, where one stored before addresses were read strictly (``<jane@x.com>``)
    counts as the address it reached, so its opt-out and its sends meet one record.

    Raises:
        ValueError: an e-mail value naming no address.
    """
    if channel == "sms":
        return normalize_phone(address)
    found = mailbox_of(address)
    if found is None:
        raise ValueError(NOT_AN_ADDRESS)
    return found


def address_id(channel: Channel, address: str) -> str:
    """The stable id of an address on a channel (ids never show the address itself)."""
    return stable_id(channel, normalize_address(channel, address))


def suppression_id(channel: Channel, address: str) -> str:
    return f"{channel}-{address_id(channel, address)}"


def suppression_path(company_id: str, channel: Channel, address: str) -> str:
    return f"companies/{company_id}/suppressions/{suppression_id(channel, address)}"


def sms_keyword(body: str) -> SmsKeyword | None:
    """What an inbound SMS asks: opting out (its first word is a stop word), back in, or
    for help (those only as the whole message, so a chatty reply never resubscribes)."""
    words = re.sub(r"[^\w\s]", " ", body).upper().split()
    if not words:
        return None
    if words[0] in STOP_WORDS or words[:2] == ["OPT", "OUT"]:
        return "stop"
    if len(words) == 1 and words[0] in START_WORDS:
        return "start"
    if len(words) == 1 and words[0] in HELP_WORDS:
        return "help"
    return None


def zone_of(recipient: dict[str, Any], default: str) -> ZoneInfo:
    """The recipient's time zone (``timezone``, ``time_zone``, or either among custom
    fields), else ``default``, else UTC; an unknown name falls through."""
    custom = recipient.get("custom_fields") or {}
    custom = custom if isinstance(custom, dict) else {}
    names = (
        recipient.get("timezone"),
        recipient.get("time_zone"),
        custom.get("timezone"),
        custom.get("time_zone"),
        default,
    )
    for name in names:
        if isinstance(name, str) and name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def quiet_until(now: datetime, zone: ZoneInfo, start_hour: int, end_hour: int) -> datetime | None:
    """None when ``now`` is within sending hours (``start_hour`` to ``end_hour`` on the
    recipient's clock); else the next ``start_hour:00`` there, in UTC."""
    local = now.astimezone(zone)
    if start_hour <= local.hour < end_hour:
        return None
    day = local.date() if local.hour < start_hour else local.date() + timedelta(days=1)
    opens = datetime(day.year, day.month, day.day, start_hour, tzinfo=zone)
    return opens.astimezone(UTC)


def cap_window(now: datetime, days: int) -> int:
    """The number of the fixed ``days``-long window holding ``now`` (from the epoch)."""
    return int(now.timestamp() // (days * 86400))


def cap_counter_path(
    company_id: str, channel: Channel, address: str, now: datetime, days: int
) -> str:
    return cap_counter_path_of(company_id, channel, address_id(channel, address), now, days)


def cap_counter_path_of(
    company_id: str, channel: Channel, address_key: str, now: datetime, days: int
) -> str:
    """The counter of the address whose ``address_id`` is ``address_key``."""
    name = f"{channel}-{address_key}-{days}d{cap_window(now, days)}"
    return f"companies/{company_id}/frequency_counters/{name}"


# --- signed tokens ---------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, body: str) -> bytes:
    return hmac.new(key, body.encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def sign(payload: dict[str, Any], key: bytes) -> str:
    """``payload`` as a URL-safe token: compact JSON, then a 128-bit HMAC-SHA256."""
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_b64(_mac(key, body))}"


def unsign(token: str, key: bytes, purpose: str) -> dict[str, Any]:
    """The payload of a token this code signed for ``purpose`` (its ``p``).

    Raises:
        InvalidInput: the token is damaged, forged, or made for another purpose.
    """
    bad = InvalidInput("This link is not valid (damaged or not ours).")
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise bad
    body, signature = token.split(".")
    try:
        valid = hmac.compare_digest(_unb64(signature), _mac(key, body))
        payload = json.loads(_unb64(body)) if valid else None
    except (ValueError, binascii.Error) as err:
        raise bad from err
    if not isinstance(payload, dict) or payload.get("p") != purpose:
        raise bad
    return payload
