"""Staff review functions: ask a customer for a review, or record that they left one."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework

from functions._http import read_body, respond
from shared import bootstrap
from shared.adapters.auth import verify_bearer
from shared.domain.common import random_id
from shared.domain.identity import StaffIdentity
from shared.domain.reviews import Review, ReviewCompletionBody, ReviewRequestBody
from shared.errors import InvalidInput
from shared.services import reviews as service
from shared.settings import get_settings


def _view(review: Review) -> dict[str, Any]:
    return review.model_dump(
        mode="json", include={"id", "lead_id", "platform", "status", "rating", "requested_at"}
    )


def _request(staff: StaffIdentity, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = ReviewRequestBody.model_validate(body)
    staff.require_company(req.company_id or staff.company_id)
    review = service.request_review(
        bootstrap.document_store(),
        bootstrap.task_queue(),
        bootstrap.messenger(),
        bootstrap.clock.now(),
        staff=staff,
        company_id=staff.company_id,
        lead_id=req.lead_id,
        review_id=random_id(),
        platform=req.platform,
        message=req.message,
    )
    return _view(review), 201


def _complete(staff: StaffIdentity, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    req = ReviewCompletionBody.model_validate(body)
    staff.require_company(req.company_id or staff.company_id)
    review = service.complete_review(
        bootstrap.document_store(),
        bootstrap.clock.now(),
        staff=staff,
        company_id=staff.company_id,
        review_id=req.review_id,
        rating=req.rating,
    )
    return _view(review), 200


def _request_review(request: flask.Request) -> tuple[dict[str, Any], int]:
    if request.method != "POST":
        return {"error": {"code": "method-not-allowed", "message": "Use POST."}}, 405
    staff = verify_bearer(request.headers.get("Authorization"))
    body = read_body(request, get_settings().max_body_bytes)
    action = body.get("action", "request")
    if action == "complete":
        return _complete(staff, body)
    if action != "request":
        raise InvalidInput("action must be 'request' or 'complete'.")
    return _request(staff, body)


@functions_framework.http
def request_review(request: flask.Request) -> flask.Response:
    """POST ``{lead_id, platform?, message?}`` asks the customer for a review (201);
    ``{"action": "complete", review_id, rating}`` records that they left one (200)."""
    return respond(lambda: _request_review(request))
