"""Analytics event functions: ``track_events`` (public: the website snippet's batches, by
form key, CORS from the company's sites) and ``analytics_summary`` (staff: a company's
daily metrics over a date range, ``GET ?from=YYYY-MM-DD&to=YYYY-MM-DD``)."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework

from functions._http import client_ip, cors_headers, preflight, read_body, respond
from shared import bootstrap
from shared.adapters.auth import verify_bearer
from shared.domain.events import EventBatch
from shared.services.events import Visitor, ingest_events
from shared.services.events_summary import analytics_summary as summary
from shared.services.events_summary import date_range
from shared.services.intake import load_company
from shared.settings import get_settings

Result = tuple[Any, int] | flask.Response


def _track(request: flask.Request) -> Result:
    if request.method == "OPTIONS":
        company = load_company(bootstrap.document_store(), request.args.get("key", ""))
        return preflight(request.headers.get("Origin"), company.allowed_origins)
    if request.method != "POST":
        return {"error": {"code": "method-not-allowed", "message": "Use POST."}}, 405
    # navigator.sendBeacon posts text/plain (no preflight): read_body parses it as JSON.
    body = read_body(request, get_settings().max_body_bytes)
    body.setdefault("form_key", request.args.get("key") or "")
    batch = EventBatch.model_validate(body)
    origin = request.headers.get("Origin")
    visitor = Visitor(client_ip(request), request.headers.get("User-Agent"), origin)
    result = ingest_events(bootstrap.document_store(), bootstrap.clock.now(), batch, visitor)
    answer = {"stored": result.stored, "duplicates": result.duplicates}
    headers = cors_headers(origin, result.company.allowed_origins)
    return flask.make_response(flask.jsonify(answer), 202, headers)


@functions_framework.http
def track_events(request: flask.Request) -> flask.Response:
    """A batch of website analytics events (at most 100): stored and counted for the day."""
    return respond(lambda: _track(request))


def _summary(request: flask.Request) -> Result:
    staff = verify_bearer(request.headers.get("Authorization"))
    if request.method != "GET":
        return {"error": {"code": "method-not-allowed", "message": "Use GET."}}, 405
    company_id = request.args.get("company_id") or staff.company_id
    staff.require_company(company_id)
    now = bootstrap.clock.now()
    start, end = date_range(request.args.get("from"), request.args.get("to"), now)
    return summary(bootstrap.document_store(), staff, company_id, start, end), 200


@functions_framework.http
def analytics_summary(request: flask.Request) -> flask.Response:
    """A company's daily metrics (leads, reviews, content, website events...) per day and
    totalled over a range of at most 93 days."""
    return respond(lambda: _summary(request))
