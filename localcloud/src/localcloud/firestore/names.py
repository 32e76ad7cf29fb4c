"""Resource names: databases, documents and collections, and the limits on them."""

from __future__ import annotations

import time
from typing import Any

from localcloud.firestore.errors import invalid

MAX_NAME_BYTES = 6 * 1024
MAX_SUBCOLLECTION_DEPTH = 100
MAX_ID_BYTES = 1500


def database_of(name: str) -> str:
    """``projects/p/databases/d`` from any name inside that database."""
    parts = name.split("/")
    if len(parts) < 4 or parts[0] != "projects" or parts[2] != "databases":
        raise invalid(f"Invalid resource name: {name!r}")
    return "/".join(parts[:4])


def documents_root(database: str) -> str:
    return database + "/documents"


def parent_collection(name: str) -> str:
    """The collection a document lives in: its name without the last segment."""
    return name.rsplit("/", 1)[0]


def collection_id(collection_path: str) -> str:
    return collection_path.rsplit("/", 1)[1]


def relative_segments(name: str) -> list[str]:
    """Segments after ``.../documents``."""
    _, _, rest = name.partition("/documents")
    return [s for s in rest.split("/") if s]


def check_document_name(name: str) -> None:
    """Refuse names the real service refuses: wrong shape, too long, too deep."""
    segments = relative_segments(name)
    if not name.startswith("projects/") or "/documents/" not in name:
        raise invalid(f"Document name {name!r} is not a valid resource name")
    if not segments or len(segments) % 2:
        raise invalid(f"Document name {name!r} has an odd number of path segments")
    if any(s in (".", "..") or (s.startswith("__") and s.endswith("__")) for s in segments):
        raise invalid(f"Document name {name!r} has a reserved segment")
    if any(len(s.encode()) > MAX_ID_BYTES for s in segments):
        raise invalid(f"A document or collection id is longer than {MAX_ID_BYTES} bytes")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise invalid(f"Document name is longer than {MAX_NAME_BYTES} bytes")
    if len(segments) // 2 - 1 > MAX_SUBCOLLECTION_DEPTH:
        raise invalid(f"Document is nested deeper than {MAX_SUBCOLLECTION_DEPTH} subcollections")


def now_ns() -> int:
    return time.time_ns()


def ts_to_ns(ts: Any) -> int:
    return int(ts.seconds) * 1_000_000_000 + int(ts.nanos)


def ns_to_ts(ns: int, ts: Any) -> Any:
    ts.seconds, ts.nanos = divmod(ns, 1_000_000_000)
    return ts
