"""Referral functions: public redemption, staff code management, hourly expiry."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework

from functions._http import (
    client_ip,
    cors_headers,
    headers_of,
    preflight,
    read_body,
    respond,
    respond_to_page,
)
from shared import bootstrap
from shared.adapters.auth import verify_bearer
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
from shared.events import scheduled_event
from shared.services.intake import load_company
from shared.services.referral_codes import (
    create_referral,
    expire_due_referrals,
    expire_referral,
    list_referrals,
)
from shared.services.referrals import redeem_referral as redeem
from shared.settings import get_settings

_NOT_ALLOWED = {"error": {"code": "method-not-allowed", "message": "Use GET or POST."}}


def _preflight(request: flask.Request) -> flask.Response:
    """CORS preflight from the allowed origins of the company named by ``?key=``."""
    company = load_company(bootstrap.document_store(), request.args.get("key", ""))
    return preflight(request.headers.get("Origin"), company.allowed_origins)


def _redeem(request: flask.Request) -> flask.Response | tuple[Any, int]:
    if request.method == "OPTIONS":
        return _preflight(request)
    if request.method != "POST":
        return {"error": {"code": "method-not-allowed", "message": "Use POST."}}, 405
    body = read_body(request, get_settings().max_body_bytes)
    req = RedemptionRequest.model_validate(redemption_from_form(body, request.args.get("key")))
    origin = request.headers.get("Origin")
    result = redeem(bootstrap.document_store(), bootstrap.clock, req, client_ip(request), origin)
    out = {
        "status": "redeemed",
        "code": result.code,
        "lead_id": result.lead_id,
        "offer_details": result.offer_details,
    }
    headers = cors_headers(origin, result.company.allowed_origins)
    if result.replayed:  # the same person and code again: the first redemption's answer
        headers["Idempotent-Replayed"] = "true"
    return flask.make_response(flask.jsonify(out), 201 if result.created else 200, headers)


@functions_framework.http
def redeem_referral(request: flask.Request) -> flask.Response:
    """A visitor redeems a referral code. JSON or urlencoded; CORS like lead_intake."""
    return respond_to_page(request, lambda: _redeem(request))


def _public(referral: Referral) -> dict[str, Any]:
    return referral.model_dump(mode="json")


def _list(request: flask.Request, staff: StaffIdentity) -> tuple[Any, int]:
    raw_status = request.args.get("status")
    try:
        status = ReferralStatus(raw_status) if raw_status else None
    except ValueError as err:
        raise InvalidInput(f"Unknown status {raw_status!r}.") from err
    company_id = request.args.get("company_id") or staff.company_id
    found = list_referrals(bootstrap.document_store(), staff, company_id, status)
    return {"referrals": [_public(r) for r in found]}, 200


def _post(request: flask.Request, staff: StaffIdentity) -> tuple[Any, int]:
    store, clock = bootstrap.document_store(), bootstrap.clock
    body = read_body(request, get_settings().max_body_bytes)
    if "action" in body:
        action = ReferralAction.model_validate(body)
        company_id = action.company_id or staff.company_id
        expired = expire_referral(store, clock, staff, company_id, action.code)
        return {"referral": _public(expired)}, 200
    created = create_referral(store, clock, staff, ReferralCreate.model_validate(body))
    return {"referral": _public(created)}, 201


def _codes(request: flask.Request) -> tuple[Any, int]:
    staff = verify_bearer(request.headers.get("Authorization"))
    if request.method == "GET":
        return _list(request, staff)
    if request.method == "POST":
        return _post(request, staff)
    return _NOT_ALLOWED, 405


@functions_framework.http
def referral_codes(request: flask.Request) -> flask.Response:
    """Staff: POST creates a code, GET lists (``?status=``), POST {action: expire} ends one."""
    return respond(lambda: _codes(request))


@functions_framework.http
def expire_referrals(request: flask.Request) -> flask.Response:
    """Cloud Scheduler, hourly: active codes past their ``expires_at`` become expired."""

    def run() -> tuple[Any, int]:
        event = scheduled_event(headers_of(request), bootstrap.clock.now())
        store, queue = bootstrap.document_store(), bootstrap.task_queue()
        count = expire_due_referrals(store, queue, bootstrap.clock, event)
        return {"run": event.run_key, "expired": count}, 200

    return respond(run)
