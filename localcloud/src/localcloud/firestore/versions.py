"""Document versions: what each document held at each recent commit time, by collection.

Firestore serves reads at any ``read_time`` within the past hour, so versions are kept that
long (and at most ``MAX_VERSIONS`` per document, to bound memory under write-heavy loads).
A read older than a document's kept history is refused rather than answered wrongly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import grpc

from localcloud.firestore.errors import FirestoreError
from localcloud.firestore.names import parent_collection, ts_to_ns

HISTORY_NS = 3600 * 1_000_000_000
MAX_VERSIONS = 100


class VersionTable:
    """Versions by document name, and the names each collection has ever held.

    Not thread-safe by itself: the store's condition guards every call."""

    def __init__(self) -> None:
        self._versions: dict[str, list[tuple[int, Any | None]]] = {}
        self._collections: dict[str, dict[str, None]] = {}
        # Names whose older versions were dropped (or never loaded): reads before their
        # oldest kept version cannot be answered.
        self._truncated: set[str] = set()

    def get(self, name: str, read_ns: int | None = None) -> Any | None:
        versions = self._versions.get(name)
        if not versions:
            return None
        if read_ns is None:
            return versions[-1][1]
        for t, doc in reversed(versions):
            if t <= read_ns:
                return doc
        if name in self._truncated:
            raise FirestoreError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"read_time is older than the versions of {name} this local Firestore keeps "
                f"(at most {MAX_VERSIONS} versions over the last hour, none before a restart)",
            )
        return None

    def collection(self, path: str, read_ns: int | None = None) -> Iterator[Any]:
        for name in list(self._collections.get(path, ())):
            doc = self.get(name, read_ns)
            if doc is not None:
                yield doc

    def collection_paths(self, prefix: str) -> list[str]:
        """Paths of collections that have ever held a document below ``prefix``."""
        return [p for p in self._collections if p.startswith(prefix)]

    def latest(self, prefix: str = "") -> Iterator[Any]:
        """The current version of every existing document whose name starts with ``prefix``."""
        for name, versions in list(self._versions.items()):
            doc = versions[-1][1]
            if doc is not None and name.startswith(prefix):
                yield doc

    def put(self, name: str, doc: Any | None, at_ns: int) -> None:
        """Record a new version (None: deleted) and drop those nobody may read any more."""
        versions = self._versions.setdefault(name, [])
        versions.append((at_ns, doc))
        cutoff = at_ns - HISTORY_NS
        # Keep the newest version at or before the cutoff: reads at the cutoff need it.
        while len(versions) > 1 and (versions[1][0] <= cutoff or len(versions) > MAX_VERSIONS):
            versions.pop(0)
            self._truncated.add(name)
        self._collections.setdefault(parent_collection(name), {})[name] = None

    def load(self, entries: Iterable[tuple[str, Any | None]]) -> int:
        """Replace versions with journaled or exported ones; returns the latest time seen."""
        latest = 0
        for name, doc in entries:
            if doc is None:
                self._versions.pop(name, None)
                self._collections.get(parent_collection(name), {}).pop(name, None)
                continue
            at = ts_to_ns(doc.update_time)
            self._versions[name] = [(at, doc)]
            self._truncated.add(name)
            self._collections.setdefault(parent_collection(name), {})[name] = None
            latest = max(latest, at)
        return latest

    def clear(self, prefix: str) -> None:
        """Forget every document and collection whose name starts with ``prefix``."""
        for name in [n for n in self._versions if n.startswith(prefix)]:
            del self._versions[name]
            self._truncated.discard(name)
        for path in [p for p in self._collections if p.startswith(prefix)]:
            del self._collections[path]
