"""The local publisher: a stand-in that posts nowhere, for ``make serve`` and tests.

``LocalPublisher`` is not a platform and reaches none: it records each post in Firestore
at ``companies/{c}/published_posts/{content_id}-{platform}`` (create-only, so a repeated
call with the same post is answered with the first one's URL, as providers with
idempotency keys do) and answers a made-up URL under ``https://posts.growthkit.local``.
It needs no connection, and every platform name (``blog`` too) is its own destination.
``build_publisher`` uses it only with ``environment=local`` and no platform base URL set;
with any set, locally as in production, posts go to the platforms.
"""

from __future__ import annotations

import logging

from shared.domain.content import Post, Receipt
from shared.errors import AlreadyExists
from shared.ports import SERVER_TIME, DocumentStore, Write

log = logging.getLogger("growthkit.publishers")

LOCAL_BASE_URL = "https://posts.growthkit.local"


def post_path(company_id: str, content_id: str, platform: str) -> str:
    return f"companies/{company_id}/published_posts/{content_id}-{platform}"


class LocalPublisher:
    """Implements ``shared.services.content.Publisher`` on the document store."""

    def __init__(self, store: DocumentStore, base_url: str = LOCAL_BASE_URL) -> None:
        self.store = store
        self.base_url = base_url.rstrip("/")

    def destinations(self, company_id: str, platform: str) -> list[str]:
        return [platform]

    def find(self, post: Post) -> Receipt | None:
        path = post_path(post.company_id, post.content_id, post.platform)
        found = self.store.get_all([path])[0].data
        if found is None:
            return None
        return Receipt(url=str(found.get("url") or ""), external_id=path.rsplit("/", 1)[1])

    def publish(self, post: Post) -> Receipt:
        path = post_path(post.company_id, post.content_id, post.platform)
        url = f"{self.base_url}/{post.company_id}/{post.platform}/{post.content_id}"
        data = {
            "content_id": post.content_id,
            "platform": post.platform,
            "type": post.type,
            "title": post.title,
            "body": post.body,
            "tags": list(post.tags),
            "url": url,
            "idempotency_key": post.idempotency_key,
            "published_at": SERVER_TIME,
        }
        try:
            self.store.commit([Write(path, data, "create")])
        except AlreadyExists:
            # Published by an earlier try whose result was lost: the same post, once.
            existing = self.store.get_all([path])[0].data or {}
            url = str(existing.get("url") or url)
            log.info("post %s already published; returning its URL", path)
        return Receipt(url=url, external_id=path.rsplit("/", 1)[1])
