"""X stand-in: API v2 posts and users, and OAuth 2.0 with PKCE, under ``/x``.

From X's documentation (docs.x.com, developer.x.com):
- Manage Posts (docs.x.com/x-api/posts/manage-tweets/quickstart, .../creation-of-a-post):
  ``POST /2/tweets`` ``{"text": ...}`` with a user-context bearer token, answered 201
  ``{"data": {"id", "text", "edit_history_tweet_ids"}}``; app-only tokens are refused.
- Counting characters (docs.x.com/fundamentals/counting-characters; twitter-text's
  ``config/v3.json``): 280 weighted characters, most scripts weigh 1 and the rest 2, every
  URL 23, every emoji 2 (a ZWJ sequence, a skin tone or a flag is one emoji). Over the
  limit: 400 "Your Tweet text is too long"; the same text twice from one user: 403 "You are
  not allowed to create a Tweet with duplicate content."
- Errors are RFC 7807 problems: ``{"title", "detail", "type", "status"}`` (``about:blank``
  for HTTP-level ones, ``https://api.twitter.com/2/problems/...`` for the others).
- Rate limits (docs.x.com/fundamentals/rate-limits): every answer carries
  ``x-rate-limit-limit``, ``x-rate-limit-remaining`` and ``x-rate-limit-reset`` (epoch
  seconds); past the limit, 429 "Too Many Requests". Windows are 15 minutes.
- ``GET /2/users/me``, ``GET /2/users/{id}/tweets`` (newest first, ``max_results``,
  ``since_id``), ``GET /2/tweets/{id}``: how a client finds a post after an ambiguous
  failure.
- OAuth 2.0 with PKCE: ``localcloud.platforms.x_oauth``.

Stand-in choice: URLs are found as ``http(s)://`` or ``www.`` runs, emoji by Unicode
block; twitter-text's own extractors are finer.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import unicodedata
from datetime import UTC, datetime
from typing import Any

from localcloud.platforms import x_oauth
from localcloud.platforms.core import (
    Grant,
    Json,
    Reply,
    Request,
    TokenRefused,
    json_reply,
)
from localcloud.platforms.hub import Platform

MAX_WEIGHT = 280
URL_WEIGHT = 23
WINDOW = 900
LIMITS = {
    "POST /2/tweets": 100,
    "GET /2/users/me": 75,
    "GET /2/users/tweets": 900,
    "GET /2/tweets": 900,
}
_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))  # weight 1, the rest 2
_URL = re.compile(r"https?://[^\s]+|www\.[^\s]+", re.IGNORECASE)
_JOINERS = "\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f"  # VS, skin, tags
_PICTOGRAPH = "[\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff]"
# An emoji as X counts it: a flag, or pictographs joined by ZWJ with their modifiers.
_EMOJI = re.compile(
    f"[\U0001f1e6-\U0001f1ff]{{2}}|{_PICTOGRAPH}[{_JOINERS}]*(?:\u200d{_PICTOGRAPH}[{_JOINERS}]*)*"
)
_LEFTOVER = re.compile(f"[{_JOINERS}]")
_FIELDS = {
    "text",
    "media",
    "reply",
    "quote_tweet_id",
    "poll",
    "reply_settings",
    "geo",
    "for_super_followers_only",
    "direct_message_deep_link",
    "nullcast",
    "community_id",
    "card_uri",
    "edit_options",
    "share_with_followers",
}
_IDS = itertools.count(1_893_000_000_000_000_001)
PROBLEMS = "https://api.twitter.com/2/problems/"


def problem(
    status: int,
    title: str,
    detail: str,
    kind: str = "about:blank",
    headers: dict[str, str] | None = None,
    **more: Any,
) -> Reply:
    """X's error body, an RFC 7807 problem."""
    body = {"title": title, "detail": detail, "type": kind, "status": status} | more
    return json_reply(status, body, headers)


