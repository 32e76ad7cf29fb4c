"""How the WordPress stand-in reads and shows posts (developer.wordpress.org/rest-api/
reference/posts): the fields a create takes, checked as the posts schema checks them, the
list filters, and the post object in the ``view`` and ``edit`` contexts.
"""

from __future__ import annotations

import html
import re

from localcloud.platforms.core import BadInput, Json

STATUSES = ("publish", "future", "draft", "pending", "private")


def slugify(text: str) -> str:
    """``sanitize_title``, near enough: lower-case words joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", html.unescape(text).lower()).strip("-")


def post_fields(args: Json) -> Json:
    """The post's fields from the request, checked as the posts schema checks them."""
    raw = {k: args.get(k) for k in ("title", "content", "excerpt")}
    text = {k: (v.get("raw", "") if isinstance(v, dict) else v) or "" for k, v in raw.items()}
    if any(not isinstance(v, str) for v in text.values()):
        raise BadInput("rest_invalid_param", "Invalid parameter(s): title, content or excerpt")
    if not any(text.values()):
        raise BadInput("empty_content", "Content, title, and excerpt are empty.")
    status = args.get("status") or "draft"
    if status not in STATUSES:
        raise BadInput(
            "rest_invalid_param",
            f"Invalid parameter(s): status ({status} is not one of {', '.join(STATUSES)}.)",
        )
    tags, featured = _ids(args)
    slug = slugify(str(args.get("slug") or ""))
    return text | {
        "status": status,
        "tags": tags,
        "featured_media": featured,
        "slug": slug,
        "categories": [1],
    }


def _ids(args: Json) -> tuple[list[int], int]:
    """The tag ids (a list, or a comma-separated string from a form) and featured media."""
    tags = args.get("tags") or []
    if isinstance(tags, str):
        tags = [t for t in tags.split(",") if t.strip()]
    try:
        return [int(t) for t in tags], int(args.get("featured_media") or 0)
    except (TypeError, ValueError) as err:
        raise BadInput(
            "rest_invalid_param",
            "Invalid parameter(s): tags or featured_media (term and media ids are integers)",
        ) from err


def matches(post: Json, args: Json) -> bool:
    search = str(args.get("search") or "").lower()
    slugs = [s for s in str(args.get("slug") or "").split(",") if s]
    if search and search not in (post["title"] + " " + post["content"]).lower():
        return False
    return not slugs or post["slug"] in slugs


def render(raw: str) -> str:
    """Plain paragraphs in ``<p>``, as ``wpautop`` does; markup is left alone."""
    if "<p" in raw or "<!-- wp:" in raw:
        return raw
    return "".join(f"<p>{p.strip()}</p>\n" for p in re.split(r"\n\s*\n", raw) if p.strip())


_COPIED = "id date date_gmt modified modified_gmt slug status author featured_media".split()
_FIXED = {
    "type": "post",
    "comment_status": "open",
    "ping_status": "open",
    "sticky": False,
    "format": "standard",
    "meta": [],
}


def shown(post: Json, base: str, context: str) -> Json:
    """The post object: ``edit`` adds the raw text a ``view`` leaves out."""
    site = f"{base}/{post['site']}/"
    link = site + (f"{post['slug']}/" if post["status"] == "publish" else f"?p={post['id']}")
    texts = {
        "title": {"raw": post["title"], "rendered": html.escape(post["title"], False)},
        "content": {"raw": post["content"], "rendered": render(post["content"])},
        "excerpt": {"raw": post["excerpt"], "rendered": render(post["excerpt"])},
    }
    texts["content"]["protected"] = texts["excerpt"]["protected"] = False
    if context != "edit":
        for text in texts.values():
            text.pop("raw")
    copied = {k: post[k] for k in _COPIED} | {k: list(post[k]) for k in ("categories", "tags")}
    return copied | texts | _FIXED | {"link": link, "guid": {"rendered": f"{site}?p={post['id']}"}}
