"""LinkedIn: the versioned Posts API (learn.microsoft.com/linkedin/marketing/
community-management/shares/posts-api).

``POST /rest/posts`` with ``LinkedIn-Version`` (``GROWTHKIT_LINKEDIN_VERSION``, YYYYMM)
and ``X-Restli-Protocol-Version: 2.0.0``: the author is the connection's
``author_urn`` (an organization, or by default the member ``urn:li:person:{id}``), the
commentary in LinkedIn's "little text" format (its reserved characters escaped), public,
on the main feed, ``lifecycleState: PUBLISHED``. A 201 carries the post's URN in
``x-restli-id``. Errors are ``{"status", "serviceErrorCode", "code", "message"}``:

- 401 (``EXPIRED_ACCESS_TOKEN``, ``REVOKED_ACCESS_TOKEN``...): reconnect;
- 403 ``ACCESS_DENIED`` (no ``w_member_social`` or ``w_organization_social``, not an
  admin of the organization): reconnect with the right account and scopes;
- 429: ``Retry-After`` if given; LinkedIn's limits are daily and reset at midnight UTC,
  so a "DAY limit" waits for it, any other throttle a minute;
- 5xx: retried; any other refusal (422 schema errors, 426 for a version LinkedIn no
  longer serves) fails with LinkedIn's message.

A lost answer is looked up with the author finder (``GET /rest/posts?q=author``, newest
first), matched by commentary.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import quote

from shared.adapters.publishers.http import Answer, Call, body_of, ok, retry_time, text_of
from shared.domain.content import Post, Receipt
from shared.domain.publishing import post_text
from shared.errors import (
    DomainError,
    PermissionDenied,
    Refused,
    RetryLater,
    Transient,
    Unauthenticated,
    Unconfirmed,
)

LABEL = "LinkedIn"
LOOKUP_COUNT = 20
THROTTLE_WAIT = timedelta(minutes=1)
# Little text format: these characters are markup unless escaped with a backslash.
_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")


def publish(call: Call, post: Post) -> Receipt:
    body = {
        "author": _author(call),
        "commentary": commentary(post),
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    url = f"{call.config.linkedin_api_url}/rest/posts"
    answer = call.http.json("POST", url, body, headers=_headers(call), acts=True)
    if not ok(answer):
        raise error_for(answer, call.now)
    urn = answer.headers.get("x-restli-id", "")
    if not urn:
        raise Unconfirmed("LinkedIn answered without the post's id (x-restli-id).")
    return _receipt(urn)


def find(call: Call, post: Post) -> Receipt | None:
    """The author's recent post with this commentary, if any."""
    author = quote(_author(call), safe="")
    url = (
        f"{call.config.linkedin_api_url}/rest/posts?q=author&author={author}"
        f"&count={LOOKUP_COUNT}&sortBy=LAST_MODIFIED"
    )
    answer = call.http.send("GET", url, headers=_headers(call) | {"X-RestLi-Method": "FINDER"})
    if not ok(answer):
        raise error_for(answer, call.now)
    wanted = commentary(post)
    for element in (body_of(answer) or {}).get("elements") or []:
        if isinstance(element, dict) and element.get("commentary") == wanted and element.get("id"):
            return _receipt(str(element["id"]))
    return None


def commentary(post: Post) -> str:
    """The post's text in little text format."""
    return _RESERVED.sub(r"\\\1", post_text(post.title, post.body, post.type))


def error_for(answer: Answer, now: datetime) -> DomainError:
    """LinkedIn's answer as the project's error."""
    said = _said(answer)
    if answer.status == 401:
        return Unauthenticated(f"LinkedIn refused the token: {said}")
    if answer.status == 403:
        return PermissionDenied(f"LinkedIn does not let this account post: {said}")
    if answer.status == 429:
        return RetryLater(
            f"LinkedIn rate limit reached: {said}", _throttled_until(answer, said, now)
        )
    if answer.status >= 500:
        at = retry_time(answer, now)
        message = f"LinkedIn answered {answer.status}: {said}"
        return RetryLater(message, at) if at else Transient(message)
    return Refused(f"LinkedIn refused the post: {said}")


def _throttled_until(answer: Answer, said: str, now: datetime) -> datetime:
    """``Retry-After``; else the next midnight UTC for a daily limit; else a minute."""
    given = retry_time(answer, now)
    if given is not None:
        return given
    if " DAY " in f" {said.upper()} ":
        return datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=now.tzinfo)
    return now + THROTTLE_WAIT


def _said(answer: Answer) -> str:
    body: Any = body_of(answer)
    if isinstance(body, dict) and body.get("message"):
        code = f" ({body['code']})" if body.get("code") else ""
        return f"{body['message']}{code}"
    return text_of(answer)


def _author(call: Call) -> str:
    return str(call.connection.author_urn or f"urn:li:person:{call.connection.user_id}")


def _headers(call: Call) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {call.connection.access_token}",
        "LinkedIn-Version": call.config.linkedin_version,
        "X-Restli-Protocol-Version": "2.0.0",
    }


def _receipt(urn: str) -> Receipt:
    return Receipt(url=f"https://www.linkedin.com/feed/update/{urn}/", external_id=urn)
