"""Staff campaign function: status changes, previews, recipients' outcomes and progress.

Campaigns themselves are created and edited through ``staff_api``
(``/companies/{c}/campaigns``); this function moves them through their statuses, which
schedules or stops the sending. Conversions are ``on_lead_campaigns``
(functions/conversions.py), which loads none of the campaign models.
"""

from __future__ import annotations

from typing import Any

import flask
import functions_framework

from functions._http import read_body, respond
from shared import bootstrap
from shared.adapters.auth import verify_bearer
from shared.domain.campaign_keys import RecipientStatus
from shared.domain.campaigns import CampaignRequest
from shared.domain.common import is_document_id
from shared.domain.identity import StaffIdentity
from shared.errors import InvalidInput
from shared.services import campaigns as service
from shared.services import campaigns_progress as progress
from shared.settings import get_settings

_NOT_ALLOWED = {"error": {"code": "method-not-allowed", "message": "Use GET or POST."}}


def _limit(raw: str | None) -> int:
    try:
        limit = int(raw or 50)
    except ValueError as err:
        raise InvalidInput("limit must be a whole number.") from err
    if not 1 <= limit <= 100:
        raise InvalidInput("limit must be between 1 and 100.")
    return limit


def _get(request: flask.Request, staff: StaffIdentity) -> tuple[Any, int]:
    store, args = bootstrap.document_store(), request.args
    campaign_id = args.get("id", "")
    if not is_document_id(campaign_id) or len(campaign_id) > 200:
        raise InvalidInput("Name the campaign: ?id=...", {"fields": {"id": "required"}})
    if args.get("view") != "recipients":
        return progress.progress(store, staff, campaign_id), 200
    status = args.get("status") or None
    if status is not None and status not in {s.value for s in RecipientStatus}:
        raise InvalidInput(f"Unknown recipient status {status!r}.")
    after, limit = args.get("after", ""), _limit(args.get("limit"))
    return progress.list_recipients(store, staff, campaign_id, status, after, limit), 200


def _post(request: flask.Request, staff: StaffIdentity) -> tuple[Any, int]:
    req = CampaignRequest.model_validate(read_body(request, get_settings().max_body_bytes))
    staff.require_company(req.company_id or staff.company_id)
    store, now = bootstrap.document_store(), bootstrap.clock.now()
    if req.action == "preview":
        return service.preview(store, staff, req.campaign_id, req.limit, req.template), 200
    if req.action == "mark":
        assert req.recipient_id is not None and req.status is not None  # checked by the model
        marked = service.mark_recipient(
            store, now, staff, req.campaign_id, req.recipient_id, req.status, req.reason
        )
        return {"recipient": {k: v for k, v in marked.items() if k != "updated_at"}}, 200
    moved = service.change_status(
        store, bootstrap.task_queue(), now, staff, req.campaign_id, req.action
    )
    return {"campaign": moved.model_dump(mode="json")}, 200


def _campaigns(request: flask.Request) -> tuple[Any, int]:
    staff = verify_bearer(request.headers.get("Authorization"))
    if request.method == "GET":
        staff.require_company(request.args.get("company_id") or staff.company_id)
        return _get(request, staff)
    if request.method == "POST":
        return _post(request, staff)
    return _NOT_ALLOWED, 405


@functions_framework.http
def campaigns(request: flask.Request) -> flask.Response:
    """Staff: POST ``{"action": "schedule|unschedule|start|pause|resume|complete|cancel",
    "campaign_id"}`` moves a campaign (409 when its status does not allow it);
    ``{"action": "preview", "campaign_id", "limit"?, "template"?}`` renders the message
    for the first recipients, each with its text or error; ``{"action": "mark",
    "campaign_id", "recipient_id", "status": "responded|converted|excluded"}``. GET
    ``?id=`` reads progress against the goals; ``?id=&view=recipients&status=&after=``
    lists recipients."""
    return respond(lambda: _campaigns(request))
