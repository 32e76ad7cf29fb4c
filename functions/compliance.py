"""Public compliance functions: unsubscribing from a link, inbound SMS keywords, and the
e-mail provider's events (bounces, complaints, replies).

``unsubscribe`` serves the link in every marketing e-mail (GET: a confirmation page; POST:
unsubscribes, which is also what a mail client's one-click ``List-Unsubscribe-Post``
does). ``sms_inbound`` is the SMS provider's webhook for messages a company's number
receives (``?company_id=``), signed the Twilio way with ``sms_auth_token``.
``email_events`` is the e-mail provider's webhook (through a relay mapping its payloads
onto ``shared.domain.email_events``), signed with ``email_events_secret``. Both refuse
(401) what their secret does not verify; unsigned posts pass only locally, where no
secret is configured, and production does not start them without it.
"""

from __future__ import annotations

import html
from typing import Any
from xml.sax.saxutils import escape

import flask
import functions_framework

from functions._http import read_body, read_raw, respond, webhook_secret
from functions._pages import button
from functions._pages import page as _page
from shared import bootstrap
from shared.domain.common import is_document_id
from shared.errors import InvalidInput, NotFound, Unauthenticated
from shared.services import compliance as service
from shared.settings import get_settings


def _masked(address: str) -> str:
    local, at, domain = address.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else f"***{address[-4:]}"


def _unsubscribe(request: flask.Request) -> flask.Response | tuple[Any, int]:
    if request.method not in ("GET", "POST"):
        return {"error": {"code": "method-not-allowed", "message": "Use GET or POST."}}, 405
    body = read_body(request, get_settings().max_body_bytes) if request.method == "POST" else {}
    token = request.args.get("t") or str(body.get("t") or "")
    key = get_settings().signing_key.get_secret_value().encode()
    link = service.read_unsubscribe_token(token, key)
    store = bootstrap.document_store()
    name = html.escape(service.company_name(store, link.company_id) or "this sender")
    who = html.escape(_masked(link.address))
    if request.method == "GET":
        form = button("Unsubscribe", {"t": token})
        return _page("Unsubscribe", f"Stop marketing e-mail from {name} to {who}?", form)
    one_click = body.get("List-Unsubscribe") == "One-Click"
    source = "one_click" if one_click else "unsubscribe_link"
    service.unsubscribe(store, bootstrap.clock.now(), link, source)
    return _page("Unsubscribed", f"{who} will get no more marketing e-mail from {name}.")


@functions_framework.http
def unsubscribe(request: flask.Request) -> flask.Response:
    """``?t=<signed token>``. GET: a page asking to confirm; POST (the page's button, or
    ``List-Unsubscribe=One-Click`` from a mail client): the address is suppressed."""
    return respond(lambda: _unsubscribe(request))


def _verify(request: flask.Request, body: dict[str, Any]) -> None:
    """Twilio's signature over the public URL and the form fields, under the auth token
    (unsigned posts pass only locally, where no token is configured)."""
    settings = get_settings()
    token = webhook_secret(settings.sms_auth_token, "GROWTHKIT_SMS_AUTH_TOKEN")
    if token is None:
        return
    from shared.adapters.sms import valid_signature

    url = settings.functions_base_url.rstrip("/") + "/sms_inbound"
    query = request.query_string.decode("utf-8", "replace")
    params = {str(k): str(v) for k, v in body.items()}
    given = request.headers.get("X-Twilio-Signature", "")
    if not valid_signature(f"{url}?{query}" if query else url, params, given, token):
        raise Unauthenticated("The request is not signed by the SMS provider.")


def _twiml(reply: str | None) -> flask.Response:
    message = f"<Message>{escape(reply)}</Message>" if reply else ""
    xml = f'<?xml version="1.0" encoding="UTF-8"?><Response>{message}</Response>'
    return flask.Response(xml, 200, {"Content-Type": "text/xml; charset=utf-8"})


def _sms_inbound(request: flask.Request) -> flask.Response | tuple[Any, int]:
    if request.method != "POST":
        return {"error": {"code": "method-not-allowed", "message": "Use POST."}}, 405
    body = read_body(request, get_settings().max_body_bytes)
    _verify(request, body)  # first: nothing about an unverified post is looked at
    company_id = request.args.get("company_id", "")
    if not is_document_id(company_id) or len(company_id) > 200:
        raise NotFound("Unknown company.")
    sender, text = body.get("From"), body.get("Body", "")
    if not isinstance(sender, str) or not isinstance(text, str):
        raise InvalidInput("From and Body must be text.", {"fields": {"From": "required"}})
    reply = service.inbound_sms(
        bootstrap.document_store(),
        bootstrap.clock.now(),
        company_id=company_id,
        sender=sender,
        body=text,
        message_sid=str(body.get("MessageSid") or "")[:100] or None,
    )
    return _twiml(reply.reply)


@functions_framework.http
def sms_inbound(request: flask.Request) -> flask.Response:
    """The SMS provider's webhook (``?company_id=``; form fields ``From``, ``Body``):
    STOP/UNSUBSCRIBE/CANCEL/END/QUIT opt the number out, START back in, HELP gets the
    help text; answered as TwiML."""
    return respond(lambda: _sms_inbound(request))


def _verify_email_events(request: flask.Request, raw: bytes) -> None:
    """HMAC-SHA256 of the raw body under ``email_events_secret`` (``X-GrowthKit-Signature``);
    unsigned events are accepted only locally, where no secret is configured."""
    from shared.domain.email_events import SIGNATURE_HEADER, valid_signature

    settings = get_settings()
    secret = webhook_secret(settings.email_events_secret, "GROWTHKIT_EMAIL_EVENTS_SECRET")
    if secret is None:
        return
    given = request.headers.get(SIGNATURE_HEADER, "")
    if not valid_signature(raw, given, secret):
        raise Unauthenticated("The request is not signed with the e-mail events secret.")


def _email_events(request: flask.Request) -> tuple[Any, int]:
    if request.method != "POST":
        return {"error": {"code": "method-not-allowed", "message": "Use POST."}}, 405
    from shared.domain.email_events import EmailEventBatch
    from shared.services.email_events import record_email_events

    settings = get_settings()
    _verify_email_events(request, read_raw(request, settings.max_body_bytes))
    batch = EmailEventBatch.model_validate(read_body(request, settings.max_body_bytes))
    results = record_email_events(
        bootstrap.document_store(),
        bootstrap.clock.now(),
        settings.signing_key.get_secret_value().encode(),
        batch,
    )
    return {"results": [r.as_json() for r in results]}, 200


@functions_framework.http
def email_events(request: flask.Request) -> flask.Response:
    """The e-mail provider's webhook: POST ``{"events": [...]}`` (deliveries, bounces,
    complaints, replies; ``shared.domain.email_events``), signed with
    ``X-GrowthKit-Signature``; 200 with each event's outcome (an unknown message too)."""
    return respond(lambda: _email_events(request))
