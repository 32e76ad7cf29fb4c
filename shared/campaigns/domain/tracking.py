"""Open and click tracking: signed links, the pixel, and telling people from machines.

A marketing message's links point at ``track_click`` with a token naming the send, the
original URL and when it was issued, signed, so the redirect only ever goes to a URL that
was in the message, for ``CLICK_MAX_AGE`` (then the link is refused with a page). Only
links staff wrote are linked and tracked: a URL that came with a value filled into the
template (a visitor's name or form field, say) stays plain text, or the platform would
sign and redirect to whatever a visitor typed. Its HTML part loads a 1x1 GIF from
``track_open``. Every hit is recorded, but hits that are
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

from shared.campaigns.domain.compliance import sign

HitKind = Literal["open", "click"]
SEND_PURPOSE = (
    "send"  # the reference a marketing e-mail carries (shared.campaigns.domain.email_events)
)
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
# How long a click link redirects (``settings.click_link_max_age_days``, by default).
CLICK_MAX_AGE = timedelta(days=365)
# The (start, end) spans of a text that were filled in from values, not written by staff.
# None: where the text came from is not known, so none of it is staff's.
Spans = tuple[tuple[int, int], ...]


class LinkSigner(Struct, frozen=True):
    """Makes the signed links of outgoing messages (``base_url``: where the functions are)."""

    base_url: str
    key: bytes

    def _url(self, function: str, payload: dict[str, Any]) -> str:
        token = sign(payload, self.key)
        return f"{self.base_url.rstrip('/')}/{function}?{urlencode({'t': token})}"

    def open_url(self, company_id: str, send_id: str) -> str:
        return self._url("track_open", {"p": "open", "c": company_id, "s": send_id})

    def click_url(self, company_id: str, send_id: str, url: str, issued: datetime) -> str:
        """``issued``: when the link was made (its age is checked on each click)."""
        payload = {"p": "click", "c": company_id, "s": send_id, "u": url}
        return self._url("track_click", {**payload, "i": int(issued.timestamp())})

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


def staff_links(text: str, filled: Spans | None) -> list[tuple[int, int]]:
    """The (start, end) of each URL of ``text`` that staff wrote: its scheme, host and
    the character ending the host are outside every filled span (what follows the host
    may be filled in: ``https://acme.example/book?name={name}``). Over-long URLs are
    left out, as are all URLs when ``filled`` is None."""
    found = []
    for match in _URL.finditer(text):
        start, end = match.start(), match.start() + len(match.group(0).rstrip(_TRAILING))
        origin = _origin_end(text, start, end)
        ours = filled is not None and not any(s < origin and start < e for s, e in filled)
        if ours and end - start <= MAX_URL_CHARS:
            found.append((start, end))
    return found


def _origin_end(text: str, start: int, end: int) -> int:
    """Where the URL at ``text[start:end]`` stops naming its site: just after the
    ``/``, ``?`` or ``#`` that ends its host, else its end."""
    host = text.index("//", start) + 2
    ends = [i for i in (text.find(c, host, end) for c in "/?#") if i >= 0]
    return min(ends) + 1 if ends else end


def rewrite_links(text: str, replace: Callable[[str], str], filled: Spans | None) -> str:
    """``text`` with each URL staff wrote replaced by ``replace(url)`` (``staff_links``)."""
    parts, last = [], 0
    for start, end in staff_links(text, filled):
        parts += [text[last:start], replace(text[start:end])]
        last = end
    return "".join([*parts, text[last:]])


def text_to_html(
    text: str, replace: Callable[[str], str], pixel_url: str | None, filled: Spans | None
) -> str:
    """A minimal HTML part for a text message: escaped, the links staff wrote clickable
    (through ``replace``), line breaks kept, and the open pixel at the end."""
    parts, last = [], 0
    for start, end in staff_links(text, filled):
        url = text[start:end]
        parts.append(html.escape(text[last:start]))
        parts.append(f'<a href="{html.escape(replace(url))}">{html.escape(url)}</a>')
        last = end
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


_HREF = re.compile(r'href="([^"]*)"')


def tracked_hrefs(page: str, replace: Callable[[str], str], allowed: tuple[str, ...]) -> str:
    """An HTML ``page`` with each ``href`` whose URL staff wrote (``allowed``, as the
    attribute reads unescaped) through ``replace``; any other link is left untracked."""

    def one(match: re.Match[str]) -> str:
        url = html.unescape(match.group(1))
        if url not in allowed:
            return match.group(0)
        return f'href="{html.escape(replace(url))}"'

    return _HREF.sub(one, page)
