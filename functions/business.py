"""Business development: ``consultations`` (staff, Firebase ID token). Resource downloads
are ``download_resource`` (functions/downloads.py); business profiles, audits, strategies
and resources are served by ``staff_api`` (``shared/services/business.py``).

    consultations  /companies/{c}/consultations               GET (list), POST (book)
                   /companies/{c}/consultations/{id}          GET, PATCH (type, topic, link, notes)
                   /companies/{c}/consultations/{id}/cancel   POST {"reason", "notify_attendee"}
                   /companies/{c}/consultations/{id}/complete POST {"notes", "send_summary"}
"""

from __future__ import annotations

from functions import https_fn
from functions._http import MethodNotAllowed
from functions.https_fn import Request, Result
from shared.domain.common import is_document_id
from shared.domain.consultations import BookingRequest, CancelRequest, CompleteRequest
from shared.domain.identity import StaffIdentity
from shared.errors import NotFound
from shared.services import consultations_lifecycle as lifecycle
from shared.services.consultations import CONSULTATIONS, book
from shared.staff_api.domain.lists import Scope
from shared.staff_api.services import writes
from shared.staff_api.services.resources import get_item, list_items

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


def _collection(req: Request, staff: StaffIdentity, company_id: str) -> Result:
    if req.method == "GET":
        page = list_items(req.store, staff, CONSULTATIONS, Scope(company_id), req.args.to_dict())
        return {"items": page.items, "next_cursor": page.next_cursor}, 200
    if req.method != "POST":
        raise MethodNotAllowed(("GET", "POST"))
    booking = BookingRequest.model_validate(req.body())
    item, created = book(
        req.store, req.queue, req.now(), staff, company_id, booking, req.idempotency_key()
    )
    return item, 201 if created else 200


def _action(req: Request, staff: StaffIdentity, c: str, item: str, action: str) -> Result:
    if req.method != "POST":
        raise MethodNotAllowed(("POST",))
    ports = (req.store, req.queue, req.messenger)
    if action == "cancel":
        cancel = CancelRequest.model_validate(req.body())
        return lifecycle.cancel(*ports, req.now(), staff, c, item, cancel), 200
    done = CompleteRequest.model_validate(req.body())
    return lifecycle.complete(*ports, req.now(), staff, c, item, done), 200


@https_fn.on_request(methods=("GET", "POST", "PATCH"), sends=True)
def consultations(req: Request) -> Result:
    """Book consultations (never overlapping, with reminders), list, edit, cancel and
    complete them."""
    staff = req.staff()
    company_id, item_id, action = _route(req.path)
    # Another company's data is refused before anything about it is looked at.
    staff.require_company(company_id)
    if item_id is None:
        return _collection(req, staff, company_id)
    if action is not None:
        return _action(req, staff, company_id, item_id, action)
    scope = Scope(company_id)
    if req.method == "GET":
        return get_item(req.store, staff, CONSULTATIONS, scope, item_id), 200
    if req.method == "PATCH":
        changed = writes.update_item(
            req.store, req.now(), staff, CONSULTATIONS, scope, item_id, req.body()
        )
        return changed, 200
    raise MethodNotAllowed(("GET", "PATCH"))
