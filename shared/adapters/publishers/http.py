"""How every publisher calls a platform, and what their answers share.

Each call goes through the pinned connection of ``shared.adapters.webhooks`` (the URL read
once by ``shared.domain.url_safety``, its host's addresses checked, the connection made to
one of them, redirects not followed): the platforms' own base URLs come from settings and
may be on this machine (localcloud's stand-ins); the URLs of WordPress sites and hooks
come from staff and may not, unless ``webhooks_allow_loopback`` says so.

Failures are told apart by whether the platform may have acted: a call that ``acts``
(the one that posts) sent and not answered is ``Unconfirmed`` (the post is looked up, not
sent again); any other call that fails, or one that never left, is ``Transient``.
Each platform module maps its answers to the project's errors (its ``error_for``), with
``retry_time`` for the time a rate limit or an outage names.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from msgspec import Struct

from shared.adapters.webhooks import Answer, HttpWebhooks
from shared.errors import InvalidInput, Refused, Transient, Unconfirmed

log = logging.getLogger("growthkit.publishers")

MAX_ANSWER_BYTES = 4 * 1024 * 1024
USER_AGENT = "growthkit-publishing"

__all__ = ["Answer", "Call", "Http", "retry_time"]


class Http:
    """Calls one platform's API (``label`` names it in errors) with a timeout."""

    def __init__(self, label: str, pinned: HttpWebhooks, timeout: float) -> None:
        self.label = label
        self.pinned = pinned
        self.timeout = timeout

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes = b"",
        acts: bool = False,
        max_bytes: int = MAX_ANSWER_BYTES,
    ) -> Answer:
        """One call; the answer whatever its status (each platform reads its errors).

        Raises:
            Unconfirmed: a call that ``acts`` was sent and not answered. Transient: any
                other call failed, or this one never left. Refused: the URL is refused.
        """
        sent = {"User-Agent": USER_AGENT, "Accept": "application/json", **headers}
        try:
            return self.pinned.request(
                method, url, body=body, headers=sent, timeout=self.timeout, max_bytes=max_bytes
            )
        except Unconfirmed as err:
            log.warning("%s %s: sent, no answer (%s)", self.label, method, err)
            if acts:
                raise Unconfirmed(f"{self.label} did not answer in time.") from err
            raise Transient(f"{self.label} did not answer in time.") from err
        except Transient as err:
            log.warning("%s %s: not sent (%s)", self.label, method, err)
            raise Transient(f"{self.label} could not be reached.") from err
        except InvalidInput as err:
            raise Refused(f"{self.label}: {err.message}") from err

    def json(self, method: str, url: str, payload: Any, **kw: Any) -> Answer:
        headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
        return self.send(method, url, headers=headers, body=json.dumps(payload).encode(), **kw)

    def form(self, url: str, fields: Mapping[str, str], **kw: Any) -> Answer:
        headers = {"Content-Type": "application/x-www-form-urlencoded", **kw.pop("headers", {})}
        return self.send("POST", url, headers=headers, body=urlencode(fields).encode(), **kw)


class Call(Struct, frozen=True):
    """One publisher's call: its HTTP client, the connection's details and secrets, the
    platforms' settings, and the time (for rate limits' waits)."""

    http: Http
    connection: Any  # shared.adapters.publishers.connections.Connection
    config: Any  # shared.adapters.publishers.connections.PlatformConfig
    now: datetime


def body_of(answer: Answer) -> Any:
    """The answer's JSON, or None when it has none."""
    try:
        return json.loads(answer.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def ok(answer: Answer) -> bool:
    return 200 <= answer.status < 300


def retry_time(answer: Answer, now: datetime, default: timedelta | None = None) -> datetime | None:
    """When to call again: ``Retry-After`` (seconds or an HTTP date), else ``now +
    default`` (None without one)."""
    value = answer.headers.get("retry-after", "").strip()
    if value.isdigit():
        return now + timedelta(seconds=min(int(value), 86_400))
    if value:
        try:
            at = parsedate_to_datetime(value)
            return at if at.tzinfo else at.replace(tzinfo=UTC)
        except (TypeError, ValueError):
            log.info("unreadable Retry-After %r", value)
    return now + default if default is not None else None


def text_of(answer: Answer, limit: int = 300) -> str:
    """A short, printable excerpt of a non-JSON answer (an HTML error page...)."""
    text = " ".join(answer.body.decode("utf-8", "replace").split())
    return text[:limit] or f"HTTP {answer.status}"
