"""HTTP functions declare themselves here: ``@https_fn.on_request(...)``.

The decorator registers the function in the manifest (methods, public flag, secrets,
limits) and wraps it in the shared HTTP glue, so the function itself only reads its
``Request`` and calls a service:

- a method it does not list is a 405 with ``Allow`` (RFC 9110 15.5.6);
- ``cors=True`` (web forms on a company's own sites, found by ``?key=``): preflights are
  answered from the company's allowed origins, and answers carry the CORS headers, refusals
  included, so the page's script can read the messages;
- the body is bounded before any code sees it (functions/_http.py);
- domain errors become their status with the usual ``{"error": ...}`` body, or, for a
  form a browser posts without a script, a page saying the same (``_pages.refusal_page``).

    @https_fn.on_request(methods=("POST",), public=True, cors=True)
    def lead_intake(req: https_fn.Request) -> https_fn.Result:
        ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

import flask
import functions_framework
from werkzeug.datastructures import MultiDict

from functions._context import Context
from functions._http import (
    Result,
    client_ip,
    cors_headers,
    idempotency_key,
    is_form_post,
    method_not_allowed,
    preflight,
    read_body,
    read_raw,
    refusal_cors,
    respond,
    wants_page,
)
from functions._pages import refusal_page
from shared.manifest import Function, Trigger, declare

if TYPE_CHECKING:
    from shared.domain.identity import StaffIdentity

__all__ = ["Request", "Result", "on_request"]

Handler = Callable[["Request"], Result]


class Request(Context):
    """One HTTP request to the function ``name``: the Flask request, its bounded body and
    what the glue knows of the caller, plus the ports (``Context``)."""

    def __init__(self, name: str, request: flask.Request) -> None:
        super().__init__(name)
        self.flask = request
        self.origins: list[str] | None = None

    @property
    def method(self) -> str:
        return self.flask.method

    @property
    def args(self) -> MultiDict[str, str]:
        return self.flask.args

    @property
    def headers(self) -> Mapping[str, str]:
        # Werkzeug's Headers match names case-insensitively, which a plain dict would not.
        return cast(Mapping[str, str], self.flask.headers)

    @property
    def path(self) -> str:
        return self.flask.path

    @property
    def origin(self) -> str | None:
        return self.flask.headers.get("Origin")

    @property
    def client_ip(self) -> str:
        return client_ip(self.flask)

    def is_form(self) -> bool:
        """Sent by an HTML form (urlencoded or multipart), not by a script."""
        return is_form_post(self.flask)

    def body(self) -> dict[str, Any]:
        """The JSON or form body as a dict (413 past the limit, 400 when unreadable)."""
        return read_body(self.flask, self.settings.max_body_bytes)

    def raw(self) -> bytes:
        """The body's bytes as sent (a signature covers them)."""
        return read_raw(self.flask, self.settings.max_body_bytes)

    def idempotency_key(self) -> str | None:
        return idempotency_key(self.flask)

    def staff(self) -> StaffIdentity:
        """The staff member of the ``Authorization: Bearer`` Firebase ID token (401 else)."""
        from shared.adapters.auth import verify_bearer

        return verify_bearer(self.flask.headers.get("Authorization"))

    def allow_origins(self, origins: list[str]) -> None:
        """The company's allowed origins, once the function has loaded the company: its
        answer carries the CORS headers without looking the company up again."""
        self.origins = origins

    def cors_headers(self) -> dict[str, str]:
        """The CORS headers for this request's origin (none unless the company allows it)."""
        return cors_headers(self.origin, self.origins or [])


def on_request(
    *,
    methods: tuple[str, ...] = ("POST",),
    public: bool = False,
    cors: bool = False,
    secrets: tuple[str, ...] = (),
    webhook: bool = False,
    user_admin: bool = False,
    timeout_seconds: int = 60,
    memory: str = "256Mi",
    max_instances: int = 10,
    concurrency: int = 20,
    oauth_clients: bool = False,
    sends: bool = False,
) -> Callable[[Handler], Callable[[flask.Request], flask.Response]]:
    """Declare an HTTP function answering ``methods`` (``public``: no IAM check, the
    function authenticates its callers itself or serves anyone; ``webhook``: another
    platform's servers call it, verified with one of its ``secrets``; ``user_admin``: it
    sets staff accounts' claims; ``sends``: it sends e-mail or SMS)."""
    allowed = (*methods, "OPTIONS") if cors and "OPTIONS" not in methods else tuple(methods)

    def decorate(handler: Handler) -> Callable[[flask.Request], flask.Response]:
        name = handler.__name__
        declare(
            Function(
                name,
                Trigger.HTTP,
                public=public,
                secrets=secrets,
                webhook=webhook,
                user_admin=user_admin,
                timeout_seconds=timeout_seconds,
                memory=memory,
                max_instances=max_instances,
                concurrency=concurrency,
                oauth_clients=oauth_clients,
                sends=sends,
                methods=allowed,
                module=handler.__module__,
            )
        )

        @functools.wraps(handler)
        def view(request: flask.Request) -> flask.Response:
            if request.method not in allowed:
                return method_not_allowed(allowed)
            req = Request(name, request)
            if cors and request.method == "OPTIONS":
                return respond(lambda: _preflight(req))
            response = respond(lambda: handler(req))
            if response.status_code >= 400 and response.is_json and wants_page(request):
                response = refusal_page(response)
            if cors:
                _add_cors(req, response)
            return response

        return cast(Callable[[flask.Request], flask.Response], functions_framework.http(view))

    return decorate


def _preflight(req: Request) -> flask.Response:
    """A CORS preflight, answered from the origins of the company named by ``?key=``."""
    from shared.services.intake import load_company

    company = load_company(req.store, req.args.get("key", ""), req.now())
    return preflight(req.origin, company.allowed_origins)


def _add_cors(req: Request, response: flask.Response) -> None:
    """CORS headers on the answer: from the origins the function found, or, for a refused
    post that carries an Origin, from the company named by ``?key=``."""
    if req.origins is not None:
        response.headers.update(req.cors_headers())
    elif response.status_code >= 400 and req.method == "POST":
        response.headers.update(refusal_cors(req.flask, req.store, req.now()))
