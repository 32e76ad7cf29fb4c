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

from functions import https_fn
from functions._pages import button, page, refused
from shared.domain.newsletters import SignupRequest
from shared.errors import DomainError, InvalidInput
from shared.services import newsletters


def _links(req: https_fn.Request) -> newsletters.Links:
    settings = req.settings
    return newsletters.Links(settings.functions_base_url, settings.signing_key.get_secret_value())


@https_fn.on_request(methods=("POST",), public=True, cors=True, sends=True)
def newsletter_signup(req: https_fn.Request) -> https_fn.Result:
    """Newsletter signup from a company's website: pending until confirmed by mail."""
    body = req.body()
    body.setdefault("form_key", req.args.get("key") or body.get("key") or "")
    signup = SignupRequest.model_validate(body)
    result = newsletters.signup(
        req.store, req.messenger, req.now(), _links(req), signup, req.client_ip, req.origin
    )
    req.allow_origins(result.company.allowed_origins)
    thanks = result.company.settings.thank_you_url
    if thanks and req.is_form():
        return flask.Response(status=303, headers={"Location": thanks})
    # The same answer whatever the address's state: nobody learns who subscribes.
    message = "Check your inbox: follow the link in our e-mail to confirm."
    return {"status": "pending", "message": message}, 202


def _token(req: https_fn.Request, body: dict[str, Any] | None = None) -> str:
    token = req.args.get("token") or str((body or {}).get("token") or "")
    if not token:
        raise InvalidInput("The link has no token; use the one from the e-mail.")
    return token


def _page(title: str, text: str) -> flask.Response:
    return page(title, html.escape(text))


def _confirm(req: https_fn.Request) -> https_fn.Result:
    key, now = req.settings.signing_key.get_secret_value(), req.now()
    if req.method != "POST":
        token = _token(req)
        pending = newsletters.check_confirmation(req.store, now, key, token)
        if pending.already:
            return _page("Already confirmed", "Your subscription is active already.")
        name = html.escape(pending.company_name)
        whose = f"the newsletter of {name}" if name else "our newsletter"
        text = f"Do you want to receive {whose}? Confirm with the button."
        return page("Confirm your subscription", text, button("Confirm", {"token": token}))
    token = _token(req, req.body())
    done = newsletters.confirm(req.store, now, key, token, req.client_ip)
    if done.already:
        return _page("Already confirmed", "Your subscription is active already.")
    return _page("Subscription confirmed", "Thank you: you will receive our newsletter.")


@https_fn.on_request(methods=("GET", "HEAD", "POST"), public=True)
def newsletter_confirm(req: https_fn.Request) -> https_fn.Result:
    """The confirmation link. GET: a page asking to confirm, changing nothing; POST (its
    button, ``token`` in the form or the query): the pending subscription becomes active
    (again: "already confirmed", 200). A refused link is a 4xx page for a browser
    (``Accept: text/html``), the usual JSON error for anything else."""
    try:
        return _confirm(req)
    except DomainError as err:
        if not req.flask.accept_mimetypes.accept_html:
            raise  # an API client: the usual JSON error
        return refused("This link cannot be used", err)


@https_fn.on_request(methods=("GET", "HEAD", "POST"), public=True)
def newsletter_unsubscribe(req: https_fn.Request) -> https_fn.Result:
    """The unsubscribe link (any time). GET: a page asking to confirm, changing nothing
    (so a mail provider's link scanner unsubscribes nobody); POST (its button, or a mail
    client's one-click ``List-Unsubscribe=One-Click``): unsubscribed, the time recorded."""
    key, now = req.settings.signing_key.get_secret_value(), req.now()
    if req.method != "POST":
        token = _token(req)
        pending = newsletters.check_unsubscribe(req.store, now, key, token)
        if pending.already:
            return _page("Already unsubscribed", "You will not receive this newsletter.")
        name = html.escape(pending.company_name)
        whose = f"the newsletter of {name}" if name else "our newsletter"
        text = f"Stop receiving {whose}? Confirm with the button."
        return page("Unsubscribe", text, button("Unsubscribe", {"token": token}))
    # The page's button sends the token in the form; a one-click POST keeps it in the URL.
    newsletters.unsubscribe(req.store, now, key, _token(req, req.body()))
    return _page("You are unsubscribed", "You will not receive this newsletter any more.")
