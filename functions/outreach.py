"""Staff outreach functions: importing businesses and their contacts from CSV."""

from __future__ import annotations

from msgspec.structs import asdict

from functions import https_fn
from shared.campaigns.services.outreach_import import import_csv
from shared.domain.common import random_id
from shared.errors import InvalidInput


def _csv_text(req: https_fn.Request) -> str:
    """The CSV: the body itself (``text/csv``), or ``{"csv": "..."}`` as JSON."""
    if req.flask.mimetype in ("text/csv", "text/plain"):
        try:
            return req.raw().decode("utf-8")
        except UnicodeDecodeError as err:
            raise InvalidInput("The CSV must be UTF-8 text.") from err
    text = req.body().get("csv")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput('Send the CSV as text/csv, or as JSON {"csv": "..."}.')
    return text


@https_fn.on_request(methods=("POST",))
def outreach_import(req: https_fn.Request) -> https_fn.Result:
    """Staff (managers): POST a CSV of businesses and contacts (``text/csv``, header row
    first). Good rows are imported, duplicates (by normalised name and domain, or
    e-mail) skipped; the answer lists each duplicate and each invalid row with its row
    number and fields."""
    staff = req.staff()
    staff.require_company(req.args.get("company_id") or staff.company_id)
    import_id = random_id()
    report = import_csv(req.store, req.now(), staff, _csv_text(req), import_id)
    return {"import_id": import_id, **asdict(report)}, 200
