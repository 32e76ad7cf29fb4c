"""Public web-form functions: no login, identified by the company's public form key."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework

from functions._http import client_ip, cors_headers, preflight, read_body, respond_to_page
from shared import bootstrap
from shared.domain.leads import LeadSubmission, submission_from_form
from shared.services.intake import intake_lead, load_company
from shared.settings import get_settings

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _preflight(request: flask.Request) -> flask.Response:
    """Answer CORS preflight from the allowed origins of the company named by ``?key=``."""
    key = request.args.get("key", "")
    company = load_company(bootstrap.document_store(), key)
    return preflight(request.headers.get("Origin"), company.allowed_origins)


def _lead_intake(request: flask.Request) -> flask.Response | tuple[Any, int]:
    if request.method == "OPTIONS":
        return _preflight(request)
    if request.method != "POST":
        return {"error": {"code": "method-not-allowed", "message": "Use POST."}}, 405
    body = read_body(request, get_settings().max_body_bytes)
    data = submission_from_form(body, request.args.get("key"))
    data.setdefault("submission_id", request.headers.get("Idempotency-Key"))
    sub = LeadSubmission.model_validate(data)
    origin = request.headers.get("Origin")
    result = intake_lead(
        bootstrap.document_store(), bootstrap.clock, sub, client_ip(request), origin
    )
    headers = cors_headers(origin, result.company.allowed_origins)
    if result.outcome == "duplicate":  # a retry: the client may tell it from a new post
        headers["Idempotent-Replayed"] = "true"
    if result.redirect_url and request.mimetype in _FORM_TYPES:
        return flask.Response(status=303, headers={**headers, "Location": result.redirect_url})
    body_out = {"status": "received", "lead_id": result.lead_id}
    status = 201 if result.outcome == "created" else 200
    return flask.make_response(flask.jsonify(body_out), status, headers)


@functions_framework.http
def lead_intake(request: flask.Request) -> flask.Response:
    """Web form → lead. JSON or urlencoded; CORS from the company's allowed origins."""
    return respond_to_page(request, lambda: _lead_intake(request))