def invalid(message: str) -> Reply:
    return problem(
        400,
        "Invalid Request",
        "One or more parameters to your request was invalid.",
        PROBLEMS + "invalid-request",
        errors=[{"parameters": {}, "message": message}],
    )


def weighted_length(text: str) -> int:
    """How long X counts ``text``: twitter-text v3 weights, URLs as t.co links, every
    emoji 2 however many code points make it."""
    text = unicodedata.normalize("NFC", text)
    urls = _URL.findall(text)
    text = _URL.sub("", text)
    emoji = _EMOJI.findall(text)
    rest = _LEFTOVER.sub("", _EMOJI.sub("", text))
    weight = sum(1 if any(a <= ord(c) <= b for a, b in _RANGES) else 2 for c in rest)
    return weight + URL_WEIGHT * len(urls) + 2 * len(emoji)


class X(Platform):
    name = "x"

    def __init__(self, hub: Any) -> None:
        super().__init__(hub)
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], list[float]] = {}  # (user, route) -> [reset, used]

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def handle(self, request: Request) -> Reply:
        method, path = request.method, request.path
        if (method, path) == ("GET", "/i/oauth2/authorize"):
            return x_oauth.authorize(self, request)
        if (method, path) == ("POST", "/2/oauth2/token"):
            return x_oauth.token(self, request)
        route = _route(method, path)
        if route is None:
            return problem(404, "Not Found Error", f"No route {method} {path}")
        try:
            grant = self.tokens.check(self.name, request.bearer())
        except TokenRefused as err:
            return self.refused(err)
        headers, over = self._count(grant.subject, route)
        if over:
            return problem(429, "Too Many Requests", "Too Many Requests", headers=headers)
        reply = self._act(route, request, grant)
        reply.headers.update(headers)
        return reply

    def _act(self, route: str, request: Request, grant: Grant) -> Reply:
        if route == "POST /2/tweets":
            with self.posting:
                return self._create(request, grant)
        if route == "GET /2/users/me":
            return json_reply(200, {"data": _user(grant)})
        if route == "GET /2/users/tweets":
            return self._timeline(request, request.path.split("/")[3])
        return self._lookup(request.path.rsplit("/", 1)[1])

    def fault_reply(self, kind: str, request: Request) -> Reply:
        if kind in ("expired_token", "revoked_token"):
            return self.refused(TokenRefused(kind.removesuffix("_token")))
        if kind == "rate_limited":
            headers = _limit_headers(LIMITS["POST /2/tweets"], 0, time.time() + WINDOW)
            return problem(429, "Too Many Requests", "Too Many Requests", headers=headers)
        status, title = {
            "forbidden": (403, "Forbidden"),
            "unavailable": (503, "Service Unavailable"),
        }.get(kind, (500, "Internal Server Error"))
        return problem(status, title, title)

    def refused(self, err: TokenRefused) -> Reply:
        # X says no more than this for a missing, unknown, expired or revoked token.
        return problem(401, "Unauthorized", "Unauthorized")

    def _count(self, user: str, route: str) -> tuple[dict[str, str], bool]:
        """The rate-limit headers after this request, and whether it is over the limit."""
        limit, now = LIMITS[route], time.time()
        with self._lock:
            window = self._windows.setdefault((user, route), [now + WINDOW, 0])
            if window[0] <= now:
                window[:] = [now + WINDOW, 0]
            window[1] += 1
            used, reset = int(window[1]), window[0]
        return _limit_headers(limit, max(limit - used, 0), reset), used > limit

    def _create(self, request: Request, grant: Grant) -> Reply:
        body, refusal = _post_body(request)
        refusal = _cannot_post(grant) or refusal
        if refusal:
            return refusal
        text = body.get("text", "")
        mine = [
            p for p in self.records.objects(self.name, "post") if p["author_id"] == grant.subject
        ]
        if any(p["text"] == text for p in mine):
            return problem(
                403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
            )
        post_id = str(next(_IDS))
        created = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        made = {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}
        extra = {"author_id": grant.subject, "created_at": created}
        self.records.create(self.name, "post", body | made | extra)
        return json_reply(201, {"data": made})

    def _timeline(self, request: Request, user_id: str) -> Reply:
        try:
            most = int(request.arg("max_results") or 10)
            since = int(request.arg("since_id") or 0)
        except ValueError:
            return invalid("max_results and since_id must be integers")
        if not 5 <= most <= 100:
            return invalid(
                f"The `max_results` query parameter value [{most}] is not between 5 and 100"
            )
        posts = [
            _tweet(p)
            for p in reversed(self.records.objects(self.name, "post"))
            if p["author_id"] == user_id and int(p["id"]) > since
        ][:most]
        meta: Json = {"result_count": len(posts)}
        if posts:
            meta |= {"newest_id": posts[0]["id"], "oldest_id": posts[-1]["id"]}
            return json_reply(200, {"data": posts, "meta": meta})
        return json_reply(200, {"meta": meta})

    def _lookup(self, post_id: str) -> Reply:
        post = self.records.find(self.name, "post", post_id)
        if post is not None:
            return json_reply(200, {"data": _tweet(post)})
        return json_reply(
            200,
            {
                "errors": [
                    {
                        "value": post_id,
                        "detail": f"Could not find tweet with id: [{post_id}].",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "id",
                        "resource_id": post_id,
                        "type": PROBLEMS + "resource-not-found",
                    }
                ]
            },
        )


