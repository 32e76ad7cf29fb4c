"""WordPress media and tags for ``localcloud.platforms.wordpress``: uploads as
``WP_REST_Attachments_Controller`` takes them (developer.wordpress.org/rest-api/reference/
media), the files served back at their ``source_url``, and ``post_tag`` terms
(developer.wordpress.org/rest-api/reference/tags); with the error body and the request
parameters every WordPress route shares.
"""

from __future__ import annotations

import math
import re
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from localcloud.platforms.core import BadInput, Json, Reply, Request, json_reply
from localcloud.platforms.wordpress_posts import slugify

if TYPE_CHECKING:
    from localcloud.platforms.wordpress import WordPress


def wp_error(status: int, code: str, message: str, **data: Any) -> Reply:
    """WordPress's error body (a ``WP_Error`` through the REST server)."""
    return json_reply(status, {"code": code, "message": message, "data": {"status": status} | data})


def invalid_param(name: str, why: str) -> Reply:
    return wp_error(400, "rest_invalid_param", f"Invalid parameter(s): {name}", params={name: why})


def wp_args(request: Request) -> Json:
    """The request's parameters: query, then a JSON or form body (as WP_REST_Request)."""
    found: Json = {k: v[0] for k, v in request.query.items()}
    ctype = request.headers.get("content-type", "")
    if "application/json" in ctype and request.body:
        try:
            body = request.json()
        except ValueError as err:
            raise BadInput("rest_invalid_json", "Invalid JSON body passed.") from err
        if isinstance(body, dict):
            found |= body
    else:
        found |= {k: v[0] for k, v in request.form().items()}
    return found


def paged(items: list[Json], args: Json) -> tuple[list[Json], int]:
    """The ``page`` of ``per_page`` items asked for, and how many pages there are."""
    try:
        per_page, page = int(args.get("per_page") or 10), int(args.get("page") or 1)
    except ValueError as err:
        raise BadInput("rest_invalid_param", "Invalid parameter(s): per_page, page") from err
    if not 1 <= per_page <= 100 or page < 1:
        raise BadInput(
            "rest_invalid_param",
            "Invalid parameter(s): per_page must be between 1"
            " (inclusive) and 100, page at least 1.",
        )
    pages = math.ceil(len(items) / per_page)
    if page > 1 and page > pages:
        raise BadInput(
            "rest_post_invalid_page_number",
            "The page number requested is larger than the number of pages available.",
        )
    return items[(page - 1) * per_page : page * per_page], pages


_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)


