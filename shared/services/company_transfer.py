"""Export a company's documents, and import them under the same or another id.

Both stream: the export writes each document as it is read (a page at a time), the import
reads the export twice, a line at a time, first to check every line (so a damaged export
writes nothing), then to write in commits of at most ``BATCH`` documents. Memory does not
grow with the company's size. An import goes into a company without documents, unless
``merge`` is asked for (documents are then replaced whole, others left as they are).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from msgspec import Struct

from shared.domain.company_setup import check_company_id
from shared.domain.company_transfer import company_of, rehome
from shared.errors import InvalidInput, NotFound, Refused

log = logging.getLogger("growthkit.company_transfer")
Json = dict[str, Any]
BATCH = 500  # Firestore's most writes in one commit
# Told how many documents are done so far and where the work is.
Progress = Callable[[int, str], None]


class CompanyData(Protocol):
    """A company's documents as typed JSON (``shared.adapters.firestore_json``)."""

    def documents(self, company_id: str) -> Iterator[tuple[str, Json]]:
        """``(path, fields)`` of the company document and all below it, a page at a time."""
        ...

    def has_documents(self, company_id: str) -> bool: ...
    def check(self, fields: Json) -> None:
        """Raises ValueError unless ``fields`` can be written."""
        ...

    def write(self, documents: Sequence[tuple[str, Json]], merge: bool) -> None:
        """One commit; each created (AlreadyExists if there) or, with ``merge``, replaced."""
        ...


class ExportSink(Protocol):
    def start(self) -> None: ...
    def add(self, path: str, fields: Json) -> None: ...
    def finish(self, manifest: Json) -> None: ...
    def close(self) -> None: ...


class ExportSource(Protocol):
    def manifest(self) -> Json: ...
    def records(self) -> Iterator[tuple[str, str, Json]]:
        """``(where, path, fields)`` of every document, ``where`` naming its line."""
        ...


class Transferred(Struct, frozen=True):
    company_id: str
    documents: int
    from_company_id: str | None = None


def export_company(
    source: CompanyData,
    sink: ExportSink,
    company_id: str,
    now: datetime,
    progress: Progress | None = None,
) -> Transferred:
    """Write every document of ``companies/{company_id}`` to ``sink``.

    Raises:
        NotFound: the company has no document at all. InvalidInput: the sink is not empty.
    """
    if not source.has_documents(company_id):
        raise NotFound(f"Company {company_id} has no documents.")
    sink.start()
    count = 0
    try:
        for path, fields in source.documents(company_id):
            sink.add(path, fields)
            count += 1
            if progress and count % BATCH == 0:
                progress(count, path)
    finally:
        sink.close()
    if progress:
        progress(count, "done")
    sink.finish({"company_id": company_id, "documents": count, "exported_at": now.isoformat()})
    log.info("exported %d documents of %s", count, company_id)
    return Transferred(company_id, count)


def import_company(
    source: ExportSource,
    target: CompanyData,
    company_id: str,
    merge: bool = False,
    progress: Progress | None = None,
) -> Transferred:
    """Restore an export as ``companies/{company_id}`` (paths, references and company ids
    inside documents renamed when the export was of another company).

    Raises:
        InvalidInput: not a complete export, a damaged line, a bad company id.
        Refused: the company has documents and ``merge`` was not asked for.
    """
    manifest = source.manifest()
    old = str(manifest.get("company_id", ""))
    if company_id != old:
        check_company_id(company_id)  # a new id follows today's rules; an old one stays
    if not merge and target.has_documents(company_id):
        raise Refused(
            f"Company {company_id} has documents already: import into a company without "
            "any, or pass --merge to replace documents of the same path."
        )
    expected = manifest.get("documents")
    found = _checked(source, target, old)
    if found != expected:
        raise InvalidInput(f"The export lists {expected} documents but holds {found}.")
    written = _write(source, target, old, company_id, merge, progress)
    log.info("imported %d documents of %s into %s", written, old, company_id)
    return Transferred(company_id, written, old)


def _checked(source: ExportSource, target: CompanyData, old: str) -> int:
    """Every line read and checked, nothing written; how many documents there are."""
    count = 0
    for where, path, fields in source.records():
        if company_of(path) != old:
            raise InvalidInput(f"{where}: {path} is not a document of company {old}.")
        try:
            target.check(fields)
        except ValueError as err:
            raise InvalidInput(f"{where}: {err}") from err
        count += 1
    return count


def _write(
    source: ExportSource,
    target: CompanyData,
    old: str,
    new: str,
    merge: bool,
    progress: Progress | None,
) -> int:
    batch: list[tuple[str, Json]] = []
    written = 0
    for _, path, fields in source.records():
        batch.append(rehome(path, fields, old, new))
        if len(batch) == BATCH:
            target.write(batch, merge)
            written += len(batch)
            batch = []
            if progress:
                progress(written, path)
    if batch:
        target.write(batch, merge)
        written += len(batch)
    if progress:
        progress(written, "done")
    return written
