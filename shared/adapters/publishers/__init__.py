"""Publishers: where content goes, behind the ``Publisher`` port
(``shared.services.publishing``).

- ``local``: the stand-in that posts nowhere (``make serve`` and tests), the only one
  so far; the platforms' own publishers plug in here, chosen per platform.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.adapters.publishers.local import LocalPublisher
from shared.ports import DocumentStore

if TYPE_CHECKING:
    from shared.services.publishing import Publisher

__all__ = ["LocalPublisher", "build_publisher"]


def build_publisher(store: DocumentStore) -> Publisher:
    """The publisher this instance's settings call for."""
    return LocalPublisher(store)
