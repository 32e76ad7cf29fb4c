"""A company export on disk: NDJSON files, one per collection path, and ``export.json``.

    DIR/export.json                                  written last: without it the export
                                                     is incomplete and import refuses it
    DIR/companies.ndjson                             the company document itself
    DIR/companies/acme/leads.ndjson                  companies/acme/leads/*
    DIR/companies/acme/leads/l1/interactions.ndjson  companies/acme/leads/l1/interactions/*

Each line is one document, ``{"path": "companies/acme/leads/l1", "fields": {...}}``, its
fields in the typed JSON of ``shared.adapters.firestore_json``. The line carries the
whole path, so file names are only for people: a path segment is percent-encoded (dots
too, so a document id never looks like a file of its parent's), and a long one is cut
and suffixed with a hash.

Memory stays bounded: the writer keeps a few files open (documents arrive in path order,
so a collection's lines are written together, between those of its subcollections), and
the reader streams one line at a time.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from shared.errors import InvalidInput

MANIFEST = "export.json"
FORMAT = "growthkit-company-export"
VERSION = 1
SUFFIX = ".ndjson"
OPEN_FILES = 16
_LONGEST_SEGMENT = 120


def file_for(collection: str) -> Path:
    """The file, relative to the export's directory, of a collection path's documents."""
    segments = [_segment(s) for s in collection.split("/")]
    return Path(*segments[:-1], segments[-1] + SUFFIX)


def _segment(segment: str) -> str:
    safe = quote(segment, safe="").replace(".", "%2E")
    if len(safe) <= _LONGEST_SEGMENT:
        return safe
    return f"{safe[:80]}~{hashlib.sha256(segment.encode()).hexdigest()[:16]}"


class DumpWriter:
    """Writes an export into a new or empty directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: OrderedDict[Path, IO[str]] = OrderedDict()

    def start(self) -> None:
        """Raises InvalidInput when the directory holds anything (an export is never
        mixed into another one)."""
        if self.root.exists() and (not self.root.is_dir() or any(self.root.iterdir())):
            raise InvalidInput(f"{self.root} is not an empty directory.")
        self.root.mkdir(parents=True, exist_ok=True)

    def add(self, path: str, fields: dict[str, Any]) -> None:
        line = json.dumps({"path": path, "fields": fields}, ensure_ascii=False, allow_nan=False)
        self._file(file_for(path.rsplit("/", 1)[0])).write(line + "\n")

    def _file(self, relative: Path) -> IO[str]:
        handle = self.files.get(relative)
        if handle is not None:
            self.files.move_to_end(relative)
            return handle
        if len(self.files) >= OPEN_FILES:
            self.files.popitem(last=False)[1].close()
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        self.files[relative] = handle = target.open("a", encoding="utf-8")
        return handle

    def finish(self, manifest: dict[str, Any]) -> None:
        """Close every file, then write the manifest (atomically: it marks the end)."""
        self.close()
        body = {"format": FORMAT, "version": VERSION, **manifest}
        temporary = self.root / f".{MANIFEST}.tmp"
        temporary.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        temporary.replace(self.root / MANIFEST)

    def close(self) -> None:
        while self.files:
            self.files.popitem()[1].close()


class DumpReader:
    """Reads an export back, a line at a time."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def manifest(self) -> dict[str, Any]:
        """Raises InvalidInput for a directory that is not a complete export."""
        try:
            found = json.loads((self.root / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise InvalidInput(f"{self.root} has no {MANIFEST}: not a complete export.") from err
        except (OSError, ValueError) as err:
            raise InvalidInput(f"{self.root / MANIFEST} cannot be read: {err}") from err
        if not isinstance(found, dict) or (found.get("format"), found.get("version")) != (
            FORMAT,
            VERSION,
        ):
            raise InvalidInput(f"{self.root / MANIFEST} is not a {FORMAT} version {VERSION}.")
        return found

    def records(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """``(where, path, fields)`` of every line of every file, ``where`` being
        ``file:line`` for messages. Raises InvalidInput for a line that is not a document."""
        for file in self._files():
            with file.open(encoding="utf-8") as lines:
                for number, line in enumerate(lines, 1):
                    where = f"{file.relative_to(self.root)}:{number}"
                    yield where, *_document(line, where)

    def _files(self) -> Iterator[Path]:
        """Every NDJSON file, in a stable order, listing one directory at a time."""
        for directory, subdirectories, names in os.walk(self.root):
            subdirectories.sort()
            for name in sorted(names):
                if name.endswith(SUFFIX):
                    yield Path(directory) / name


def _document(line: str, where: str) -> tuple[str, dict[str, Any]]:
    try:
        found = json.loads(line)
    except ValueError as err:
        raise InvalidInput(f"{where}: not JSON ({err})") from err
    if not isinstance(found, dict) or set(found) != {"path", "fields"}:
        raise InvalidInput(f"{where}: a line is {{'path': ..., 'fields': {{...}}}}")
    path, fields = found["path"], found["fields"]
    if not isinstance(path, str) or not isinstance(fields, dict):
        raise InvalidInput(f"{where}: 'path' must be a string and 'fields' an object")
    return path, fields
