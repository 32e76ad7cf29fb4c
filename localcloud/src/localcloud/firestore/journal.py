"""On-disk persistence: a write-ahead journal and whole-database exports.

Each committed document version is appended as one JSON line before the commit is
acknowledged, so a crashed process loses nothing it acknowledged. An export is the same
format holding only the latest version of each document; loading replays lines in order.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from localcloud.firestore import pb

EXPORT_FILE = "firestore.jsonl"
JOURNAL_FILE = "firestore.journal.jsonl"


def encode(name: str, doc: Any | None) -> str:
    body = base64.b64encode(doc.SerializeToString()).decode() if doc is not None else None
    return json.dumps({"name": name, "doc": body})


def decode(line: str) -> tuple[str, Any | None]:
    entry = json.loads(line)
    doc = pb.Document.FromString(base64.b64decode(entry["doc"])) if entry["doc"] else None
    return entry["name"], doc


def read_entries(directory: Path) -> Iterator[tuple[str, Any | None]]:
    """Entries of an export then of a journal in ``directory``; a torn last line is skipped."""
    for filename in (EXPORT_FILE, JOURNAL_FILE):
        path = directory / filename
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as f:
            for line in f:
                if line.endswith("\n"):
                    yield decode(line)


def write_export(directory: Path, docs: Iterator[Any]) -> None:
    """Atomically replace the export in ``directory`` with ``docs``."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / (EXPORT_FILE + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for doc in docs:
            f.write(encode(doc.name, doc) + "\n")
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(directory / EXPORT_FILE)


class Journal:
    """Appends committed versions to ``directory``'s journal, flushed before acknowledging."""

    def __init__(self, directory: Path, fsync: bool = False) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._fsync = fsync
        self._file: TextIO = (directory / JOURNAL_FILE).open("a", encoding="utf-8")

    def append(self, versions: list[tuple[str, Any | None]]) -> None:
        self._file.write("".join(encode(name, doc) + "\n" for name, doc in versions))
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    def compact(self, docs: Iterator[Any]) -> None:
        """Fold the journal into the export, then start an empty journal."""
        write_export(self.directory, docs)
        self._file.close()
        self._file = (self.directory / JOURNAL_FILE).open("w", encoding="utf-8")

    def close(self) -> None:
        self._file.close()
