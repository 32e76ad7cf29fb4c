"""Newsletter functions, all public: ``newsletter_signup`` (a web form, by form key, with
CORS from the company's sites), and the links mailed to subscribers,
``newsletter_confirm`` (``?token=``; GET shows a page whose button POSTs the token, and
only the POST confirms, so a mail provider's link scanner fetching the link confirms
nothing) and ``newsletter_unsubscribe`` (``?token=``; likewise GET shows a page whose
button POSTs, and the POST unsubscribes, which is also a mail client's one-click
``List-Unsubscribe-Post``, RFC 8058)."""

from __future__ import annotations

import html
from typing import Any

import flask
import functions_framework

from functions._http import (
    client_ip,
    cors_headers,
    preflight,
    read_body,
    respond,
    respond_to_page,
)
from functions._pages import button, page, refused
from shared import bootstrap
from shared.domain.newsletters import SignupRequest
from shared.errors import DomainError, InvalidInput
from shared.services import newsletters
from shared.services.intake import load_company
from shared.settings import get_settings

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
Result = tuple[Any, int] | flask.Response


def _links() -> newsletters.Links:
    settings = get_settings()
    return newsletters.Links(settings.functions_base_url, settings.signing_key.get_secret_value())


def _signup(request: flask.Request) -> Result:
    if request.method == "OPTIONS":
        company = load_company(bootstrap.document_store(), request.args.get("key", ""))
        return preflight(request.headers.get("Origin"), company.allowed_origins)
    if request.method != "POST":
        return {"error": {"code": "method-not-allowed", "message": "Use POST."}}, 405
    body = read_body(request, get_settings().max_body_bytes)
    body.setdefault("form_key", request.args.get("key") or body.get("key") or "")
    req = SignupRequest.model_validate(body)
    origin = request.headers.get("Origin")
    result = newsletters.signup(
        bootstrap.document_store(),
        bootstrap.messenger(),
        bootstrap.clock.now(),
        _links(),
        req,
        client_ip(request),
        origin,
    )
    headers = cors_headers(origin, result.company.allowed_origins)
    thanks = result.company.settings.thank_you_url
    if thanks and request.mimetype in _FORM_TYPES:
        return flask.Response(status=303, headers={**headers, "Location": thanks})
    # The same answer whatever the address's state: nobody learns who subscribes.
    message = "Check your inbox: follow the link in our e-mail to confirm."
    return flask.make_response(
        flask.jsonify({"status": "pending", "message": message}), 202, headers
    )


@functions_framework.http
def newsletter_signup(request: flask.Request) -> flask.Response:
    """Newsletter signup from a company's website: pending until confirmed by mail."""
    return respond_to_page(request, lambda: _signup(request))


def _token(request: flask.Request, body: dict[str, Any] | None = None) -> str:
    token = request.args.get("token") or str((body or {}).get("token") or "")
    if not token:
        raise InvalidInput("The link has no token; use the one from the e-mail.")
    return token


def _page(title: str, text: str) -> flask.Response:
    return page(title, html.escape(text))


def _confirm(request: flask.Request) -> Result:
    if request.method not in ("GET", "HEAD", "POST"):
        return {"error": {"code": "method-not-allowed", "message": "Use GET or POST."}}, 405
    settings = get_settings()
    key, store = settings.signing_key.get_secret_value(), bootstrap.document_store()
    now = bootstrap.clock.now()
    try:
        if request.method != "POST":
            token = _token(request)
            pending = newsletters.check_confirmation(store, now, key, token)
            if pending.already:
                return _page("Already confirmed", "Your subscription is active already.")
            name = html.escape(pending.company_name)
            whose = f"the newsletter of {name}" if name else "our newsletter"
            text = f"Do you want to receive {whose}? Confirm with the button."
            return page("Confirm your subscription", text, button("Confirm", {"token": token}))
        token = _token(request, read_body(request, settings.max_body_bytes))
        done = newsletters.confirm(store, now, key, token, client_ip(request))
    except DomainError as err:
        if not request.accept_mimetypes.accept_html:
            raise  # an API client: the usual JSON error
        return refused("This link cannot be used", err)
    if done.already:
        return _page("Already confirmed", "Your subscription is active already.")
    return _page("Subscription confirmed", "Thank you: you will receive our newsletter.")


@functions_framework.http
def newsletter_confirm(request: flask.Request) -> flask.Response:
    """The confirmation link. GET: a page asking to confirm, changing nothing; POST (its
    button, ``token`` in the form or the query): the pending subscription becomes active
    (again: "already confirmed", 200). A refused link is a 4xx page for a browser
    (``Accept: text/html``), the usual JSON error for anything else."""
    return respond(lambda: _confirm(request))


def _unsubscribe(request: flask.Request) -> Result:
    if request.method not in ("GET", "HEAD", "POST"):
        return {"error": {"code": "method-not-allowed", "message": "Use GET or POST."}}, 405
    settings = get_settings()
    key, store = settings.signing_key.get_secret_value(), bootstrap.document_store()
    now = bootstrap.clock.now()
    if request.method != "POST":
        token = _token(request)
        pending = newsletters.check_unsubscribe(store, now, key, token)
        if pending.already:
            return _page("Already unsubscribed", "You will not receive this newsletter.")
        name = html.escape(pending.company_name)
        whose = f"the newsletter of {name}" if name else "our newsletter"
        text = f"Stop receiving {whose}? Confirm with the button."
        return page("Unsubscribe", text, button("Unsubscribe", {"token": token}))
    # The page's button sends the token in the form; a one-click POST keeps it in the URL.
    newsletters.unsubscribe(
        store, now, key, _token(request, read_body(request, settings.max_body_bytes))
    )
    return _page("You are unsubscribed", "You will not receive this newsletter any more.")


@functions_framework.http
def newsletter_unsubscribe(request: flask.Request) -> flask.Response:
    """The unsubscribe link (any time). GET: a page asking to confirm, changing nothing
    (so a mail provider's link scanner unsubscribes nobody); POST (its button, or a mail
    client's one-click ``List-Unsubscribe=One-Click``): unsubscribed, the time recorded."""
    return respond(lambda: _unsubscribe(request))
