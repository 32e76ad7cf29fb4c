"""A generic webhook (a Zapier catch hook, a Make or n8n webhook): the post as JSON,
POSTed to the connection's ``webhook_url`` (checked by the rules of every URL staff give,
the connection pinned to the address checked, redirects not followed).

Each delivery is signed with the connection's ``webhook_secret``:
``X-GrowthKit-Timestamp`` is the Unix time in seconds and ``X-GrowthKit-Signature`` is
``sha256=`` and the hex HMAC-SHA256 of ``{timestamp}.{body}`` (the exact bytes sent), so
a receiver checks both and refuses old or replayed deliveries (localcloud's hook
stand-in verifies exactly this). ``Idempotency-Key`` is the same on every retry.

The body: ``{"event": "content.publish", "id": <idempotency key>, "company_id",
"content_id", "platform", "type", "title", "body", "tags", "image_url"}``. A 2xx is
published (a ``url`` or ``id`` in a JSON answer is kept); 401 or 403 means the receiver
does not take our signature: reconnect (check the secret); 429 waits for
``Retry-After``; 5xx is retried; anything else fails. A hook cannot be asked what it got,
so a lost answer marks the platform ``unknown``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta

from shared.adapters.publishers.http import Answer, Call, body_of, ok, retry_time
from shared.domain.content import Post, Receipt
from shared.errors import DomainError, PermissionDenied, Refused, RetryLater, Transient

LABEL = "The webhook"
THROTTLE_WAIT = timedelta(minutes=1)
EVENT = "content.publish"


def publish(call: Call, post: Post) -> Receipt:
    body = payload(post)
    timestamp = str(int(call.now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": post.idempotency_key,
        "X-GrowthKit-Timestamp": timestamp,
        "X-GrowthKit-Signature": sign(call.connection.webhook_secret, timestamp, body),
    }
    url = call.connection.webhook_url
    answer = call.http.send("POST", url, headers=headers, body=body, acts=True, max_bytes=65536)
    if not ok(answer):
        raise error_for(answer, call.now)
    said = body_of(answer)
    said = said if isinstance(said, dict) else {}
    url = said.get("url") if isinstance(said.get("url"), str) else ""
    return Receipt(url=str(url), external_id=str(said.get("id") or post.idempotency_key))


def find(_call: Call, _post: Post) -> Receipt | None:
    """A hook cannot be asked: None, so a lost answer is for staff to check."""
    return None


def payload(post: Post) -> bytes:
    """The delivery's exact bytes (what the signature covers)."""
    fields = {
        "event": EVENT,
        "id": post.idempotency_key,
        "company_id": post.company_id,
        "content_id": post.content_id,
        "platform": post.platform,
        "type": post.type,
        "title": post.title,
        "body": post.body,
        "tags": list(post.tags),
        "image_url": post.image_url,
    }
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def error_for(answer: Answer, now: datetime) -> DomainError:
    """A receiver's answer as the project's error (hooks have no error format)."""
    if answer.status in (401, 403):
        return PermissionDenied(
            f"The webhook refused the delivery ({answer.status}): check its secret"
        )
    if answer.status == 429:
        at = retry_time(answer, now, THROTTLE_WAIT) or now + THROTTLE_WAIT
        return RetryLater("The webhook asked to slow down (429).", at)
    if answer.status >= 500:
        return Transient(f"The webhook answered {answer.status}.")
    if 300 <= answer.status < 400:
        return Refused(f"The webhook answered a redirect ({answer.status}); not followed.")
    return Refused(f"The webhook refused the delivery with {answer.status}.")
