"""Staff review functions: ask a customer for a review, or record that they left one."""

from __future__ import annotations

from typing import Any

from functions import https_fn
from shared.domain.common import random_id
from shared.domain.identity import StaffIdentity
from shared.domain.reviews import Review, ReviewCompletionBody, ReviewRequestBody
from shared.errors import InvalidInput
from shared.services import reviews as service


def _view(review: Review) -> dict[str, Any]:
    return review.model_dump(
        mode="json", include={"id", "lead_id", "platform", "status", "rating", "requested_at"}
    )


def _request(
    req: https_fn.Request, staff: StaffIdentity, body: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    asked = ReviewRequestBody.model_validate(body)
    staff.require_company(asked.company_id or staff.company_id)
    review = service.request_review(
        req.store,
        req.queue,
        req.messenger,
        req.now(),
        staff=staff,
        company_id=staff.company_id,
        lead_id=asked.lead_id,
        review_id=random_id(),
        platform=asked.platform,
        message=asked.message,
    )
    return _view(review), 201


def _complete(
    req: https_fn.Request, staff: StaffIdentity, body: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    done = ReviewCompletionBody.model_validate(body)
    staff.require_company(done.company_id or staff.company_id)
    review = service.complete_review(
        req.store,
        req.now(),
        staff=staff,
        company_id=staff.company_id,
        review_id=done.review_id,
        rating=done.rating,
    )
    return _view(review), 200


@https_fn.on_request(methods=("POST",), sends=True)
def request_review(req: https_fn.Request) -> https_fn.Result:
    """POST ``{lead_id, platform?, message?}`` asks the customer for a review (201);
    ``{"action": "complete", review_id, rating}`` records that they left one (200)."""
    staff = req.staff()
    body = req.body()
    action = body.get("action", "request")
    if action == "complete":
        return _complete(req, staff, body)
    if action != "request":
        raise InvalidInput("action must be 'request' or 'complete'.")
    return _request(req, staff, body)
