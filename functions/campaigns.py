"""Staff campaign function: status changes, previews, recipients' outcomes and progress.

Campaigns themselves are created and edited through ``staff_api``
(``/companies/{c}/campaigns``); this function moves them through their statuses, which
schedules or stops the sending. Conversions are ``on_lead_campaigns``
(functions/conversions.py), which loads none of the campaign models.
"""

from __future__ import annotations

from typing import Any

from functions import https_fn
from functions.https_fn import Request, Result
from shared.campaigns.domain.campaigns import CampaignRequest
from shared.campaigns.domain.keys import RecipientStatus
from shared.campaigns.services import campaigns as service
from shared.campaigns.services import progress
from shared.domain.common import is_document_id
from shared.domain.identity import StaffIdentity
from shared.errors import InvalidInput
from shared.staff_api.domain.lists import refuse_unknown_parameters


def _limit(raw: str | None) -> int:
    try:
        limit = int(raw or 50)
    except ValueError as err:
        raise InvalidInput("limit must be a whole number.") from err
    if not 1 <= limit <= 100:
        raise InvalidInput("limit must be between 1 and 100.")
    return limit


def _get(req: Request, staff: StaffIdentity) -> tuple[Any, int]:
    args = req.args
    refuse_unknown_parameters(args, ("company_id", "id", "view", "status", "after", "limit"))
    campaign_id = args.get("id", "")
    if not is_document_id(campaign_id) or len(campaign_id) > 200:
        raise InvalidInput("Name the campaign: ?id=...", {"fields": {"id": "required"}})
    if args.get("view") != "recipients":
        return progress.progress(req.store, staff, campaign_id), 200
    status = args.get("status") or None
    if status is not None and status not in {s.value for s in RecipientStatus}:
        raise InvalidInput(f"Unknown recipient status {status!r}.")
    after, limit = args.get("after", ""), _limit(args.get("limit"))
    return progress.list_recipients(req.store, staff, campaign_id, status, after, limit), 200


def _post(req: Request, staff: StaffIdentity) -> tuple[Any, int]:
    asked = CampaignRequest.model_validate(req.body())
    staff.require_company(asked.company_id or staff.company_id)
    store, now = req.store, req.now()
    if asked.action == "preview":
        return service.preview(store, staff, asked.campaign_id, asked.limit, asked.template), 200
    if asked.action == "mark":
        assert asked.recipient_id is not None and asked.status is not None  # the model checks
        marked = service.mark_recipient(
            store, now, staff, asked.campaign_id, asked.recipient_id, asked.status, asked.reason
        )
        return {"recipient": {k: v for k, v in marked.items() if k != "updated_at"}}, 200
    moved = service.change_status(store, req.queue, now, staff, asked.campaign_id, asked.action)
    return {"campaign": moved.model_dump(mode="json")}, 200


@https_fn.on_request(methods=("GET", "POST"))
def campaigns(req: Request) -> Result:
    """Staff: POST ``{"action": "schedule|unschedule|start|pause|resume|complete|cancel",
    "campaign_id"}`` moves a campaign (409 when its status does not allow it);
    ``{"action": "preview", "campaign_id", "limit"?, "template"?}`` renders the message
    for the first recipients, each with its text or error; ``{"action": "mark",
    "campaign_id", "recipient_id", "status": "responded|converted|excluded"}``. GET
    ``?id=`` reads progress against the goals; ``?id=&view=recipients&status=&after=``
    lists recipients."""
    staff = req.staff()
    if req.method == "GET":
        staff.require_company(req.args.get("company_id") or staff.company_id)
        return _get(req, staff)
    return _post(req, staff)
