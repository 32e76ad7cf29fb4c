"""A generic webhook sink: ``POST /hooks/<name>`` records JSON deliveries.

A hook configured with a secret (``configure(name, secret=...)``) checks the signature
header: ``sha256=`` and the hex HMAC-SHA256, under the secret, of the timestamp header's
value, a dot, and the raw body (the scheme Stripe and others use, so a replayed body with
a new timestamp fails). A timestamp further than ``tolerance`` seconds from now is refused
too. Set ``timestamp_header=None`` to sign the body alone (``X-GrowthKit-Signature`` as
the email-events endpoint checks it). A refused delivery is a 401 and is not recorded as a
delivery (the request log still has it). ``GET /hooks/<name>`` lists the deliveries.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import threading
import time
from dataclasses import dataclass
from typing import Any

from localcloud.platforms.core import Reply, Request, json_reply
from localcloud.platforms.hub import Platform

_IDS = itertools.count(1)


@dataclass
class HookConfig:
    secret: str | None = None
    signature_header: str = "X-GrowthKit-Signature"
    timestamp_header: str | None = "X-GrowthKit-Timestamp"
    tolerance: float = 300.0
    status: int = 200  # what a good delivery is answered with


def sign(secret: str, body: bytes, timestamp: str | None = None) -> str:
    """The signature header value this sink expects for ``body`` (and ``timestamp``)."""
    signed = (f"{timestamp}.".encode() if timestamp is not None else b"") + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


class Hooks(Platform):
    name = "hooks"
    primary = "delivery"

    def __init__(self, hub: Any) -> None:
        super().__init__(hub)
        self._lock = threading.Lock()
        self._configs: dict[str, HookConfig] = {}

    def configure(self, name: str, **settings: Any) -> HookConfig:
        config = HookConfig(**settings)
        with self._lock:
            self._configs[name] = config
        return config

    def reset(self) -> None:
        with self._lock:
            self._configs.clear()

    def handle(self, request: Request) -> Reply:
        name = request.path.strip("/")
        if not name or "/" in name:
            return json_reply(404, {"error": "post to /hooks/<name>"})
        if request.method == "GET":
            found = [d for d in self.records.objects(self.name, "delivery") if d["hook"] == name]
            return json_reply(200, found)
        if request.method != "POST":
            return json_reply(405, {"error": f"{request.method} is not accepted; POST JSON"})
        with self._lock:
            config = self._configs.get(name, HookConfig())
        if refusal := _unverified(config, request):
            return refusal
        try:
            body = request.json()
        except ValueError:
            return json_reply(400, {"error": "the body is not JSON"})
        delivery = {
            "id": next(_IDS),
            "hook": name,
            "body": body,
            "headers": dict(request.headers),
            "verified": config.secret is not None,
        }
        self.records.create(self.name, "delivery", delivery)
        return json_reply(config.status, {"received": True, "id": delivery["id"]})

    def fault_reply(self, kind: str, request: Request) -> Reply:
        status = {
            "expired_token": 401,
            "revoked_token": 401,
            "forbidden": 403,
            "rate_limited": 429,
            "unavailable": 503,
        }.get(kind, 500)
        return json_reply(status, {"error": kind}, {"Retry-After": "1"} if status == 429 else None)


def _unverified(config: HookConfig, request: Request) -> Reply | None:
    """The 401 for a delivery whose signature or timestamp does not check out."""
    if config.secret is None:
        return None
    given = request.headers.get(config.signature_header.lower(), "")
    timestamp = None
    if config.timestamp_header is not None:
        timestamp = request.headers.get(config.timestamp_header.lower(), "")
        try:  # whole seconds: "nan" or "inf" must not slip past the window
            late = abs(time.time() - int(timestamp)) > config.tolerance
        except ValueError:
            late = True
        if late:
            return json_reply(
                401,
                {
                    "error": f"{config.timestamp_header} missing or outside "
                    f"{config.tolerance:.0f}s of now"
                },
            )
    expected = sign(config.secret, request.body, timestamp)
    if not given or not hmac.compare_digest(expected, given if "=" in given else "sha256=" + given):
        return json_reply(401, {"error": f"{config.signature_header} does not match the body"})
    return None