class Library:
    """One server's uploaded files and tags, for every site."""

    def __init__(self, wordpress: WordPress) -> None:
        self.wp = wordpress
        self._lock = threading.Lock()
        self._files: dict[tuple[str, str], tuple[str, bytes]] = {}

    def reset(self) -> None:
        with self._lock:
            self._files.clear()

    def upload(self, request: Request, site: str, user: int | None) -> Reply:
        if user is None:
            return wp_error(
                401,
                "rest_cannot_create",
                "Sorry, you are not allowed to upload media on this site.",
            )
        if refusal := _upload_refusal(request):
            return refusal
        disposition = request.headers["content-disposition"]
        found = _FILENAME.search(disposition)
        name = re.sub(r"[^\w.-]+", "-", unquote(found[1]).strip()) if found else ""
        if not name or name.startswith("."):
            return wp_error(
                400,
                "rest_upload_invalid_disposition",
                "Invalid Content-Disposition "
                "supplied. Content-Disposition needs to be formatted as `attachment;"
                ' filename="image.png"` or similar.',
            )
        return self._store(request, site, user, name)

    def _store(self, request: Request, site: str, user: int, name: str) -> Reply:
        ctype = request.headers["content-type"].split(";")[0].strip()
        path = self._keep(site, name, ctype, request.body)
        media_id, base = self.wp.next_id(site, "post"), f"{request.base_url}/{site}"
        now, title = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"), name.rsplit(".", 1)[0]
        media = {
            "id": media_id, "date": now, "date_gmt": now, "slug": title.lower(),
            "status": "inherit", "type": "attachment", "author": user,
            "title": {"raw": title, "rendered": title},
            "media_type": "image" if ctype.startswith("image/") else "file",
            "mime_type": ctype, "source_url": f"{base}/{path}",
            "link": f"{base}/?attachment_id={media_id}", "alt_text": "",
            "media_details": {"filesize": len(request.body)}, "post": None,
        }  # fmt: skip
        self.wp.records.create(self.wp.name, "media", media | {"site": site})
        location = f"{base}/wp-json/wp/v2/media/{media_id}"
        return json_reply(201, media, {"Location": location})

    def _keep(self, site: str, name: str, ctype: str, body: bytes) -> str:
        """Keep the file under this month's uploads, renamed ``name-1.ext`` when taken."""
        month = datetime.now(UTC).strftime("%Y/%m")
        stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
        with self._lock:
            path, n = f"wp-content/uploads/{month}/{name}", 1
            while (site, path) in self._files:
                path, n = f"wp-content/uploads/{month}/{stem}-{n}{dot}{ext}", n + 1
            self._files[(site, path)] = (ctype, body)
        return path

    def file(self, site: str, path: str) -> Reply:
        with self._lock:
            found = self._files.get((site, path))
        if found is None:
            return Reply(404, b"Not Found", {"Content-Type": "text/plain"})
        return Reply(200, found[1], {"Content-Type": found[0]})

    def media(self, site: str, media_id: int) -> Json | None:
        return next(
            (
                m
                for m in self.wp.records.objects(self.wp.name, "media")
                if m["site"] == site and m["id"] == media_id
            ),
            None,
        )

    def tag(self, site: str, tag_id: int) -> Json | None:
        return next((t for t in self._all_tags(site) if t["id"] == tag_id), None)

    def _all_tags(self, site: str) -> list[Json]:
        return [t for t in self.wp.records.objects(self.wp.name, "tag") if t["site"] == site]

    def add_tag(self, request: Request, site: str, user: int | None) -> Reply:
        args = wp_args(request)
        name = str(args.get("name") or "").strip()
        slug = slugify(str(args.get("slug") or "")) or slugify(name) or name.lower()
        if refusal := self._tag_refusal(site, user, name, slug):
            return refusal
        tag = {
            "id": self.wp.next_id(site, "term"),
            "site": site,
            "name": name,
            "slug": slug,
            "description": str(args.get("description") or ""),
            "taxonomy": "post_tag",
        }
        self.wp.records.create(self.wp.name, "tag", tag)
        return json_reply(201, self._shown(tag, request.base_url))

    def _tag_refusal(self, site: str, user: int | None, name: str, slug: str) -> Reply | None:
        if user is None:
            return wp_error(
                401,
                "rest_cannot_create",
                "Sorry, you are not allowed to create terms in this taxonomy.",
            )
        if not name:
            return wp_error(
                400, "rest_missing_callback_param", "Missing parameter(s): name", params=["name"]
            )
        for tag in self._all_tags(site):
            if tag["name"].lower() == name.lower() or tag["slug"] == slug:
                return wp_error(
                    400,
                    "term_exists",
                    "A term with the name provided already exists in this taxonomy.",
                    term_id=tag["id"],
                )
        return None

    def tags(self, request: Request, site: str) -> Reply:
        args = wp_args(request)
        search = str(args.get("search") or "").lower()
        slugs = [s for s in str(args.get("slug") or "").split(",") if s]
        include = {s for s in str(args.get("include") or "").split(",") if s}
        found = [
            t
            for t in self._all_tags(site)
            if search in t["name"].lower()
            and (not slugs or t["slug"] in slugs)
            and (not include or str(t["id"]) in include)
        ]
        listed, pages = paged(found, args)
        headers = {"X-WP-Total": str(len(found)), "X-WP-TotalPages": str(pages)}
        return json_reply(200, [self._shown(t, request.base_url) for t in listed], headers)

    def _shown(self, tag: Json, base: str) -> Json:
        count = sum(
            tag["id"] in p["tags"]
            for p in self.wp.records.objects(self.wp.name, "post")
            if p["site"] == tag["site"]
        )
        return {k: tag[k] for k in ("id", "name", "slug", "description", "taxonomy")} | {
            "count": count,
            "link": f"{base}/{tag['site']}/tag/{tag['slug']}/",
            "meta": [],
        }


def _upload_refusal(request: Request) -> Reply | None:
    """``upload_from_data``'s refusals, in its order."""
    if not request.body:
        return wp_error(400, "rest_upload_no_data", "No data supplied.")
    if not request.headers.get("content-type"):
        return wp_error(400, "rest_upload_no_content_type", "No Content-Type supplied.")
    if "multipart/form-data" in request.headers["content-type"]:
        return wp_error(
            400,
            "rest_upload_no_content_disposition",
            "This stand-in takes the file "
            "as the body, with Content-Disposition: attachment; filename=...",
        )
    if not request.headers.get("content-disposition"):
        return wp_error(
            400, "rest_upload_no_content_disposition", "No Content-Disposition supplied."
        )
    return None
