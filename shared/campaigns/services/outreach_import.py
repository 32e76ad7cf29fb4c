"""Importing businesses and their contacts from CSV.

Every row is validated on its own: the good rows are imported, each bad one is reported
with its row number (the spreadsheet's: the header is row 1) and its fields' errors.
Businesses and contacts get ids derived from what makes them the same (normalised name
and domain; normalised e-mail) and are only ever created, so importing a file twice, two
rows for one business, or a contact already known makes nothing twice: those rows are
reported as duplicates.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections import Counter
from datetime import datetime
from typing import Any

from msgspec import Struct, field
from pydantic import ValidationError

from shared.campaigns.domain.outreach import (
    COLUMNS,
    MAX_CUSTOM_COLUMNS,
    MAX_ROWS,
    Business,
    Contact,
    ImportRow,
    business_id,
    business_path,
    contact_id,
    contact_path,
    normalize_business_name,
)
from shared.domain.common import normalize_email
from shared.domain.consent import lawful_basis_record
from shared.domain.identity import Role, StaffIdentity
from shared.errors import AlreadyExists, Contention, InvalidInput
from shared.ports import DocumentStore, Write

log = logging.getLogger("growthkit.outreach")

BATCH = 400
# Headers people write for the same columns.
ALIASES = {
    "company": "business_name",
    "business": "business_name",
    "name": "business_name",
    "website": "domain",
    "url": "domain",
    "email": "contact_email",
    "first_name": "contact_first_name",
    "last_name": "contact_last_name",
    "title": "contact_title",
    "job_title": "contact_title",
    "lawful_basis": "contact_lawful_basis",
    "time_zone": "timezone",
}
_CUSTOM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
# Every known column and the custom ones a row may fill, with room for empty spare columns.
MAX_COLUMNS = 4 * (len(COLUMNS) + MAX_CUSTOM_COLUMNS)


class ImportReport(Struct):
    rows: int = 0
    businesses_created: int = 0
    contacts_created: int = 0
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def _header(raw: list[str]) -> list[str]:
    if len(raw) > MAX_COLUMNS:
        fields = {"header": f"{len(raw)} columns; at most {MAX_COLUMNS}"}
        raise InvalidInput("The CSV header is not usable.", {"fields": fields})
    names = [ALIASES.get(k, k) for k in (re.sub(r"\W+", "_", h.strip().lower()) for h in raw)]
    problems = {}
    if "business_name" not in names:
        problems["business_name"] = "the header needs a business_name column"
    repeated = sorted(n for n, times in Counter(names).items() if times > 1)
    if repeated:
        problems["header"] = f"columns named twice: {', '.join(repeated)}"
    bad = [n for n in names if n not in COLUMNS and not _CUSTOM_NAME.match(n)]
    if bad:
        problems["header"] = f"column names must be letters, digits and _: {bad[:5]}"
    if problems:
        raise InvalidInput("The CSV header is not usable.", {"fields": problems})
    return names


def parse_csv(text: str) -> list[tuple[int, dict[str, str]]]:
    """(row number, non-blank cells by column) for each data row; InvalidInput when the
    file itself cannot be read (no header, broken quoting, too many rows or columns).

    Quoting is strict: a quote never closed would otherwise swallow every row after it
    into one cell, silently. Cells are kept as written, formula-like ones (``=...``,
    ``+``, ``-``, ``@``) included: nothing here evaluates them, and nothing exports them
    to a spreadsheet."""
    if "\x00" in text:
        raise InvalidInput("The CSV contains NUL characters: save it as UTF-8 text (not UTF-16).")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), strict=True)
    try:
        header = _header(next(reader, []))
        rows: list[tuple[int, dict[str, str]]] = []
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise InvalidInput(f"At most {MAX_ROWS} rows per import; split the file.")
            extra = cells[len(header) :]
            named = {k: v.strip() for k, v in zip(header, cells, strict=False) if v.strip()}
            if any(v.strip() for v in extra):
                named["__extra__"] = "more cells than header columns"
            rows.append((number, named))
    except csv.Error as err:
        raise InvalidInput(f"The CSV cannot be read: {err} (line {reader.line_num}).") from err
    return rows


def _validate(cells: dict[str, str]) -> ImportRow:
    if "__extra__" in cells:
        raise ValueError(cells["__extra__"])
    known = {k: v for k, v in cells.items() if k in COLUMNS}
    custom = {k: v for k, v in cells.items() if k not in COLUMNS}
    if len(custom) > MAX_CUSTOM_COLUMNS:
        raise ValueError(f"at most {MAX_CUSTOM_COLUMNS} extra columns")
    return ImportRow.model_validate({**known, "custom_fields": custom})


def _row_errors(err: Exception) -> dict[str, str]:
    if isinstance(err, ValidationError):
        return {
            ".".join(map(str, e["loc"])) or "row": e["msg"].removeprefix("Value error, ")
            for e in err.errors()
        }
    return {"row": str(err)}


def _records(
    staff: StaffIdentity, row: ImportRow, import_id: str, now: datetime
) -> tuple[Business, Contact | None]:
    company_id = staff.company_id
    bid = business_id(row.business_name, row.domain)
    stamp = {"company_id": company_id, "import_id": import_id, "created_at": now, "updated_at": now}
    business = Business(
        id=bid,
        name=row.business_name,
        name_normalized=normalize_business_name(row.business_name),
        **row.model_dump(include={"domain", "industry", "city", "country", "phone", "timezone"}),
        custom_fields=dict(row.custom_fields),
        **stamp,
    )
    if row.contact_email is None:
        return business, None
    contact = Contact(
        id=contact_id(row.contact_email),
        business_id=bid,
        email=row.contact_email,
        email_normalized=normalize_email(row.contact_email),
        first_name=row.contact_first_name,
        last_name=row.contact_last_name,
        title=row.contact_title,
        phone=row.contact_phone,
        timezone=row.timezone,
        lawful_basis=_basis(staff, row, now),
        **stamp,
    )
    return business, contact


def _basis(staff: StaffIdentity, row: ImportRow, now: datetime) -> dict[str, Any] | None:
    """The row's lawful basis, recorded as the importing manager's decision, now."""
    basis = row.contact_lawful_basis
    return None if basis is None else lawful_basis_record(basis, staff.uid, now)


def import_csv(
    store: DocumentStore, now: datetime, staff: StaffIdentity, text: str, import_id: str
) -> ImportReport:
    """Import the businesses and contacts of a CSV file.

    Args:
        store: The document store.
        now: The time of the import.
        staff: The caller (a manager or admin).
        text: The CSV, with a header row (``business_name``, ``domain``, ``industry``,
            ``city``, ``country``, ``phone``, ``timezone``, ``contact_email``,
            ``contact_first_name``, ``contact_last_name``, ``contact_title``,
            ``contact_phone``, ``contact_lawful_basis``; other columns become custom
            fields).
        import_id: Names this import on what it creates.

    Returns:
        Counts of what was created, each duplicate row and each invalid row with its
        fields' errors.

    Raises:
        PermissionDenied: a role below manager.
        InvalidInput: the file cannot be read as CSV, or its header is not usable.
    """
    staff.require_role(Role.MANAGER)
    report = ImportReport()
    businesses: dict[str, tuple[int, Business]] = {}
    contacts: dict[str, tuple[int, Contact]] = {}
    for number, cells in parse_csv(text):
        report.rows += 1
        try:
            row = _validate(cells)
        except (ValidationError, ValueError) as err:
            report.errors.append({"row": number, "fields": _row_errors(err)})
            continue
        business, contact = _records(staff, row, import_id, now)
        businesses.setdefault(business.id, (number, business))
        if contact is None:
            continue
        if contact.id in contacts:
            earlier = contacts[contact.id][0]
            report.duplicates.append(_duplicate(number, "contact", contact.id, f"row {earlier}"))
            continue
        contacts[contact.id] = (number, contact)
    _create(store, staff.company_id, businesses, contacts, report)
    log.info("import %s into %s: %s", import_id, staff.company_id, _summary(report))
    return report


def _duplicate(row: int, kind: str, item: str, of: str) -> dict[str, Any]:
    return {"row": row, "kind": kind, "id": item, "duplicate_of": of}


def _summary(report: ImportReport) -> str:
    return (
        f"{report.rows} rows, {report.businesses_created} businesses and "
        f"{report.contacts_created} contacts created, {len(report.duplicates)} duplicates, "
        f"{len(report.errors)} invalid"
    )


def _create(
    store: DocumentStore,
    company_id: str,
    businesses: dict[str, tuple[int, Business]],
    contacts: dict[str, tuple[int, Contact]],
    report: ImportReport,
) -> None:
    """Create what does not exist yet, a batch at a time; a batch that met a document
    created meanwhile (a concurrent import) is read and tried again."""
    items: list[tuple[str, int, str, dict[str, Any]]] = [
        ("business", n, business_path(company_id, b.id), b.model_dump())
        for n, b in businesses.values()
    ] + [
        ("contact", n, contact_path(company_id, c.id), c.model_dump()) for n, c in contacts.values()
    ]
    for start in range(0, len(items), BATCH):
        chunk = items[start : start + BATCH]
        for _ in range(3):
            try:
                _create_chunk(store, chunk, report)
                break
            except AlreadyExists:
                continue
        else:
            raise Contention("Another import keeps creating the same businesses; try again.")


def _create_chunk(
    store: DocumentStore, chunk: list[tuple[str, int, str, dict[str, Any]]], report: ImportReport
) -> None:
    existing = {s.path for s in store.get_all([path for _, _, path, _ in chunk]) if s.exists}
    fresh = [item for item in chunk if item[2] not in existing]
    if fresh:
        store.commit([Write(path, data, "create") for _, _, path, data in fresh])
    for kind, number, path, _ in chunk:
        if path in existing:
            report.duplicates.append(
                _duplicate(number, kind, path.rsplit("/", 1)[1], "earlier import")
            )
    report.businesses_created += sum(1 for kind, *_ in fresh if kind == "business")
    report.contacts_created += sum(1 for kind, *_ in fresh if kind == "contact")
