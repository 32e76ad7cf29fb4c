"""Facebook Graph API stand-in: Page posts, Instagram content publishing and Facebook
Login, under ``/facebook`` (paths with or without a version, ``/v21.0/...``).

From Meta's documentation (developers.facebook.com):
- Pages API, posts (docs/pages-api/posts, docs/pages-api/getting-started): ``POST
  /{page-id}/feed`` with ``message`` and/or ``link`` and a Page access token
  (``access_token`` in the query or form) answers ``{"id": "{page-id}_{post-id}"}``;
  ``GET /{user-id}/accounts`` (``/me/accounts``) lists the Pages a user manages with their
  Page tokens; ``GET /{post-id}`` reads a post back.
- Instagram content publishing: ``localcloud.platforms.instagram``; Graph's errors:
  ``localcloud.platforms.graph``. A Page publishing the same post twice in a row is refused
  (506). Rate limiting (docs/graph-api/overview/rate-limiting): Page tokens fall under
  Business Use Case limits, reported in ``X-Business-Use-Case-Usage``; (#32) when reached.
- Manually build a login flow (documentation/facebook-login/guides/advanced/manual-flow) and
  long-lived tokens (.../access-tokens/get-long-lived): ``/dialog/oauth`` redirects back with
  ``code`` and ``state``; ``GET /oauth/access_token`` exchanges a code, or with
  ``grant_type=fb_exchange_token`` turns a user token into a 60-day one. With PKCE
  (.../advanced/oidc-token): a code issued for a ``code_challenge`` is redeemed only with
  its ``code_verifier``.
- A Page's linked Instagram account (instagram-platform/instagram-graph-api/getting-
  started): ``GET /{page-id}?fields=instagram_business_account`` answers ``{"id"}`` of it.

Set-up: ``add_page(page_id, name, owner=user_id, page_token=..., instagram_id=...)``.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from localcloud.platforms import instagram
from localcloud.platforms.core import (
    Grant,
    Json,
    Reply,
    Request,
    TokenRefused,
    json_reply,
    redirect,
    text_reply,
)
from localcloud.platforms.graph import IDS, fields, graph_error, now, token_error, unsupported
from localcloud.platforms.hub import Platform
from localcloud.platforms.oauth import OAuthError

SHORT_TTL = 3600
LONG_TTL = 5183944  # what the long-lived token sample answers
CODE_TTL = 600
_VERSIONED = re.compile(r"^/v\d+\.\d+(/.*)$")


class Facebook(Platform):
    name = "facebook"

    def __init__(self, hub: Any) -> None:
        super().__init__(hub)
        self._lock = threading.Lock()
        self._pages: dict[str, Json] = {}

    def add_page(
        self,
        page_id: str,
        name: str,
        *,
        owner: str,
        page_token: str,
        instagram_id: str | None = None,
        category: str = "Local business",
    ) -> None:
        """A Page ``owner`` manages, its Page token, and its Instagram account if any."""
        with self._lock:
            self._pages[page_id] = {
                "id": page_id,
                "name": name,
                "owner": owner,
                "token": page_token,
                "instagram": instagram_id,
                "category": category,
            }
        self.tokens.add(Grant(self.name, page_token, page_id, extra={"type": "page"}))

    def pages(self) -> list[Json]:
        with self._lock:
            return [dict(p) for p in self._pages.values()]

    def reset(self) -> None:
        with self._lock:
            self._pages.clear()

    def handle(self, request: Request) -> Reply:
        path = (m[1] if (m := _VERSIONED.match(request.path)) else request.path).rstrip("/")
        if (request.method, path) == ("GET", "/dialog/oauth"):
            return self._dialog(request)
        if (request.method, path) == ("GET", "/oauth/access_token"):
            return self._access_token(request)
        token = request.arg("access_token") or request.bearer()
        try:
            grant = self.tokens.check(self.name, token)
        except TokenRefused as err:
            return self.refused(err)
        node, _, edge = path.lstrip("/").partition("/")
        node = grant.subject if node == "me" else node
        return self._node(request, grant, node, edge)

    def _node(self, request: Request, grant: Grant, node: str, edge: str) -> Reply:
        route = (request.method, edge)
        if route == ("POST", "feed"):
            with self.posting:
                return self._post(request, grant, node)
        if route == ("GET", "feed"):
            return self._feed(node)
        if route == ("GET", "accounts"):
            return self._accounts(grant, node)
        if route == ("POST", "media"):
            return instagram.container(self, request, grant, node)
        if route == ("POST", "media_publish"):
            return instagram.publish(self, request, grant, node)
        if route == ("GET", ""):
            return self._read(grant, node, request.arg("fields"))
        return unsupported(request.method, node)

    def fault_reply(self, kind: str, request: Request) -> Reply:
        if kind in ("expired_token", "revoked_token"):
            return self.refused(TokenRefused(kind.removesuffix("_token")))
        if kind == "rate_limited":
            usage = {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 12,
                "total_time": 14,
                "estimated_time_to_regain_access": 5,
            }
            page = request.path.strip("/").split("/")[-2:][0] or "0"
            headers = {"X-Business-Use-Case-Usage": json.dumps({page: [usage]})}
            return graph_error(
                "(#32) Page request limit reached", 32, headers=headers, is_transient=True
            )
        if kind == "forbidden":
            return graph_error(
                "(#200) The user hasn't authorized the application to perform this action",
                200,
                status=403,
            )
        if kind == "unavailable":
            return graph_error("Service temporarily unavailable", 2, status=503, is_transient=True)
        return graph_error("An unknown error has occurred.", 1, status=500, is_transient=True)

    def refused(self, err: TokenRefused) -> Reply:
        return token_error(err)

    def _page(self, page_id: str) -> Json | None:
        with self._lock:
            page = self._pages.get(page_id)
            return dict(page) if page else None

    def _post(self, request: Request, grant: Grant, page_id: str) -> Reply:
        message, link = request.arg("message") or "", request.arg("link") or ""
        if refusal := self._post_refusal(grant, page_id, message, link):
            return refusal
        post = {
            "id": f"{page_id}_{next(IDS)}",
            "page_id": page_id,
            "message": message,
            "link": link,
            "is_published": request.arg("published") not in ("false", "0"),
            "created_time": now(),
        }
        self.records.create(self.name, "post", post)
        return json_reply(200, {"id": post["id"]})

    def _post_refusal(self, grant: Grant, page_id: str, message: str, link: str) -> Reply | None:
        """Graph's refusal of a Page post: no such Page, not its token, nothing to post,
        or the very post this Page made last."""
        if self._page(page_id) is None:
            return unsupported("POST", page_id)
        if grant.subject != page_id:
            return graph_error(
                "(#200) If posting to a page, requires both "
                "pages_read_engagement and pages_manage_posts as an admin with "
                "sufficient administrative permission",
                200,
                status=403,
            )
        if not message and not link:
            return graph_error("(#100) Missing message or attachment", 100)
        mine = [p for p in self.records.objects(self.name, "post") if p.get("page_id") == page_id]
        if mine and (mine[-1]["message"], mine[-1]["link"]) == (message, link):
            return graph_error(
                "(#506) Duplicate status message",
                506,
                error_user_title="Duplicate Post",
                error_user_msg="This status update is identical to the last one you posted.",
            )
        return None

    def _feed(self, page_id: str) -> Reply:
        posts = [
            fields(p, None)
            for p in reversed(self.records.objects(self.name, "post"))
            if p.get("page_id") == page_id
        ]
        return json_reply(200, {"data": posts})

    def _accounts(self, grant: Grant, user_id: str) -> Reply:
        if grant.extra.get("type") == "page":
            return graph_error(
                "(#100) Tried accessing nonexisting field (accounts) on node type (Page)", 100
            )
        with self._lock:
            pages = [p for p in self._pages.values() if p["owner"] == user_id == grant.subject]
        data = [
            {
                "access_token": p["token"],
                "category": p["category"],
                "category_list": [{"id": "2256", "name": p["category"]}],
                "name": p["name"],
                "id": p["id"],
                "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
            }
            for p in pages
        ]
        return json_reply(200, {"data": data})

    def _read(self, grant: Grant, node: str, wanted: str | None) -> Reply:
        page = self._page(node)
        if page is not None:
            return json_reply(200, _page_fields(page, wanted))
        if node == grant.subject:
            return json_reply(200, {"id": node, "name": grant.extra.get("name", "Local User")})
        for kind in ("post", "container"):
            if (thing := self.records.find(self.name, kind, node)) is not None:
                return json_reply(200, fields(thing, wanted))
        return unsupported("GET", node)

    def _dialog(self, request: Request) -> Reply:
        def arg(name: str) -> str | None:  # Facebook's response_type defaults to code
            return request.arg(name) or ("code" if name == "response_type" else None)

        try:
            target = self.oauth.authorize(
                self.name,
                arg,
                pkce=False,
                scope_sep=",",
                default_subject="10215241773831025",
                ttl=CODE_TTL,
            )
        except OAuthError as err:
            return text_reply(400, f"URL blocked: {err.description}")
        return redirect(target)

    def _access_token(self, request: Request) -> Reply:
        try:
            client = self.oauth.client(self.name, request.arg("client_id"))
            self.oauth.authenticate(client, request.arg("client_secret"))
            if request.arg("grant_type") == "fb_exchange_token":
                found: Any = self.tokens.check(self.name, request.arg("fb_exchange_token"))
                ttl = LONG_TTL
            else:
                found = self.oauth.redeem(
                    self.name,
                    request.arg("code"),
                    client,
                    request.arg("redirect_uri"),
                    request.arg("code_verifier"),
                )
                ttl = SHORT_TTL
        except TokenRefused as err:
            return self.refused(err)
        except OAuthError as err:
            code = {"invalid_client": 1}.get(err.error, 100)
            return graph_error(err.description, code)
        access, _ = self.oauth.issue(found, ttl, None, refresh=False)
        return json_reply(
            200, {"access_token": access.token, "token_type": "bearer", "expires_in": ttl}
        )


def _page_fields(page: Json, wanted: str | None) -> Json:
    """A Page as Graph shows it: ``id`` and ``name``, or the ``fields=`` asked for (a
    Page without a linked Instagram account has no ``instagram_business_account``)."""
    shown: Json = {"name": page["name"], "category": page["category"]}
    if page["instagram"]:
        shown["instagram_business_account"] = {"id": page["instagram"]}
    names = wanted.split(",") if wanted else ["name"]
    return {k: shown[k] for k in names if k in shown} | {"id": page["id"]}
