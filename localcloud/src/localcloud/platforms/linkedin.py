"""LinkedIn stand-in: the versioned Posts API and 3-legged OAuth 2.0, under ``/linkedin``.

From LinkedIn's documentation on Microsoft Learn:
- Posts API (learn.microsoft.com/linkedin/marketing/community-management/shares/posts-api):
  ``POST /rest/posts`` with ``Authorization: Bearer``, ``LinkedIn-Version: YYYYMM`` and
  ``X-Restli-Protocol-Version: 2.0.0``; body ``author`` (``urn:li:person:`` or
  ``urn:li:organization:``), ``commentary``, ``visibility``, ``distribution``,
  ``lifecycleState``; answered 201 with the post's URN in ``x-restli-id``. ``GET
  /rest/posts/{encoded URN}`` and the author finder ``GET /rest/posts?q=author&author=``.
- Versioning (learn.microsoft.com/linkedin/marketing/versioning): a missing version header
  is refused (``VERSION_MISSING``), an unknown one too (426 ``NONEXISTENT_VERSION``).
- Error handling (learn.microsoft.com/linkedin/shared/api-guide/concepts/error-handling):
  ``{"status", "serviceErrorCode", "code", "message"}``; a schema error is a 422 whose
  message lists ``ERROR :: /field :: ...`` lines.
- OAuth 2.0 and ``/v2/userinfo``: ``localcloud.platforms.linkedin_oauth``.

Stand-in choice: a missing ``X-Restli-Protocol-Version`` is a 400 ``ILLEGAL_ARGUMENT``.
"""

from __future__ import annotations

import itertools
import re
import time
from typing import Any
from urllib.parse import unquote

from localcloud.platforms import linkedin_oauth
from localcloud.platforms.core import (
    Grant,
    Json,
    Reply,
    Request,
    TokenRefused,
    json_reply,
)
from localcloud.platforms.hub import Platform

MAX_COMMENTARY = 3000
_IDS = itertools.count(7_212_000_000_000_000_001)  # the shape of real share ids
_VERSION = re.compile(r"^20\d{4}(\.\d{2})?$")
_AUTHOR = re.compile(r"^urn:li:(person|organization):[A-Za-z0-9_-]+$")
_REQUIRED = ("author", "commentary", "visibility", "distribution", "lifecycleState")
_OPTIONAL = {
    "isReshareDisabledByAuthor",
    "content",
    "contentLandingPage",
    "container",
    "contentCallToActionLabel",
    "reshareContext",
    "adContext",
    "lifecycleStateInfo",
}
# Tuples, not sets: a client may send a list or an object where a string belongs.
_VISIBILITY = ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER")
_TOKEN_ERRORS = {
    "missing": (401, "Empty oauth2_access_token", None),
    "invalid": (65600, "Invalid access token", "INVALID_ACCESS_TOKEN"),
    "revoked": (
        65601,
        "The token used in the request has been revoked by the user",
        "REVOKED_ACCESS_TOKEN",
    ),
    "expired": (65602, "The token used in the request has expired", "EXPIRED_ACCESS_TOKEN"),
}


