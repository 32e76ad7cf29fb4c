"""Staff outreach functions: importing businesses and their contacts from CSV."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework
from msgspec.structs import asdict

from functions._http import read_body, respond
from shared import bootstrap
from shared.adapters.auth import verify_bearer
from shared.domain.common import random_id
from shared.errors import InvalidInput
from shared.services.outreach import import_csv
from shared.settings import get_settings


def _csv_text(request: flask.Request) -> str:
    """The CSV: the body itself (``text/csv``), or ``{"csv": "..."}`` as JSON."""
    if request.mimetype in ("text/csv", "text/plain"):
        raw = request.get_data(cache=True)  # already read and bounded before the function
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InvalidInput("The CSV must be UTF-8 text.") from err
    body = read_body(request, get_settings().max_body_bytes)
    text = body.get("csv")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput('Send the CSV as text/csv, or as JSON {"csv": "..."}.')
    return text


def _outreach_import(request: flask.Request) -> tuple[Any, int]:
    if request.method != "POST":
        return {"error": {"code": "method-not-allowed", "message": "Use POST."}}, 405
    staff = verify_bearer(request.headers.get("Authorization"))
    staff.require_company(request.args.get("company_id") or staff.company_id)
    import_id = random_id()
    report = import_csv(
        bootstrap.document_store(), bootstrap.clock.now(), staff, _csv_text(request), import_id
    )
    return {"import_id": import_id, **asdict(report)}, 200


@functions_framework.http
def outreach_import(request: flask.Request) -> flask.Response:
    """Staff (managers): POST a CSV of businesses and contacts (``text/csv``, header row
    first). Good rows are imported, duplicates (by normalised name and domain, or
    e-mail) skipped; the answer lists each duplicate and each invalid row with its row
    number and fields."""
    return respond(lambda: _outreach_import(request))
