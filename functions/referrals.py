"""Referral functions: public redemption, staff code management, hourly expiry."""

from __future__ import annotations

from typing import Any

import flask
from msgspec.structs import asdict

from functions import https_fn, scheduler_fn
from shared.domain.identity import StaffIdentity
from shared.domain.referrals import (
    RedemptionRequest,
    Referral,
    ReferralAction,
    ReferralCreate,
    ReferralStatus,
    redemption_from_form,
)
from shared.errors import InvalidInput
from shared.services.referral_codes import (
    create_referral,
    expire_referral,
    list_referrals,
)
from shared.services.referrals import redeem_referral as redeem
from shared.staff_api.domain.lists import refuse_unknown_parameters


@https_fn.on_request(methods=("POST",), public=True, cors=True)
def redeem_referral(req: https_fn.Request) -> https_fn.Result:
    """A visitor redeems a referral code. JSON or urlencoded; CORS like lead_intake."""
    redemption = RedemptionRequest.model_validate(
        redemption_from_form(req.body(), req.args.get("key"))
    )
    result = redeem(req.store, req.clock, redemption, req.client_ip, req.origin)
    req.allow_origins(result.company.allowed_origins)
    out = {
        "status": "redeemed",
        "code": result.code,
        "lead_id": result.lead_id,
        "offer_details": result.offer_details,
    }
    # The same person and code again: the first redemption's answer.
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return flask.make_response(flask.jsonify(out), 201 if result.created else 200, headers)


def _public(referral: Referral) -> dict[str, Any]:
    return referral.model_dump(mode="json")


def _list(req: https_fn.Request, staff: StaffIdentity) -> tuple[Any, int]:
    refuse_unknown_parameters(req.args, ("status", "company_id"))
    raw_status = req.args.get("status")
    try:
        status = ReferralStatus(raw_status) if raw_status else None
    except ValueError as err:
        raise InvalidInput(f"Unknown status {raw_status!r}.") from err
    company_id = req.args.get("company_id") or staff.company_id
    found = list_referrals(req.store, staff, company_id, status)
    return {"referrals": [_public(r) for r in found]}, 200


def _post(req: https_fn.Request, staff: StaffIdentity) -> tuple[Any, int]:
    body = req.body()
    if "action" in body:
        action = ReferralAction.model_validate(body)
        company_id = action.company_id or staff.company_id
        expired = expire_referral(req.store, req.clock, staff, company_id, action.code)
        return {"referral": _public(expired)}, 200
    created = create_referral(req.store, req.clock, staff, ReferralCreate.model_validate(body))
    return {"referral": _public(created)}, 201


@https_fn.on_request(methods=("GET", "POST"))
def referral_codes(req: https_fn.Request) -> https_fn.Result:
    """Staff: POST creates a code, GET lists (``?status=``), POST {action: expire} ends one."""
    staff = req.staff()
    return _list(req, staff) if req.method == "GET" else _post(req, staff)


@scheduler_fn.on_schedule(schedule="0 * * * *")
def expire_referrals(
    event: scheduler_fn.ScheduledEvent, ctx: scheduler_fn.Context
) -> dict[str, Any]:
    """Cloud Scheduler, hourly: active codes past their ``expires_at`` become expired (one
    task per company with codes due, a page of them per invocation)."""
    from shared.services.periodic import fan_out

    return asdict(fan_out(ctx.store, ctx.queue, ctx.now(), event, ctx.name))