def error(
    status: int,
    message: str,
    code: str | None = None,
    service: int | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """LinkedIn's error body: ``status``, ``serviceErrorCode``, ``code``, ``message``."""
    body: Json = {"status": status, "message": message}
    if service is not None:
        body["serviceErrorCode"] = service
    if code:
        body["code"] = code
    return json_reply(status, body, headers)


class LinkedIn(Platform):
    name = "linkedin"

    def handle(self, request: Request) -> Reply:
        route = (request.method, request.path)
        if route == ("GET", "/oauth/v2/authorization"):
            return linkedin_oauth.authorize(self, request)
        if route == ("POST", "/oauth/v2/accessToken"):
            return linkedin_oauth.token(self, request)
        try:
            grant = self.tokens.check(self.name, request.bearer())
        except TokenRefused as err:
            return self.refused(err)  # before anything else, as an API gateway does
        if route == ("GET", "/v2/userinfo"):
            return linkedin_oauth.userinfo(request, grant)
        if not request.path.startswith("/rest/"):
            return error(404, f"No virtual resource found for {request.path}", "NOT_FOUND")
        return _versioned(request) or self._rest(request, grant)

    def _rest(self, request: Request, grant: Grant) -> Reply:
        route = (request.method, request.path)
        if route == ("POST", "/rest/posts"):
            return self._create(request, grant)
        if route == ("GET", "/rest/posts"):
            return self._by_author(request, grant)
        if request.method == "GET" and request.path.startswith("/rest/posts/"):
            return self._get(request, grant)
        return error(404, f"No virtual resource found for {request.path}", "NOT_FOUND")

    def fault_reply(self, kind: str, request: Request) -> Reply:
        if kind in ("expired_token", "revoked_token"):
            return self.refused(TokenRefused(kind.removesuffix("_token")))
        return {
            "forbidden": error(
                403,
                "Not enough permissions to access: partnerApiPostsExternal.CREATE.20240101",
                "ACCESS_DENIED",
                100,
            ),
            "rate_limited": error(
                429,
                "Resource level throttle APPLICATION DAY limit for calls"
                " to this resource is reached.",
                "TOO_MANY_REQUESTS",
                101,
            ),
            "unavailable": error(503, "Service Unavailable", "SERVICE_UNAVAILABLE"),
        }.get(kind, error(500, "Internal Server Error", "INTERNAL_SERVER_ERROR"))

    def refused(self, err: TokenRefused) -> Reply:
        service, message, code = _TOKEN_ERRORS[err.reason]
        return error(401, message, code, service)

    def _create(self, request: Request, grant: Grant) -> Reply:
        try:
            body = request.json()
        except ValueError:
            return error(400, "Request body could not be converted to data map", "ILLEGAL_ARGUMENT")
        if problems := _schema_errors(body):
            return json_reply(422, {"message": "".join(problems), "status": 422})
        if not _may_post_as(grant, body["author"]):
            version = request.headers.get("linkedin-version", "")
            return error(
                403,
                f"Not enough permissions to access: partnerApiPostsExternal.CREATE.{version}",
                "ACCESS_DENIED",
                100,
            )
        now = int(time.time() * 1000)
        urn = f"urn:li:share:{next(_IDS)}"
        post = {k: body[k] for k in body} | {
            "id": urn,
            "createdAt": now,
            "lastModifiedAt": now,
            "lifecycleStateInfo": {"isEditedByAuthor": False},
        }
        if body["lifecycleState"] == "PUBLISHED":
            post["publishedAt"] = now
        self.records.create(self.name, "post", post)
        return Reply(201, b"", {"x-restli-id": urn, "Location": f"/rest/posts/{urn}"})

    def _get(self, request: Request, grant: Grant) -> Reply:
        urn = unquote(request.path.removeprefix("/rest/posts/"))
        post = self.records.find(self.name, "post", urn)
        if post is None:
            return error(404, f"Post {urn} does not exist", "NOT_FOUND")
        return json_reply(200, _shown(post))

    def _by_author(self, request: Request, grant: Grant) -> Reply:
        if request.arg("q") != "author" or not request.arg("author"):
            return error(400, "This finder needs q=author and an author URN", "ILLEGAL_ARGUMENT")
        try:
            start, count = int(request.arg("start") or 0), int(request.arg("count") or 10)
        except ValueError:
            start = count = -1
        if start < 0 or not 1 <= count <= 100:
            return error(400, "start must be 0 or more and count 1 to 100", "ILLEGAL_ARGUMENT")
        posts = [
            _shown(p)
            for p in self.records.objects(self.name, "post")
            if p["author"] == unquote(request.arg("author") or "")
        ]
        page = list(reversed(posts))[start : start + count]
        return json_reply(
            200,
            {
                "elements": page,
                "paging": {"start": start, "count": count, "total": len(posts), "links": []},
            },
        )


def _versioned(request: Request) -> Reply | None:
    """LinkedIn's refusal of a /rest call without the headers every versioned API needs."""
    version = request.headers.get("linkedin-version")
    if not version:
        return error(
            400,
            "A version must be present. Please specify a version by adding the "
            "LinkedIn-Version header.",
            "VERSION_MISSING",
        )
    if not _VERSION.match(version):
        return error(426, f"Requested version {version} is not active", "NONEXISTENT_VERSION")
    if request.headers.get("x-restli-protocol-version") != "2.0.0":
        return error(400, "X-Restli-Protocol-Version: 2.0.0 is required", "ILLEGAL_ARGUMENT")
    return None


def _schema_errors(body: Any) -> list[str]:
    """The lines of LinkedIn's 422 message for a post body that does not fit the schema."""
    if not isinstance(body, dict):
        return ["ERROR :: / :: the request body must be an object\n"]
    lines = [
        f"ERROR :: /{f} :: field is required but not found and has no default value\n"
        for f in _REQUIRED
        if f not in body
    ]
    lines += [
        f"ERROR :: /{f} :: unrecognized field found but not allowed\n"
        for f in body
        if f not in _OPTIONAL and f not in _REQUIRED
    ]
    if "author" in body and not _AUTHOR.match(str(body["author"])):
        lines.append(
            f"ERROR :: /author :: {body['author']!r} is not a person or organization URN\n"
        )
    if "visibility" in body and body["visibility"] not in _VISIBILITY:
        lines.append(f"ERROR :: /visibility :: {body['visibility']!r} is not a visibility\n")
    if "lifecycleState" in body and body["lifecycleState"] not in ("PUBLISHED", "DRAFT"):
        lines.append("ERROR :: /lifecycleState :: must be PUBLISHED or DRAFT\n")
    commentary = body.get("commentary")
    if commentary is not None and (
        not isinstance(commentary, str) or len(commentary) > MAX_COMMENTARY
    ):
        lines.append(f"ERROR :: /commentary :: must be text of at most {MAX_COMMENTARY} chars\n")
    if "distribution" in body and not isinstance(body["distribution"], dict):
        lines.append("ERROR :: /distribution :: must be an object\n")
    return lines


def _may_post_as(grant: Grant, author: str) -> bool:
    """A member posts as themselves, or as an organization they administer."""
    if author.startswith("urn:li:person:"):
        needed, allowed = "w_member_social", author == grant.subject
    else:
        needed, allowed = "w_organization_social", author in grant.extra.get("organizations", ())
    return allowed and (not grant.scopes or needed in grant.scopes)


def _shown(post: Json) -> Json:
    return {k: v for k, v in post.items() if k not in ("platform", "kind", "seq", "created_at")}
