"""Instagram content publishing through the Graph API, for the Facebook stand-in.

From Meta's documentation (developers.facebook.com/documentation/instagram-platform/
content-publishing and .../instagram-graph-api/reference/ig-user/media_publish): ``POST
/{ig-user-id}/media`` with ``image_url`` (a public URL Meta fetches) and ``caption``
answers a container ``{"id"}`` (its ``status_code`` is ``FINISHED`` at once here);
``POST /{ig-user-id}/media_publish`` with ``creation_id`` publishes it and answers the
media ``{"id"}``. The token is the user token of the linked Page's owner, or the Page's.

Stand-in choice: publishing a container twice is a (#100) error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localcloud.platforms.core import Grant, Reply, Request, json_reply
from localcloud.platforms.graph import IDS, graph_error, now, unsupported

if TYPE_CHECKING:
    from localcloud.platforms.facebook import Facebook


def reaches(fb: Facebook, grant: Grant, ig_user_id: str) -> bool:
    """The Page token of the linked Page, or the user token of that Page's owner."""
    pages = [p for p in fb.pages() if p["instagram"] == ig_user_id]
    return any(grant.subject in (p["id"], p["owner"]) for p in pages)


def container(fb: Facebook, request: Request, grant: Grant, ig_user_id: str) -> Reply:
    if not reaches(fb, grant, ig_user_id):
        return unsupported("POST", ig_user_id)
    image_url = request.arg("image_url") or ""
    if not image_url.startswith(("http://", "https://")):
        return graph_error("(#100) The parameter image_url is required", 100)
    made = {
        "id": str(next(IDS)),
        "ig_user_id": ig_user_id,
        "image_url": image_url,
        "caption": request.arg("caption") or "",
        "status_code": "FINISHED",
    }
    fb.records.create(fb.name, "container", made)
    return json_reply(200, {"id": made["id"]})


def publish(fb: Facebook, request: Request, grant: Grant, ig_user_id: str) -> Reply:
    if not reaches(fb, grant, ig_user_id):
        return unsupported("POST", ig_user_id)
    made = fb.records.find(fb.name, "container", request.arg("creation_id") or "")
    if made is None or made["ig_user_id"] != ig_user_id:
        return graph_error(
            "(#100) The parameter creation_id is required and must be a container of this account",
            100,
        )
    if made["status_code"] == "PUBLISHED":
        return graph_error("(#100) This container has already been published", 100)
    fb.records.update(fb.name, "container", made["id"], {"status_code": "PUBLISHED"})
    media_id = str(next(IDS))
    fb.records.create(
        fb.name,
        "post",
        {
            "id": media_id,
            "ig_user_id": ig_user_id,
            "caption": made["caption"],
            "media_type": "IMAGE",
            "media_url": made["image_url"],
            "timestamp": now(),
            "permalink": f"https://www.instagram.com/p/{media_id[-11:]}/",
        },
    )
    return json_reply(200, {"id": media_id})
