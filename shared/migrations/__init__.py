"""Schema migrations: small numbered modules, applied company by company.

A document's shape is named by its ``schema_version`` field (missing: 1). Each migration
is a module ``mNNNN_<what>.py`` here with

- ``VERSION``: the version it brings documents to (NNNN; unique, from 2 up);
- ``COLLECTION``: the collections it applies to, as a path pattern below the company
  (``leads``, or ``leads/*/interactions`` for every lead's interactions);
- ``upgrade(document) -> document``: pure, the document's fields before and after (the
  runner sets ``schema_version``), applied only to documents below ``VERSION``.

Code that writes a kind of document writes it at the current version (``current`` of
its collection; for leads, ``shared.domain.leads.SCHEMA_VERSION``), and a model reading
an older document reads it as its migrations would leave it. ``growthkit migrate``
(``shared.services.migrations``) runs what is pending.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from msgspec import Struct

Document = dict[str, Any]


class Migration(Struct, frozen=True):
    version: int
    name: str
    collection: str
    upgrade: Callable[[Document], Document]

    @property
    def segments(self) -> list[str]:
        return self.collection.split("/")


@functools.cache
def migrations() -> tuple[Migration, ...]:
    """Every migration module here, by version.

    Raises:
        ValueError: a module whose name and ``VERSION`` disagree, or a version twice.
    """
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("m") and info.name[1:5].isdigit():
            module = importlib.import_module(f"{__name__}.{info.name}")
            if module.VERSION != int(info.name[1:5]) or module.VERSION < 2:
                raise ValueError(f"{info.name}: VERSION {module.VERSION} does not match its name")
            found.append(Migration(module.VERSION, info.name, module.COLLECTION, module.upgrade))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"two migrations share a version: {versions}")
    return tuple(found)


def current(collection: str) -> int:
    """The version documents of ``collection`` (a pattern, as in ``COLLECTION``) are
    written at: that of its last migration, or 1."""
    return max((m.version for m in migrations() if m.collection == collection), default=1)


def version_of(document: Document) -> int:
    """A stored document's schema version (missing or not a number: 1)."""
    version = document.get("schema_version", 1)
    return version if isinstance(version, int) and not isinstance(version, bool) else 1
