"""The HTTP edge, in one place: domain errors to statuses, bodies to dicts, CORS.

Every HTTP entry point goes through ``respond`` so that bad input is a 4xx with a message
(never a 500) and errors look the same everywhere: ``{"error": {"code", "message",
"details"}}``.
"""

from __future__ import annotations

import io
import ipaddress
import json
import logging
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

import flask
from pydantic import SecretStr, ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from shared.errors import (
    DomainError,
    ErrorCode,
    InvalidInput,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
)

if TYPE_CHECKING:
    from datetime import datetime

    from shared.ports import DocumentStore

log = logging.getLogger("growthkit.http")

# Real forms are two levels deep (utm, custom_fields); anything far deeper is an attack on
# the parser or on code that walks the value recursively.
MAX_JSON_DEPTH = 16

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

Result = tuple[Any, int] | flask.Response
# An error's answer: its JSON body, status and headers (Flask takes the triple as is).
ErrorAnswer = tuple[dict[str, Any], int, dict[str, str]]
Handler = Callable[[], Result]


class MethodNotAllowed(DomainError):
    """The path exists but not for this method: a 405 naming the methods that work
    (``elsewhere``: the function that makes the changes, for resources another writes)."""

    def __init__(self, allowed: tuple[str, ...], elsewhere: str | None = None) -> None:
        message = f"Use {', '.join(allowed)} here."
        if elsewhere:
            message += f" Changes go through the {elsewhere} function."
        super().__init__(message)
        self.allowed = allowed


def error_body(err: DomainError) -> dict[str, Any]:
    return {"error": {"code": err.code.value, "message": err.message, "details": err.details}}


def validation_error(err: ValidationError) -> InvalidInput:
    """Field-level messages: ``{"fields": {"email": "value is not a valid email"}}``."""
    fields = {
        ".".join(str(p) for p in e["loc"]) or "body": e["msg"].removeprefix("Value error, ")
        for e in err.errors()
    }
    return InvalidInput("Some fields are invalid.", {"fields": fields})


def respond(handler: Handler) -> flask.Response:
    """Run ``handler`` and turn its result or domain error into a JSON response."""
    try:
        result = handler()
    except MethodNotAllowed as err:
        return method_not_allowed(err.allowed, err.message)
    except ValidationError as err:
        return _error_response(validation_error(err))
    except DomainError as err:
        return _error_response(err)
    if isinstance(result, flask.Response):
        return result
    body, status = result
    return flask.make_response(flask.jsonify(body), status)


def _error_response(err: DomainError) -> flask.Response:
    body, status, headers = _error(err)
    return flask.make_response(flask.jsonify(body), status, headers)


def _error(err: DomainError) -> ErrorAnswer:
    """The answer to a domain error, logged (every path that refuses comes here)."""
    status = STATUS[err.code]
    log.log(
        logging.WARNING if status >= 500 else logging.INFO, "refused (%s): %s", status, err.message
    )
    return error_body(err), status, error_headers(err)


def error_headers(err: DomainError) -> dict[str, str]:
    """What an error's answer says besides its body: when to retry a rate limit, in
    seconds (RFC 9110 ``Retry-After``; 429 is RFC 6585's)."""
    if isinstance(err, RateLimited) and err.retry_after is not None:
        return {"Retry-After": str(err.retry_after)}
    return {}


def headers_of(request: flask.Request) -> Mapping[str, str]:
    """The request's headers as the typed events read them (Scheduler's, Cloud Tasks')."""
    # Werkzeug's Headers match names case-insensitively, which a plain dict would not.
    return cast(Mapping[str, str], request.headers)


def method_not_allowed(allowed: tuple[str, ...], message: str | None = None) -> flask.Response:
    """405 with the ``Allow`` header RFC 9110 requires, naming the methods that work."""
    message = message or f"Use {', '.join(allowed)} here."
    body = {"error": {"code": "method-not-allowed", "message": message, "details": {}}}
    return flask.make_response(flask.jsonify(body), 405, {"Allow": ", ".join(allowed)})


