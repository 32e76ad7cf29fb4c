"""Public web-form functions: no login, identified by the company's public form key."""

from __future__ import annotations

import flask

from functions import https_fn
from shared.domain.leads import LeadSubmission, submission_from_form
from shared.services.intake import intake_lead


@https_fn.on_request(methods=("POST",), public=True, cors=True)
def lead_intake(req: https_fn.Request) -> https_fn.Result:
    """Web form → lead. JSON or urlencoded; CORS from the company's allowed origins."""
    data = submission_from_form(req.body(), req.args.get("key"))
    data.setdefault("submission_id", req.headers.get("Idempotency-Key"))
    sub = LeadSubmission.model_validate(data)
    result = intake_lead(req.store, req.clock, sub, req.client_ip, req.origin)
    req.allow_origins(result.company.allowed_origins)
    headers = {"Idempotent-Replayed": "true"} if result.outcome == "duplicate" else {}
    if result.redirect_url and req.is_form():
        return flask.Response(status=303, headers={**headers, "Location": result.redirect_url})
    body = {"status": "received", "lead_id": result.lead_id}
    status = 201 if result.outcome == "created" else 200
    return flask.make_response(flask.jsonify(body), status, headers)
