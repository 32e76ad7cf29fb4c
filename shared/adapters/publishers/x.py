"""X: ``POST /2/tweets`` with the user's OAuth 2.0 token (docs.x.com, Manage Posts).

The text is checked against X's counting (280 weighted characters, a link 23) before
anything is sent. A 201 answers ``{"data": {"id", "text"}}``. Errors are RFC 7807
problems (``title``, ``detail``, ``type``; ``errors[].message`` for invalid requests):

- 401: the token expired or was revoked: reconnect;
- 403 "duplicate content": X has this very text from this user already, so the post is
  looked up (a retry after a lost answer ends here); any other 403: the token may not
  post (an app-only token, no ``tweet.write``): reconnect;
- 429: rate-limited until ``x-rate-limit-reset`` (epoch seconds);
- 5xx: retried; any other refusal fails with X's own words.

A lost answer is looked up in the user's latest posts (``GET /2/users/{id}/tweets``),
matched by text (X rewrites links to t.co and escapes ``&<>``, so both sides are compared
without links, unescaped, whitespace folded).
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.adapters.publishers.http import Answer, Call, body_of, ok, retry_time, text_of
from shared.domain.content import Post, Receipt
from shared.domain.publishing import post_text, refusal
from shared.errors import (
    DomainError,
    PermissionDenied,
    Refused,
    RetryLater,
    Transient,
    Unauthenticated,
    Unconfirmed,
)

LABEL = "X"
LOOKUP_COUNT = 20
RATE_WINDOW = timedelta(minutes=15)  # X's windows, when no reset is given
_LINK = re.compile(r"https?://\S+", re.IGNORECASE)


def publish(call: Call, post: Post) -> Receipt:
    text = post_text(post.title, post.body, post.type)
    why = refusal("x", title=post.title, body=post.body, content_type=post.type, image_url=None)
    if why:
        raise Refused(why)
    answer = call.http.json(
        "POST", f"{call.config.x_api_url}/2/tweets", {"text": text}, headers=_auth(call), acts=True
    )
    if not ok(answer):
        raise error_for(answer, call.now)
    data = (body_of(answer) or {}).get("data") or {}
    if not data.get("id"):
        raise Unconfirmed("X answered without the post's id.")
    return _receipt(str(data["id"]))


def find(call: Call, post: Post) -> Receipt | None:
    """The user's recent post with this text, if any."""
    user = call.connection.user_id
    url = f"{call.config.x_api_url}/2/users/{user}/tweets?max_results={LOOKUP_COUNT}"
    answer = call.http.send("GET", url, headers=_auth(call))
    if not ok(answer):
        raise error_for(answer, call.now)
    wanted = _folded(post_text(post.title, post.body, post.type))
    for tweet in (body_of(answer) or {}).get("data") or []:
        if isinstance(tweet, dict) and _folded(str(tweet.get("text", ""))) == wanted:
            return _receipt(str(tweet["id"]))
    return None


def error_for(answer: Answer, now: datetime) -> DomainError:
    """X's answer as the project's error."""
    said = _said(answer)
    if answer.status == 401:
        return Unauthenticated(f"X refused the token: {said}")
    if answer.status == 403 and "duplicate" in said.lower():
        return Unconfirmed(f"X has this post already: {said}")
    if answer.status == 403:
        return PermissionDenied(f"X does not let this account post: {said}")
    if answer.status == 429:
        return RetryLater(f"X rate limit reached: {said}", _reset(answer, now))
    if answer.status >= 500:
        at = retry_time(answer, now)
        return RetryLater(f"X: {said}", at) if at else Transient(f"X answered {answer.status}.")
    return Refused(f"X refused the post: {said}")


def _said(answer: Answer) -> str:
    body: Any = body_of(answer)
    if not isinstance(body, dict):
        return text_of(answer)
    errors = body.get("errors")
    first = errors[0] if isinstance(errors, list) and errors else {}
    message = first.get("message") if isinstance(first, dict) else None
    return str(message or body.get("detail") or body.get("title") or f"HTTP {answer.status}")


def _reset(answer: Answer, now: datetime) -> datetime:
    """When X's window resets (``x-rate-limit-reset``), else a window from now."""
    reset = answer.headers.get("x-rate-limit-reset", "")
    if reset.isdigit():
        return max(datetime.fromtimestamp(int(reset), UTC), now)
    return retry_time(answer, now, RATE_WINDOW) or now + RATE_WINDOW


def _auth(call: Call) -> dict[str, str]:
    return {"Authorization": f"Bearer {call.connection.access_token}"}


def _receipt(post_id: str) -> Receipt:
    return Receipt(url=f"https://x.com/i/web/status/{post_id}", external_id=post_id)


def _folded(text: str) -> str:
    return " ".join(_LINK.sub("", html.unescape(text)).split())
