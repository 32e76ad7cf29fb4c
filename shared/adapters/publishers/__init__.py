"""Publishers: where content goes, one module per platform behind the ``Publisher`` port
(``shared.services.publishing``).

- ``wordpress``: REST API posts, tags and featured images, with an application password;
- ``linkedin``: the versioned Posts API, as a member or an organization;
- ``x``: ``POST /2/tweets`` with the user's OAuth 2.0 token;
- ``facebook``: a Page's feed, with the Page token; ``instagram``: a container, then
  ``media_publish``;
- ``webhook``: the post as signed JSON to a Zapier, Make or n8n hook;
- ``connections``: the router, picking the module from the company's connection;
- ``http``: the one way they call out, and what every platform's answers share;
- ``local``: the stand-in that posts nowhere (``make serve`` and tests);
- ``newsletter``: the ``email`` platform, content sent as a newsletter issue.

``build_publisher`` is the router in production, and locally as soon as one platform
base URL is set (``GROWTHKIT_LINKEDIN_API_URL``, ``_X_API_URL``,
``_FACEBOOK_GRAPH_URL``); the local publisher only locally with none set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.adapters.publishers.local import LocalPublisher
from shared.ports import DocumentStore, TaskQueue

if TYPE_CHECKING:
    from shared.services.publishing import Publisher

__all__ = ["LocalPublisher", "build_publisher"]


def build_publisher(store: DocumentStore, queue: TaskQueue) -> Publisher:
    """The publisher this instance's settings call for; ``email`` is always the
    newsletter, locally too."""
    from shared import bootstrap
    from shared.adapters.publishers.newsletter import NewsletterPublisher, WithNewsletter
    from shared.settings import get_settings

    settings = get_settings()
    clock = bootstrap.clock.now
    newsletter = NewsletterPublisher(store, queue, clock, settings.functions_base_url)
    if settings.environment == "local" and not settings.platform_urls_set:
        return WithNewsletter(LocalPublisher(store), newsletter)
    from shared.adapters.crypto import cipher
    from shared.adapters.publishers.connections import ConnectedPublisher, PlatformConfig

    connected = ConnectedPublisher(store, cipher(), PlatformConfig.of(settings), clock=clock)
    return WithNewsletter(connected, newsletter)
