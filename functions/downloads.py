"""``download_resource``: a visitor's download form (public, by form key, CORS from the
company's sites), its own area so that it loads neither consultations nor staff code.

    download_resource  ?key={form key}&resource={id}   POST (form or JSON), OPTIONS
"""

from __future__ import annotations

from typing import Any

import flask
import functions_framework

from functions._http import (
    client_ip,
    cors_headers,
    not_allowed,
    preflight,
    read_body,
    respond,
)
from shared import bootstrap
from shared.domain.business_resources import DownloadRequest
from shared.services import business_downloads as downloads
from shared.services.intake import load_company
from shared.settings import get_settings

Result = tuple[Any, int] | flask.Response


def _download(request: flask.Request) -> Result:
    if request.method == "OPTIONS":
        company = load_company(bootstrap.document_store(), request.args.get("key", ""))
        return preflight(request.headers.get("Origin"), company.allowed_origins)
    if request.method != "POST":
        return not_allowed(("POST", "OPTIONS"))
    body = read_body(request, get_settings().max_body_bytes)
    body.setdefault("form_key", request.args.get("key") or body.get("key") or "")
    body.setdefault("resource_id", request.args.get("resource") or "")
    body.setdefault("submission_id", request.headers.get("Idempotency-Key"))
    req = DownloadRequest.model_validate(body)
    origin = request.headers.get("Origin")
    result = downloads.download_resource(
        bootstrap.document_store(), bootstrap.clock, req, client_ip(request), origin
    )
    headers = cors_headers(origin, result.company.allowed_origins)
    if request.accept_mimetypes.best == "application/json":  # a script fetching the link
        return flask.make_response(flask.jsonify({"url": result.file_url}), 200, headers)
    return flask.Response(status=302, headers={**headers, "Location": result.file_url})


@functions_framework.http
def download_resource(request: flask.Request) -> flask.Response:
    """A visitor's download form: the lead and the download recorded, then a 302 to the
    registered resource's file (JSON ``{"url"}`` for ``Accept: application/json``)."""
    return respond(lambda: _download(request))
