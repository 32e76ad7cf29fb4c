"""Open and click tracking: signed links, the pixel, and telling people from machines.

A marketing message's links point at ``track_click`` with a token naming the send and the
original URL, signed, so the redirect only ever goes to a URL that was in the message; its
HTML part loads a 1x1 GIF from ``track_open``. Every hit is recorded, but hits that are
obviously not a person reading (a link scanner following every link seconds after
delivery, a known scanner's user agent, Apple Mail Privacy Protection fetching every
image) do not count as engagement.
"""

from __future__ import annotations

import base64
import html
import ipaddress
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from msgspec import Struct

from shared.domain.compliance import sign

HitKind = Literal["open", "click"]
SEND_PURPOSE = "send"  # the reference a marketing e-mail carries (shared.domain.email_events)
# A transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
# Security gateways follow every link of a message within seconds of its delivery.
SCANNER_WINDOW = timedelta(seconds=10)
_SCANNER_AGENTS = re.compile(
    r"barracuda|mimecast|proofpoint|messagelabs|symantec|safelinks|forcepoint|trendmicro"
    r"|fortiguard|sophos|paloalto|cisco|ironport|zscaler|urlscan|linkchecker|bingpreview"
    r"|headlesschrome|phantomjs|python-requests|python-urllib|curl/|wget/|go-http-client"
    r"|java/|okhttp|libwww|scrapy|slackbot|facebookexternalhit|twitterbot|bot\b|spider"
    r"|crawler|preview",
    re.IGNORECASE,
)
# Apple's privacy proxy fetches images from Apple's own network with a bare user agent.
_APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")
_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}"
MAX_URL_CHARS = 2000


class LinkSigner(Struct, frozen=True):
    """Makes the signed links of outgoing messages (``base_url``: where the functions are)."""

    base_url: str
    key: bytes

    def _url(self, function: str, payload: dict[str, Any]) -> str:
        token = sign(payload, self.key)
        return f"{self.base_url.rstrip('/')}/{function}?{urlencode({'t': token})}"

    def open_url(self, company_id: str, send_id: str) -> str:
        return self._url("track_open", {"p": "open", "c": company_id, "s": send_id})

    def click_url(self, company_id: str, send_id: str, url: str) -> str:
        return self._url("track_click", {"p": "click", "c": company_id, "s": send_id, "u": url})

    def send_reference(self, company_id: str, send_id: str) -> str:
        """The signed reference of a send (URL-safe base64 and one dot: also a valid
        Message-ID local part)."""
        return sign({"p": SEND_PURPOSE, "c": company_id, "s": send_id}, self.key)

    def unsubscribe_url(self, company_id: str, channel: str, address: str, send_id: str) -> str:
        payload = {"p": "unsub", "c": company_id, "ch": channel, "a": address, "s": send_id}
        return self._url("unsubscribe", payload)


def links_in(text: str) -> list[str]:
    """The http(s) URLs in a text body, without trailing punctuation, in order."""
    return [m.rstrip(_TRAILING) for m in _URL.findall(text)]


def rewrite_links(text: str, replace: Callable[[str], str]) -> str:
    """``text`` with each http(s) URL replaced by ``replace(url)`` (over-long URLs kept)."""

    def one(match: re.Match[str]) -> str:
        found = match.group(0)
        url = found.rstrip(_TRAILING)
        if len(url) > MAX_URL_CHARS:
            return found
        return replace(url) + found[len(url) :]

    return _URL.sub(one, text)


def text_to_html(text: str, replace: Callable[[str], str], pixel_url: str | None) -> str:
    """A minimal HTML part for a text message: escaped, links clickable (through
    ``replace``), line breaks kept, and the open pixel at the end."""
    parts, last = [], 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        parts.append(html.escape(text[last : match.start()]))
        target = replace(url) if len(url) <= MAX_URL_CHARS else url
        parts.append(f'<a href="{html.escape(target)}">{html.escape(url)}</a>')
        last = match.start() + len(url)
    parts.append(html.escape(text[last:]))
    body = "".join(parts).replace("\n", "<br>\n")
    pixel = f'<img src="{html.escape(pixel_url)}" width="1" height="1" alt="">' if pixel_url else ""
    return f"<!doctype html>\n<html><body>\n{body}\n{pixel}</body></html>\n"


def bot_reason(
    kind: HitKind,
    *,
    method: str,
    user_agent: str,
    ip: str,
    sent_at: datetime | None,
    now: datetime,
) -> str | None:
    """Why a hit is a machine's (recorded, not counted), or None for a person's."""
    if method == "HEAD":
        return "head_request"
    if not user_agent.strip():
        return "no_user_agent"
    if _SCANNER_AGENTS.search(user_agent):
        return "scanner_user_agent"
    if kind == "open" and (user_agent.strip() == "Mozilla/5.0" or _in_apple_network(ip)):
        return "apple_mail_privacy_proxy"
    if kind == "click" and sent_at is not None and now - sent_at < SCANNER_WINDOW:
        return "seconds_after_sending"
    return None


def _in_apple_network(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip) in _APPLE_NETWORK
    except ValueError:
        return False


def hit_id(send_id: str, kind: HitKind, at: datetime, nonce: str) -> str:
    """Tracking events are kept one per hit; the id orders them by send and time."""
    return f"{send_id}-{kind}-{int(at.timestamp() * 1000)}-{nonce}"
