"""The HTTP edge, in one place: domain errors to statuses, bodies to dicts, CORS.

Every HTTP entry point goes through ``respond`` so that bad input is a 4xx with a message
(never a 500) and errors look the same everywhere: ``{"error": {"code", "message",
"details"}}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import flask
from pydantic import ValidationError

from shared.errors import DomainError, ErrorCode, InvalidInput, PayloadTooLarge

log = logging.getLogger("growthkit.http")

STATUS = {
    ErrorCode.INVALID_ARGUMENT: 400,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.PERMISSION_DENIED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.ALREADY_EXISTS: 409,
    ErrorCode.FAILED_PRECONDITION: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.RESOURCE_EXHAUSTED: 429,
    ErrorCode.UNAVAILABLE: 503,
}

Handler = Callable[[], tuple[Any, int] | flask.Response]


def error_body(err: DomainError) -> dict[str, Any]:
    return {"error": {"code": err.code.value, "message": err.message, "details": err.details}}


def validation_error(err: ValidationError) -> InvalidInput:
    """Field-level messages: ``{"fields": {"email": "value is not a valid email"}}``."""
    fields = {".".join(str(p) for p in e["loc"]) or "body": e["msg"] for e in err.errors()}
    return InvalidInput("Some fields are invalid.", {"fields": fields})


def respond(handler: Handler) -> flask.Response:
    """Run ``handler`` and turn its result or domain error into a JSON response."""
    try:
        result = handler()
    except ValidationError as err:
        result = _error(validation_error(err))
    except DomainError as err:
        result = _error(err)
    if isinstance(result, flask.Response):
        return result
    body, status = result
    return flask.make_response(flask.jsonify(body), status)


def _error(err: DomainError) -> tuple[dict[str, Any], int]:
    status = STATUS[err.code]
    log.log(
        logging.WARNING if status >= 500 else logging.INFO, "refused (%s): %s", status, err.message
    )
    return error_body(err), status


def read_body(request: flask.Request, max_bytes: int) -> dict[str, Any]:
    """A JSON or urlencoded form body as a dict; 413 when too large, 400 when unreadable."""
    if (request.content_length or 0) > max_bytes:
        raise PayloadTooLarge(f"The body is larger than {max_bytes} bytes.")
    raw = request.get_data(cache=True)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"The body is larger than {max_bytes} bytes.")
    mimetype = request.mimetype or ""
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return dict(request.form.items())
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidInput(f"The body is not valid JSON: {err}") from err
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    return body


def client_ip(request: flask.Request) -> str:
    """The caller's address: Cloud Functions puts the client first in X-Forwarded-For."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    return forwarded.split(",")[0].strip() or (request.remote_addr or "unknown")


def cors_headers(origin: str | None, allowed: list[str]) -> dict[str, str]:
    """CORS headers for ``origin`` when the company lists it, else none."""
    if not origin or origin not in allowed:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "3600",
        "Vary": "Origin",
    }
