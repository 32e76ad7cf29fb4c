"""``download_resource``: a visitor's download form (public, by form key, CORS from the
company's sites), its own area so that it loads neither consultations nor staff code.

    download_resource  ?key={form key}&resource={id}   POST (form or JSON), OPTIONS
"""

from __future__ import annotations

import flask

from functions import https_fn
from shared.domain.business_resources import DownloadRequest
from shared.services import business_downloads as downloads


@https_fn.on_request(methods=("POST",), public=True, cors=True)
def download_resource(req: https_fn.Request) -> https_fn.Result:
    """A visitor's download form: the lead and the download recorded, then a 302 to the
    registered resource's file (JSON ``{"url"}`` for ``Accept: application/json``)."""
    body = req.body()
    body.setdefault("form_key", req.args.get("key") or body.get("key") or "")
    body.setdefault("resource_id", req.args.get("resource") or "")
    body.setdefault("submission_id", req.headers.get("Idempotency-Key"))
    download = DownloadRequest.model_validate(body)
    result = downloads.download_resource(req.store, req.clock, download, req.client_ip, req.origin)
    req.allow_origins(result.company.allowed_origins)
    if req.flask.accept_mimetypes.best == "application/json":  # a script fetching the link
        return {"url": result.file_url}, 200
    return flask.Response(status=302, headers={"Location": result.file_url})
