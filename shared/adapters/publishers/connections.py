"""The publisher of real platforms: each post goes through the company's connection that
its platform names, to that connection's platform module.

A content platform name is a connection id (``linkedin``, ``wordpress-shop``; ``x`` is
``twitter``), read from ``companies/{c}/social_connections/{id}`` with its secrets opened
(``shared.adapters.crypto``). No such connection is a refusal naming what to connect; one
that is not active (expired, or refused before) is an ``Unauthenticated``, so the post
fails with ``reconnect`` before anything is sent. ``blog`` stands for every WordPress
connection of the company.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from types import ModuleType
from typing import Any

from msgspec import Struct

from shared.adapters.publishers import facebook, instagram, linkedin, webhook, wordpress, x
from shared.adapters.publishers.http import Call, Http
from shared.adapters.webhooks import HttpWebhooks
from shared.domain.common import utcnow
from shared.domain.content import Post, Receipt
from shared.domain.integrations import (
    IntegrationStatus,
    SocialPlatform,
    connection_of,
    connection_path,
)
from shared.domain.publishing import BLOG
from shared.domain.secrets import Cipher
from shared.errors import Refused, Unauthenticated
from shared.ports import DocumentStore, Filter
from shared.settings import Settings

log = logging.getLogger("growthkit.publishers")

MODULES: dict[str, ModuleType] = {
    "wordpress": wordpress,
    "linkedin": linkedin,
    "twitter": x,
    "facebook": facebook,
    "instagram": instagram,
    "webhook": webhook,
}
# The platforms called at a URL staff gave (checked as any URL staff give is).
STAFF_URLS = frozenset({"wordpress", "webhook"})
_SECRETS = ("access_token", "app_password", "webhook_secret")


class PlatformConfig(Struct, frozen=True):
    """The platforms' settings: base URLs, the LinkedIn version, the call timeout, and
    whether staff URLs may name this machine."""

    linkedin_api_url: str
    linkedin_version: str
    x_api_url: str
    facebook_graph_url: str
    timeout: float
    allow_loopback: bool = False

    @classmethod
    def of(cls, settings: Settings) -> PlatformConfig:
        return cls(
            settings.linkedin_api_url.rstrip("/"),
            settings.linkedin_version,
            settings.x_api_url.rstrip("/"),
            settings.facebook_graph_url.rstrip("/"),
            settings.publish_timeout_seconds,
            settings.webhooks_allow_loopback,
        )


class Connection(Struct, frozen=True):
    """A connection as a publisher needs it, its secrets opened (kept out of ``repr``)."""

    id: str
    platform: str
    user_id: str = ""
    username: str = ""
    access_token: str = ""
    app_password: str = ""
    webhook_secret: str = ""
    author_urn: str = ""
    page_id: str = ""
    ig_user_id: str = ""
    site_url: str = ""
    webhook_url: str = ""

    def __repr__(self) -> str:
        return f"Connection(id={self.id!r}, platform={self.platform!r})"


def load_connection(
    store: DocumentStore, cipher: Cipher, company_id: str, platform: str
) -> Connection:
    """The connection a content platform name posts through, its secrets opened.

    Raises:
        Refused: no such connection. Unauthenticated: it must be reconnected.
        SecretUnreadable: its secrets cannot be opened (the wrong key is configured).
    """
    conn_id = connection_of(platform)
    path = connection_path(company_id, conn_id)
    data = store.get_all([path])[0].data
    if data is None:
        raise Refused(f"no {conn_id} connection: connect {_name(platform)} first")
    if data.get("status", IntegrationStatus.ACTIVE.value) != IntegrationStatus.ACTIVE.value:
        said = data.get("error_message") or f"the connection is {data.get('status')}"
        raise Unauthenticated(f"{said} (reconnect {conn_id})")
    opened = {k: cipher.open(data[k], f"{path}#{k}") for k in _SECRETS if data.get(k)}
    return Connection(
        id=conn_id,
        platform=str(data.get("platform") or conn_id),
        user_id=str(data.get("platform_user_id") or ""),
        username=str(data.get("username") or ""),
        author_urn=str(data.get("author_urn") or ""),
        page_id=str(data.get("page_id") or ""),
        ig_user_id=str(data.get("ig_user_id") or ""),
        site_url=str(data.get("site_url") or ""),
        webhook_url=str(data.get("webhook_url") or ""),
        **opened,
    )


def _name(platform: str) -> str:
    names = {"x": "X", "twitter": "X", "linkedin": "LinkedIn", "wordpress": "WordPress"}
    return names.get(platform, platform.split("-", 1)[0].capitalize())


class ConnectedPublisher:
    """Implements ``shared.services.publishing.Publisher`` with the platforms' APIs."""

    def __init__(
        self,
        store: DocumentStore,
        cipher: Cipher,
        config: PlatformConfig,
        *,
        clock: Callable[[], datetime] = utcnow,
        pinned: Callable[[bool], HttpWebhooks] = HttpWebhooks,
    ) -> None:
        self.store = store
        self.cipher = cipher
        self.config = config
        self.clock = clock
        # The platforms' own hosts come from settings (trusted, and on this machine in
        # tests); staff's URLs are held to the rules of every URL staff give.
        self.trusted = pinned(True)
        self.staff = pinned(config.allow_loopback)

    def publish(self, post: Post) -> Receipt:
        call, module = self._call(post)
        receipt: Receipt = module.publish(call, post)
        return receipt

    def find(self, post: Post) -> Receipt | None:
        call, module = self._call(post)
        found: Receipt | None = module.find(call, post)
        return found

    def destinations(self, company_id: str, platform: str) -> list[str]:
        if platform != BLOG:
            return [platform]
        found = self.store.query(
            f"companies/{company_id}/social_connections",
            [Filter("platform", "==", SocialPlatform.WORDPRESS.value)],
        )
        return sorted(snap.path.rsplit("/", 1)[1] for snap in found)

    def _call(self, post: Post) -> tuple[Call, Any]:
        conn = load_connection(self.store, self.cipher, post.company_id, post.platform)
        module = MODULES.get(conn.platform)
        if module is None:
            raise Refused(f"{conn.platform} is not a platform content can be published to")
        pinned = self.staff if conn.platform in STAFF_URLS else self.trusted
        http = Http(module.LABEL, pinned, self.config.timeout)
        return Call(http, conn, self.config, self.clock()), module
