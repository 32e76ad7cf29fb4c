"""WordPress stand-in: the REST API of any number of sites, ``/wordpress/<site>/wp-json/``.

From the REST API Handbook (developer.wordpress.org/rest-api):
- Authentication (using-the-rest-api/authentication): application passwords over HTTP
  Basic; WordPress ignores the spaces it shows them with. A wrong one is a 401
  ``incorrect_password``, an unknown user ``invalid_username``.
- Posts (reference/posts): ``POST /wp/v2/posts`` (``title``, ``content``, ``excerpt``,
  ``status``, ``slug``, ``tags`` as term ids, ``featured_media``), JSON or form, answered
  201 with the post in the ``edit`` context; ``GET /wp/v2/posts`` (``search``, ``slug``,
  ``status``, ``per_page``, ``page``; ``X-WP-Total`` and ``X-WP-TotalPages``) and ``GET
  /wp/v2/posts/<id>``. Statuses other than ``publish`` need credentials.
- Media (reference/media): ``POST /wp/v2/media`` with the file as the body,
  ``Content-Type`` and ``Content-Disposition: attachment; filename=...`` (refusals as in
  ``WP_REST_Attachments_Controller::upload_from_data``); the file is then served at its
  ``source_url``. Tags (reference/tags): ``POST``/``GET /wp/v2/tags``; a name already used
  is a 400 ``term_exists`` carrying the existing ``term_id``.
- Errors everywhere: ``{"code", "message", "data": {"status"}}``.

Set-up: ``add_site(site, username, app_password)``, or ``server.grant("wordpress",
password, subject=username, site=site)``. Stand-in choices: unknown tag ids are dropped, as
``wp_set_object_terms`` does; rendered content wraps plain paragraphs in ``<p>``; a 429
(WordPress has none of its own) uses the same error shape; maintenance is WordPress's 503
page. Multipart uploads are not supported.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from typing import Any

from localcloud.platforms.core import (
    BadInput,
    Grant,
    Reply,
    Request,
    TokenRefused,
    json_reply,
    text_reply,
)
from localcloud.platforms.hub import Platform
from localcloud.platforms.wordpress_library import (
    Library,
    invalid_param,
    paged,
    wp_args,
    wp_error,
)
from localcloud.platforms.wordpress_posts import STATUSES, matches, post_fields, shown, slugify

_PUBLIC_SLUGGED = ("publish", "future", "private")


def now_pair() -> tuple[str, str]:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return stamp, stamp  # the site's timezone is UTC


class WordPress(Platform):
    name = "wordpress"

    def __init__(self, hub: Any) -> None:
        super().__init__(hub)
        self._lock = threading.Lock()
        self._users: dict[tuple[str, str], int] = {}
        self._ids: dict[tuple[str, str], int] = {}
        self.library = Library(self)

    def add_site(self, site: str, username: str, app_password: str) -> None:
        self.tokens.add(Grant(self.name, app_password, username, extra={"site": site}))

    def reset(self) -> None:
        with self._lock:
            self._users.clear()
            self._ids.clear()
        self.library.reset()

    def next_id(self, site: str, space: str) -> int:
        """Posts and attachments share one id space per site; terms have another."""
        with self._lock:
            self._ids[(site, space)] = self._ids.get((site, space), 1) + 1
            return self._ids[(site, space)]

    def user_id(self, site: str, username: str) -> int:
        with self._lock:
            return self._users.setdefault((site, username), len(self._users) + 1)

    def handle(self, request: Request) -> Reply:
        site, _, rest = request.path.lstrip("/").partition("/")
        if not site:
            return wp_error(
                404, "rest_no_route", "No route was found matching the URL and request method."
            )
        if rest.startswith("wp-content/uploads/") and request.method == "GET":
            return self.library.file(site, rest)
        try:
            user = self._user(request, site)
        except TokenRefused as err:
            return self.refused(err)
        try:
            return self._route(request, site, "/" + rest.removeprefix("wp-json").lstrip("/"), user)
        except BadInput as err:
            return wp_error(400, err.code, err.message)

    def _route(self, request: Request, site: str, route: str, user: int | None) -> Reply:
        method = request.method
        if route.rstrip("/") == "/wp/v2/posts":
            if method == "POST":
                with self.posting:
                    return self._create(request, site, user)
            return self._list(request, site, user)
        if (m := re.fullmatch(r"/wp/v2/posts/(\d+)", route)) and method == "GET":
            return self._one(request, site, int(m[1]), user)
        if route.rstrip("/") == "/wp/v2/media" and method == "POST":
            return self.library.upload(request, site, user)
        if route.rstrip("/") == "/wp/v2/tags":
            if method == "POST":
                with self.posting:
                    return self.library.add_tag(request, site, user)
            return self.library.tags(request, site)
        return wp_error(
            404, "rest_no_route", "No route was found matching the URL and request method."
        )

    def fault_reply(self, kind: str, request: Request) -> Reply:
        if kind in ("expired_token", "revoked_token"):
            return self.refused(TokenRefused("revoked"))
        if kind == "forbidden":
            return wp_error(403, "rest_forbidden", "Sorry, you are not allowed to do that.")
        if kind == "rate_limited":
            reply = wp_error(429, "too_many_requests", "Too many requests; retry later.")
            reply.headers["Retry-After"] = "60"
            return reply
        if kind == "unavailable":
            reply = text_reply(
                503,
                "<!DOCTYPE html><title>Maintenance</title><h1>Briefly "
                "unavailable for scheduled maintenance. Check back in a minute."
                "</h1>",
                "text/html; charset=utf-8",
            )
            reply.headers["Retry-After"] = "600"
            return reply
        return wp_error(
            500, "internal_server_error", "<p>There has been a critical error on this website.</p>"
        )

    def refused(self, err: TokenRefused) -> Reply:
        if err.reason == "missing":
            return wp_error(
                401, "invalid_username", "Unknown username. Check again or try your email address."
            )
        return wp_error(
            401, "incorrect_password", "The provided password is an invalid application password."
        )

    def _user(self, request: Request, site: str) -> int | None:
        """The caller's user id; None when anonymous; ``TokenRefused`` for bad credentials."""
        if "authorization" not in request.headers:
            return None
        basic = request.basic()
        if basic is None:
            raise TokenRefused("invalid")
        username, password = basic
        given = re.sub(r"[^a-z\d]", "", password, flags=re.I)  # as WordPress compares them
        grants = [
            g
            for g in self.tokens.of(self.name)
            if g.extra.get("site") == site and g.subject == username
        ]
        if not grants:
            raise TokenRefused("missing")  # rendered as invalid_username
        for grant in grants:
            if re.sub(r"[^a-z\d]", "", grant.token, flags=re.I) == given:
                self.tokens.check(self.name, grant.token)
                return self.user_id(site, username)
        raise TokenRefused("invalid")

    def _create(self, request: Request, site: str, user: int | None) -> Reply:
        if user is None:
            return wp_error(
                401,
                "rest_cannot_create",
                "Sorry, you are not allowed to create posts as this user.",
            )
        fields = post_fields(wp_args(request))
        if fields["featured_media"] and self.library.media(site, fields["featured_media"]) is None:
            return wp_error(400, "rest_invalid_featured_media", "Invalid featured media ID.")
        fields["tags"] = [t for t in fields["tags"] if self.library.tag(site, t) is not None]
        post_id = self.next_id(site, "post")
        if not fields["slug"] and fields["status"] in _PUBLIC_SLUGGED:
            fields["slug"] = slugify(fields["title"]) or str(post_id)
        if fields["slug"]:
            fields["slug"] = self._unique_slug(site, fields["slug"])
        date, date_gmt = now_pair()
        post = fields | {
            "id": post_id,
            "site": site,
            "author": user,
            "date": date,
            "date_gmt": date_gmt,
            "modified": date,
            "modified_gmt": date_gmt,
        }
        self.records.create(self.name, "post", post)
        return json_reply(
            201,
            shown(post, request.base_url, "edit"),
            {"Location": f"{request.base_url}/{site}/wp-json/wp/v2/posts/{post_id}"},
        )

    def _unique_slug(self, site: str, slug: str) -> str:
        taken = {p["slug"] for p in self.records.objects(self.name, "post") if p["site"] == site}
        candidate, n = slug, 2
        while candidate in taken:
            candidate, n = f"{slug}-{n}", n + 1
        return candidate

    def _list(self, request: Request, site: str, user: int | None) -> Reply:
        args = wp_args(request)
        statuses = str(args.get("status") or "publish").split(",")
        if any(s not in (*STATUSES, "any") for s in statuses):
            return invalid_param("status", f"status is not one of {', '.join(STATUSES)}.")
        if user is None and statuses != ["publish"]:
            return invalid_param("status", "Status is forbidden.")
        posts = [
            p
            for p in reversed(self.records.objects(self.name, "post"))
            if p["site"] == site
            and ("any" in statuses or p["status"] in statuses)
            and matches(p, args)
        ]
        listed, pages = paged(posts, args)
        context = "edit" if user is not None and args.get("context") == "edit" else "view"
        headers = {"X-WP-Total": str(len(posts)), "X-WP-TotalPages": str(pages)}
        return json_reply(200, [shown(p, request.base_url, context) for p in listed], headers)

    def _one(self, request: Request, site: str, post_id: int, user: int | None) -> Reply:
        post = next(
            (
                p
                for p in self.records.objects(self.name, "post")
                if p["site"] == site and p["id"] == post_id
            ),
            None,
        )
        if post is None:
            return wp_error(404, "rest_post_invalid_id", "Invalid post ID.")
        if post["status"] != "publish" and user is None:
            return wp_error(401, "rest_forbidden", "Sorry, you are not allowed to do that.")
        context = "edit" if user is not None and request.arg("context") == "edit" else "view"
        return json_reply(200, shown(post, request.base_url, context))
