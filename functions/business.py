"""Business development: ``consultations`` (staff, Firebase ID token). Resource downloads
are ``download_resource`` (functions/downloads.py); business profiles, audits, strategies
and resources are served by ``staff_api`` (``shared/services/business.py``).

    consultations  /companies/{c}/consultations               GET (list), POST (book)
                   /companies/{c}/consultations/{id}          GET, PATCH (type, topic, link, notes)
                   /companies/{c}/consultations/{id}/cancel   POST {"reason", "notify_attendee"}
                   /companies/{c}/consultations/{id}/complete POST {"notes", "send_summary"}
"""

from __future__ import annotations

from typing import Any

import flask
import functions_framework

from functions._http import (
    idempotency_key,
    not_allowed,
    read_body,
    respond,
)
from shared import bootstrap
from shared.adapters.auth import verify_bearer
from shared.domain.common import is_document_id
from shared.domain.consultations import BookingRequest, CancelRequest, CompleteRequest
from shared.domain.identity import StaffIdentity
from shared.domain.staff_api import Scope
from shared.errors import NotFound
from shared.services import consultations_lifecycle as lifecycle
from shared.services import staff_api_writes as writes
from shared.services.consultations import CONSULTATIONS, book
from shared.services.staff_api import get_item, list_items
from shared.settings import get_settings

Result = tuple[Any, int] | flask.Response
_ACTIONS = ("cancel", "complete")


def _route(path: str) -> tuple[str, str | None, str | None]:
    """(company, consultation id, action) of ``/companies/{c}/consultations[/{id}[/a]]``."""
    parts = [p for p in path.split("/") if p]
    shape_ok = 3 <= len(parts) <= 5 and parts[0] == "companies" and parts[2] == "consultations"
    if not shape_ok or not all(is_document_id(p) and len(p) <= 128 for p in parts):
        raise NotFound("Use /companies/{companyId}/consultations[/{id}[/cancel|/complete]].")
    action = parts[4] if len(parts) == 5 else None
    if action is not None and action not in _ACTIONS:
        raise NotFound(f"No action {action!r}; use cancel or complete.")
    return parts[1], parts[3] if len(parts) >= 4 else None, action


def _body(request: flask.Request) -> dict[str, Any]:
    return read_body(request, get_settings().max_body_bytes)


def _collection(request: flask.Request, staff: StaffIdentity, company_id: str) -> Result:
    store = bootstrap.document_store()
    if request.method == "GET":
        page = list_items(store, staff, CONSULTATIONS, Scope(company_id), request.args.to_dict())
        return {"items": page.items, "next_cursor": page.next_cursor}, 200
    if request.method != "POST":
        return not_allowed(("GET", "POST"))
    req = BookingRequest.model_validate(_body(request))
    now = bootstrap.clock.now()
    item, created = book(
        store, bootstrap.task_queue(), now, staff, company_id, req, idempotency_key(request)
    )
    return item, 201 if created else 200


def _action(request: flask.Request, staff: StaffIdentity, c: str, item: str, action: str) -> Result:
    if request.method != "POST":
        return not_allowed(("POST",))
    ports = (bootstrap.document_store(), bootstrap.task_queue(), bootstrap.messenger())
    now = bootstrap.clock.now()
    if action == "cancel":
        cancel = CancelRequest.model_validate(_body(request))
        return lifecycle.cancel(*ports, now, staff, c, item, cancel), 200
    done = CompleteRequest.model_validate(_body(request))
    return lifecycle.complete(*ports, now, staff, c, item, done), 200


def _consultations(request: flask.Request) -> Result:
    staff = verify_bearer(request.headers.get("Authorization"))
    company_id, item_id, action = _route(request.path)
    # Another company's data is refused before anything about it is looked at.
    staff.require_company(company_id)
    if item_id is None:
        return _collection(request, staff, company_id)
    if action is not None:
        return _action(request, staff, company_id, item_id, action)
    store, scope = bootstrap.document_store(), Scope(company_id)
    if request.method == "GET":
        return get_item(store, staff, CONSULTATIONS, scope, item_id), 200
    if request.method == "PATCH":
        now = bootstrap.clock.now()
        body = _body(request)
        return writes.update_item(store, now, staff, CONSULTATIONS, scope, item_id, body), 200
    return not_allowed(("GET", "PATCH"))


@functions_framework.http
def consultations(request: flask.Request) -> flask.Response:
    """Book consultations (never overlapping, with reminders), list, edit, cancel and
    complete them."""
    return respond(lambda: _consultations(request))
