"""What every platform stand-in shares: requests and replies, the record of what was
received and created, the tokens each platform honours, and the faults a test queues.

Nothing here knows a platform's wire format: each platform module turns a refused token,
a queued fault or bad input into its own documented error body.
"""

from __future__ import annotations

import base64
import binascii
import copy
import itertools
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

Json = dict[str, Any]

# What a test can ask a platform to do to its next requests. The numbers are the HTTP
# statuses a test may name instead; each platform answers them with its own error body.
FAULT_KINDS = (
    "expired_token",
    "revoked_token",
    "forbidden",
    "rate_limited",
    "server_error",
    "unavailable",
    "stall",
)
STATUS_FAULTS = {
    401: "expired_token",
    403: "forbidden",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}


@dataclass
class Reply:
    """An HTTP answer: status, headers and the exact body bytes."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
    body = json.dumps(payload).encode()
    return Reply(status, body, {"Content-Type": "application/json", **(headers or {})})


def redirect(location: str) -> Reply:
    """A 302 to ``location``: how OAuth authorization endpoints hand back a code."""
    return Reply(302, b"", {"Location": location, "Content-Type": "text/html"})


def text_reply(status: int, text: str, ctype: str = "text/plain; charset=utf-8") -> Reply:
    return Reply(status, text.encode(), {"Content-Type": ctype})


@dataclass
class Request:
    """One request as a platform sees it: ``path`` is relative to the platform's prefix."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    base_url: str  # e.g. http://127.0.0.1:8690/linkedin

    def arg(self, name: str) -> str | None:
        """A query parameter, else a form field (Graph and Twilio accept either)."""
        values = self.query.get(name) or self.form().get(name)
        return values[0] if values else None

    def form(self) -> dict[str, list[str]]:
        if "application/x-www-form-urlencoded" not in self.headers.get("content-type", ""):
            return {}
        return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)

    def json(self) -> Any:
        """The body as JSON; ``ValueError`` when it is not."""
        return json.loads(self.body.decode("utf-8"))

    def bearer(self) -> str | None:
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "oauth"):  # Graph also takes "OAuth <token>"
            return None
        return value.strip() or None

    def basic(self) -> tuple[str, str] | None:
        """HTTP Basic credentials (user, password), or None when absent or malformed."""
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, sep, password = (
                base64.b64decode(value.strip(), validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            return None
        return (user, password) if sep else None


class BadInput(Exception):
    """Input a platform refuses: its error ``code`` and ``message``, rendered in the
    platform's own error shape."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class Grant:
    """A token a platform honours: issued by its OAuth endpoints or registered by a test."""

    platform: str
    token: str
    subject: str
    scopes: tuple[str, ...] = ()
    expires_at: float | None = None
    revoked: bool = False
    kind: str = "access"  # or "refresh"
    client_id: str = ""
    extra: Json = field(default_factory=dict)


class TokenRefused(Exception):
    """Why a token is not accepted: ``missing``, ``invalid``, ``expired`` or ``revoked``."""

    def __init__(self, reason: str, grant: Grant | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.grant = grant


class Tokens:
    """Every platform's tokens, keyed by (platform, token string); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grants: dict[tuple[str, str], Grant] = {}

    def add(self, grant: Grant) -> Grant:
        with self._lock:
            self._grants[(grant.platform, grant.token)] = grant
        return grant

    def check(self, platform: str, token: str | None, kind: str = "access") -> Grant:
        """The grant behind ``token``; ``TokenRefused`` says why there is none."""
        if not token:
            raise TokenRefused("missing")
        with self._lock:
            grant = self._grants.get((platform, token))
        if grant is None or grant.kind != kind:
            raise TokenRefused("invalid")
        if grant.revoked:
            raise TokenRefused("revoked", grant)
        if grant.expires_at is not None and grant.expires_at <= time.time():
            raise TokenRefused("expired", grant)
        return grant

    def set_state(self, platform: str, token: str, *, expired: bool = False) -> Grant:
        """Expire (``expired=True``) or revoke a token; ``KeyError`` for an unknown one."""
        with self._lock:
            grant = self._grants.get((platform, token))
            if grant is None:
                raise KeyError(f"{token!r} was never granted on {platform}")
            if expired:
                grant.expires_at = time.time() - 1
            else:
                grant.revoked = True
            return grant

    def of(self, platform: str) -> list[Grant]:
        with self._lock:
            return [g for (p, _), g in self._grants.items() if p == platform]

    def clear(self) -> None:
        with self._lock:
            self._grants.clear()


@dataclass
class Fault:
    """What the next ``times`` matching requests get instead of (or after) the answer."""

    kind: str
    times: int = 1
    status: int | None = None  # overrides the platform's own status for this kind
    seconds: float = 5.0  # how long a stall holds the answer back
    path: str = ""  # only requests whose platform-relative path starts with this


class Faults:
    """Faults queued per platform, used up in order by matching requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: dict[str, list[Fault]] = {}

    def add(self, platform: str, fault: Fault) -> None:
        with self._lock:
            self._queued.setdefault(platform, []).append(fault)

    def take(self, platform: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._queued.get(platform, []):
                if path.startswith(fault.path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._queued[platform].remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._queued.clear()


class Records:
    """Every request received and every object created, per platform, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Json] = []
        self._objects: list[Json] = []
        self._ids = itertools.count(1)

    def request(self, platform: str, method: str, path: str, headers: Json, body: bytes) -> Json:
        entry: Json = {"platform": platform, "method": method, "path": path}
        entry |= {"headers": headers, "received_at": time.time(), "body_bytes": len(body)}
        try:
            entry["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            entry["body"] = None  # binary (a media upload): its size is kept
        with self._lock:
            self._requests.append(entry)
        return entry

    def answered(self, entry: Json, status: int, fault: str | None) -> None:
        with self._lock:
            entry["status"] = status
            entry["fault"] = fault

    def create(self, platform: str, kind: str, data: Json) -> Json:
        """Record a created object; returns the stored copy's snapshot."""
        stored = {"platform": platform, "kind": kind, "created_at": time.time()} | data
        with self._lock:
            stored["seq"] = next(self._ids)
            self._objects.append(stored)
            return copy.deepcopy(stored)

    def update(self, platform: str, kind: str, object_id: str, changes: Json) -> Json | None:
        """Change a recorded object; returns its new snapshot, None when there is none."""
        key = (platform, kind, object_id)
        with self._lock:
            for stored in self._objects:
                if (stored["platform"], stored["kind"], stored.get("id")) == key:
                    stored.update(changes)
                    return copy.deepcopy(stored)
        return None

    def objects(self, platform: str | None = None, kind: str | None = None) -> list[Json]:
        with self._lock:
            found = [
                o
                for o in self._objects
                if platform in (None, o["platform"]) and kind in (None, o["kind"])
            ]
            return copy.deepcopy(found)

    def find(self, platform: str, kind: str, object_id: str) -> Json | None:
        found = [o for o in self.objects(platform, kind) if o.get("id") == object_id]
        return found[0] if found else None

    def requests(self, platform: str | None = None) -> list[Json]:
        with self._lock:
            return copy.deepcopy([r for r in self._requests if platform in (None, r["platform"])])

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._objects.clear()
