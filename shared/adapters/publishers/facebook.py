"""A Facebook Page: ``POST /{page-id}/feed`` with the Page token (developers.facebook.com/
docs/pages-api/posts), through the Graph API at ``GROWTHKIT_FACEBOOK_GRAPH_URL`` (its
version in the URL). The token goes in the ``Authorization`` header, never the URL.

Graph's errors (docs/graph-api/guides/error-handling) are ``{"error": {"message", "type",
"code", "error_subcode", "is_transient"}}``, shared with Instagram (``error_for``):

- code 190 (expired, invalidated), 102, 2500 (no token): reconnect; 10 and 200-299
  (a permission missing): reconnect with the permissions;
- 4, 17, 32, 613 and 80001-80014 (rate limits): wait for the longest
  ``estimated_time_to_regain_access`` in ``X-Business-Use-Case-Usage`` (minutes), else
  ``Retry-After``, else five minutes;
- 506 (a duplicate of the Page's last post): the post is looked up;
- ``is_transient``, codes 1 and 2, 5xx: retried; anything else fails with Graph's message.

A lost answer is looked up in the Page's feed, matched by message.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

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

LABEL = "Facebook"
LOOKUP_COUNT = 25
THROTTLE_WAIT = timedelta(minutes=5)
_TOKEN_CODES = frozenset({102, 190, 2500})
_THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})


def publish(call: Call, post: Post) -> Receipt:
    page = _page(call)
    message = post_text(post.title, post.body, post.type)
    url = f"{call.config.facebook_graph_url}/{page}/feed"
    answer = call.http.form(url, {"message": message}, headers=auth(call), acts=True)
    if not ok(answer):
        raise error_for(answer, call.now)
    post_id = (body_of(answer) or {}).get("id")
    if not post_id:
        raise Unconfirmed("Facebook answered without the post's id.")
    return _receipt(str(post_id))


def find(call: Call, post: Post) -> Receipt | None:
    """The Page's recent post with this message, if any."""
    url = f"{call.config.facebook_graph_url}/{_page(call)}/feed"
    url += f"?fields=id,message,created_time&limit={LOOKUP_COUNT}"
    answer = call.http.send("GET", url, headers=auth(call))
    if not ok(answer):
        raise error_for(answer, call.now)
    wanted = post_text(post.title, post.body, post.type)
    for item in (body_of(answer) or {}).get("data") or []:
        if isinstance(item, dict) and item.get("message") == wanted and item.get("id"):
            return _receipt(str(item["id"]))
    return None


def error_for(answer: Answer, now: datetime) -> DomainError:
    """A Graph API answer (Facebook or Instagram) as the project's error."""
    error = _error(answer)
    code, said = error.get("code"), str(error.get("message") or text_of(answer))
    if code in _TOKEN_CODES or (answer.status == 401 and code is None):
        return Unauthenticated(f"Facebook refused the token: {said}")
    if code == 10 or (isinstance(code, int) and 200 <= code <= 299):
        return PermissionDenied(f"Facebook does not let this account post: {said}")
    if code in _THROTTLE_CODES or answer.status == 429:
        return RetryLater(f"Facebook rate limit reached: {said}", _regained(answer, now))
    if code == 506:
        return Unconfirmed(f"Facebook has this post already: {said}")
    if error.get("is_transient") or code in (1, 2) or answer.status >= 500:
        at = retry_time(answer, now)
        return RetryLater(f"Facebook: {said}", at) if at else Transient(f"Facebook: {said}")
    return Refused(f"Facebook refused the post: {said}")


def _error(answer: Answer) -> dict[str, Any]:
    body = body_of(answer)
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _regained(answer: Answer, now: datetime) -> datetime:
    """When Meta says access comes back: the longest ``estimated_time_to_regain_access``
    (minutes) of ``X-Business-Use-Case-Usage``, else ``Retry-After``, else a default."""
    minutes = []
    try:
        usage = json.loads(answer.headers.get("x-business-use-case-usage", "{}"))
        for entries in usage.values() if isinstance(usage, dict) else []:
            minutes += [int(e.get("estimated_time_to_regain_access", 0)) for e in entries]
    except (ValueError, TypeError, AttributeError):
        minutes = []
    if minutes and max(minutes) > 0:
        return now + timedelta(minutes=max(minutes))
    return retry_time(answer, now, THROTTLE_WAIT) or now + THROTTLE_WAIT


def auth(call: Call) -> dict[str, str]:
    return {"Authorization": f"Bearer {call.connection.access_token}"}


def _page(call: Call) -> str:
    return str(call.connection.page_id or call.connection.user_id)


def _receipt(post_id: str) -> Receipt:
    return Receipt(url=f"https://www.facebook.com/{post_id}", external_id=post_id)