def idempotency_key(request: flask.Request) -> str | None:
    """A POST's ``Idempotency-Key`` header, when it has one of a sane length."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 200:
        raise InvalidInput("Idempotency-Key must be 1 to 200 characters.")
    return key


def read_body(request: flask.Request, max_bytes: int) -> dict[str, Any]:
    """A JSON or urlencoded form body as a dict; 413 when too large, 400 when unreadable."""
    raw = _read_bounded(request, max_bytes)
    if is_form_post(request):
        # Parsed from the cached, bounded bytes. A browser sends every input, the empty
        # ones as "": an input left empty (or one only a script would have filled, such
        # as a fill time) is a field not given, not a value to validate.
        return {k: v for k, v in request.form.items() if v != ""}
    return _json_object(raw) if raw else {}


def is_form_post(request: flask.Request) -> bool:
    """Sent by an HTML form (urlencoded or multipart), not by a script."""
    return request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")


def wants_page(request: flask.Request) -> bool:
    """A form post a browser navigates with (no script to read JSON): it lists HTML
    before JSON in ``Accept``. Scripts, curl (``*/*``) and clients that say nothing get
    JSON."""
    offered = ["application/json", "text/html"]
    return is_form_post(request) and request.accept_mimetypes.best_match(offered) == "text/html"


def read_raw(request: flask.Request, max_bytes: int) -> bytes:
    """The body's bytes as sent (a signature covers them), ``PayloadTooLarge`` past
    ``max_bytes``; ``read_body`` afterwards reads the same cached bytes."""
    return _read_bounded(request, max_bytes)


def _read_bounded(request: flask.Request, max_bytes: int) -> bytes:
    """The body, reading at most ``max_bytes + 1`` bytes of it (a chunked body has no
    length to check first); ``PayloadTooLarge`` past ``max_bytes``."""
    too_large = PayloadTooLarge(f"The body is larger than {max_bytes} bytes.")
    request.max_content_length = max_bytes + 1
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge as err:  # declared too large: not read at all
        request.stream = io.BytesIO()  # so nobody reads it afterwards either
        raise too_large from err
    if len(raw) > max_bytes:
        raise too_large
    return raw


def _json_object(raw: bytes) -> dict[str, Any]:
    """Strict JSON (no NaN or Infinity, integers Firestore can store, bounded nesting)
    that must be an object."""
    try:
        body = json.loads(
            raw, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_int64
        )
    except RecursionError as err:
        raise InvalidInput("The body is not valid JSON: nested too deeply.") from err
    except ValueError as err:  # bad syntax, bad UTF-8, over-long integers, NaN
        raise InvalidInput(f"The body is not valid JSON: {err}") from err
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    if _depth(body) > MAX_JSON_DEPTH:
        raise InvalidInput(f"The body is nested more than {MAX_JSON_DEPTH} levels deep.")
    return body


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _int64(text: str) -> int:
    """Firestore's integers are 64-bit: a larger one is refused here, where it arrives,
    rather than failing (a 500) when some document is written with it."""
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"{text[:20]}... does not fit in 64 bits")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text[:20]}... is out of range")
    return value


def _depth(value: Any) -> int:
    """Nesting depth without recursion (json.loads already bounded it, but callers walk
    values recursively, and a limit here keeps them far from Python's)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def install(app: flask.Flask) -> None:
    """Set up a function's app (``functions/main.py`` calls this for each one): bodies are
    bounded before any code sees them, and errors nobody handled still answer JSON."""
    app.before_request(_bounded_body)
    app.register_error_handler(Exception, unhandled)


def _bounded_body() -> ErrorAnswer | None:
    """Read the body up to ``settings.max_body_bytes`` (413 past it) before the function
    runs. functions-framework reads every body to its end after the function answers, even
    a function that never looks at it; this makes that read the cached, bounded one, and a
    body declared too large is refused without waiting for it."""
    from shared.settings import get_settings

    try:
        _read_bounded(flask.request, get_settings().max_body_bytes)
    except PayloadTooLarge as err:
        return _error(err)
    return None


def unhandled(err: Exception) -> tuple[dict[str, Any], int] | ErrorAnswer:
    """Flask's last resort, registered for every function in ``functions/main.py``.

    Werkzeug's own refusals (415, 400, 413 raised while the framework parses a request)
    keep their status with our error shape; a domain error escaping a CloudEvent function
    (``Transient``, to be retried) gets its usual status; a malformed delivery to a
    CloudEvent function fails inside functions-framework's envelope parsing, before any of
    our code runs, so it is the caller's fault: 400. Anything else is a bug: 500, logged.
    """
    if isinstance(err, HTTPException):
        status = err.code or 500
        code = _HTTP_CODES.get(status, "invalid-argument" if status < 500 else "internal")
        return {"error": {"code": code, "message": err.description, "details": {}}}, status
    if isinstance(err, DomainError):
        return _error(err)
    if _is_event_function():
        log.info("refused (400): not a CloudEvent delivery: %r", err)
        message = f"The request is not a valid CloudEvent delivery: {type(err).__name__}."
        return {"error": {"code": "invalid-argument", "message": message, "details": {}}}, 400
    log.exception("unexpected error")
    message = "Internal error; it has been logged."
    return {"error": {"code": "internal", "message": message, "details": {}}}, 500


_HTTP_CODES = {405: "method-not-allowed", 413: "payload-too-large", 503: "unavailable"}


def _is_event_function() -> bool:
    from shared.manifest import Trigger, declared

    # functions-framework names each function's Flask app after its target, whose module
    # has loaded (and declared it) by the time a request reaches the app.
    function = declared(flask.current_app.name)
    return function is not None and function.trigger is Trigger.EVENT


def client_ip(request: flask.Request) -> str:
    """The caller's address: the X-Forwarded-For entry that the outermost trusted proxy
    appended (``settings.trusted_proxies``, counted from the right). The caller writes
    the entries left of it, so they never count (per-IP limits, consent evidence); without
    that entry the connection's own peer is the caller."""
    from shared.settings import get_settings

    peer = request.remote_addr or "unknown"
    proxies, forwarded = get_settings().trusted_proxies, request.headers.get("X-Forwarded-For")
    entries = [e.strip() for e in forwarded.split(",")] if forwarded else []
    if proxies == 0 or len(entries) < proxies:
        return peer
    appended = entries[-proxies]
    try:
        return str(ipaddress.ip_address(appended))
    except ValueError:  # no proxy of ours writes that: the header did not come through them
        log.info("X-Forwarded-For entry %r is not an address; using %s", appended[:60], peer)
        return peer


def webhook_secret(secret: SecretStr | None, variable: str) -> str | None:
    """The secret that verifies a webhook's requests (``variable`` configures it). None
    only locally, where nobody configured one (``make serve`` posts unsigned); production
    refuses what nothing can verify (and does not even start without it: main.py)."""
    from shared.settings import get_settings

    value = secret.get_secret_value() if secret is not None else ""
    if value.strip():
        return value
    if get_settings().environment == "production":
        raise Unauthenticated(f"Refused: {variable} is not set, so no request can be verified.")
    return None


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


def refusal_cors(request: flask.Request, store: DocumentStore, now: datetime) -> dict[str, str]:
    """CORS headers for a refused post from one of the company's own pages, so its script
    can read the messages (without them the browser hands it only a network error). The
    company is found by ``?key=``, as the preflight finds it; read only for refusals that
    carry an Origin; a lookup that fails leaves the refusal as it was."""
    origin = request.headers.get("Origin")
    if not origin:
        return {}
    from shared.services.intake import load_company

    try:
        company = load_company(store, request.args.get("key", ""), now)
    except DomainError as err:  # an unknown key: the refusal stands as it is
        log.info("no CORS headers for a refused post from %s: %s", origin, err.message)
        return {}
    except Exception:  # the store failing: the refusal stands too, and the log has why
        log.warning("no CORS headers for a refused post from %s", origin, exc_info=True)
        return {}
    return cors_headers(origin, company.allowed_origins)


def preflight(origin: str | None, allowed: list[str]) -> flask.Response:
    """A CORS preflight's answer: 204 with the headers for a listed origin, else a 403 that
    says why (browsers only look at the missing headers, people debugging read the body)."""
    headers = cors_headers(origin, allowed)
    if headers:
        return flask.Response(status=204, headers=headers)
    message = f"Origin {origin!r} may not post to this form." if origin else "No Origin header."
    return _error_response(PermissionDenied(message))