def _cannot_post(grant: Grant) -> Reply | None:
    """X's refusal of a token that may not post: app-only, or without ``tweet.write``."""
    if grant.extra.get("type") == "app":
        return problem(
            403,
            "Unsupported Authentication",
            "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
            "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User "
            "Context].",
            PROBLEMS + "unsupported-authentication",
        )
    if grant.scopes and "tweet.write" not in grant.scopes:
        return problem(403, "Forbidden", "You are not permitted to perform this action.")
    return None


def _route(method: str, path: str) -> str | None:
    if (method, path) in (("POST", "/2/tweets"), ("GET", "/2/users/me")):
        return f"{method} {path}"
    if method == "GET" and re.fullmatch(r"/2/users/\d+/tweets", path):
        return "GET /2/users/tweets"
    if method == "GET" and re.fullmatch(r"/2/tweets/\d+", path):
        return "GET /2/tweets"
    return None


def _post_body(request: Request) -> tuple[Json, Reply | None]:
    """The post's fields, or X's refusal of them."""
    if "application/json" not in request.headers.get("content-type", ""):
        return {}, invalid("Requests with bodies must have content-type of application/json.")
    try:
        body = request.json()
    except ValueError:
        return {}, invalid("Request body is not valid JSON.")
    if not isinstance(body, dict):
        return {}, invalid("$: the request body must be an object")
    if unknown := sorted(set(body) - _FIELDS):
        return {}, invalid(
            f"$.{unknown[0]}: is not defined in the schema and the schema does "
            "not allow additional properties"
        )
    text = body.get("text")
    if (text is None and not body.get("media")) or (text is not None and not isinstance(text, str)):
        return {}, invalid("$.text: text or media is required, and text must be a string")
    if text is not None and weighted_length(text) > MAX_WEIGHT:
        return {}, invalid(
            "Your Tweet text is too long. For more information on how Twitter "
            "determines text length see https://github.com/twitter/twitter-text."
        )
    return body, None


def _tweet(post: Json) -> Json:
    return {k: post[k] for k in ("id", "text", "edit_history_tweet_ids")}


def _user(grant: Grant) -> Json:
    username = grant.extra.get("username", f"user{grant.subject[-6:]}")
    return {"id": grant.subject, "name": grant.extra.get("name", username), "username": username}


def _limit_headers(limit: int, remaining: int, reset: float) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(int(reset)),
    }
