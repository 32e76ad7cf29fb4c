"""Public compliance functions: unsubscribing from a link, inbound SMS keywords, and the
e-mail provider's events (bounces, complaints, replies).

``unsubscribe`` serves the link in every marketing e-mail (GET: a confirmation page; POST:
unsubscribes, which is also what a mail client's one-click ``List-Unsubscribe-Post``
does). ``sms_inbound`` is the SMS provider's webhook for messages a company's number
receives (``?company_id=``), signed the Twilio way with ``sms_auth_token``.
``email_events`` is the e-mail provider's webhook (through a relay mapping its payloads
onto ``shared.campaigns.domain.email_events``), signed with ``email_events_secret``. Both refuse
(401) what their secret does not verify; unsigned posts pass only locally, where no
secret is configured, and production does not start them without it.
"""

from __future__ import annotations

import html
from typing import Any
from xml.sax.saxutils import escape

import flask

from functions import https_fn
from functions._http import webhook_secret
from functions._pages import button
from functions._pages import page as _page
from shared.campaigns.services import compliance as service
from shared.domain.common import is_document_id
from shared.errors import InvalidInput, NotFound, Unauthenticated


def _masked(address: str) -> str:
    local, at, domain = address.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else f"***{address[-4:]}"


@https_fn.on_request(methods=("GET", "POST"), public=True)
def unsubscribe(req: https_fn.Request) -> https_fn.Result:
    """``?t=<signed token>``. GET: a page asking to confirm; POST (the page's button, or
    ``List-Unsubscribe=One-Click`` from a mail client): the address is suppressed."""
    body = req.body() if req.method == "POST" else {}
    token = req.args.get("t") or str(body.get("t") or "")
    link = service.read_unsubscribe_token(
        token, req.settings.signing_key.get_secret_value().encode()
    )
    name = html.escape(service.company_name(req.store, link.company_id) or "this sender")
    who = html.escape(_masked(link.address))
    if req.method == "GET":
        form = button("Unsubscribe", {"t": token})
        return _page("Unsubscribe", f"Stop marketing e-mail from {name} to {who}?", form)
    one_click = body.get("List-Unsubscribe") == "One-Click"
    source = "one_click" if one_click else "unsubscribe_link"
    service.unsubscribe(req.store, req.now(), link, source)
    return _page("Unsubscribed", f"{who} will get no more marketing e-mail from {name}.")


def _verify(req: https_fn.Request, body: dict[str, Any]) -> None:
    """Twilio's signature over the public URL and the form fields, under the auth token
    (unsigned posts pass only locally, where no token is configured)."""
    settings = req.settings
    token = webhook_secret(settings.sms_auth_token, "GROWTHKIT_SMS_AUTH_TOKEN")
    if token is None:
        return
    from shared.adapters.sms import valid_signature

    url = settings.functions_base_url.rstrip("/") + "/sms_inbound"
    query = req.flask.query_string.decode("utf-8", "replace")
    params = {str(k): str(v) for k, v in body.items()}
    given = req.headers.get("X-Twilio-Signature", "")
    if not valid_signature(f"{url}?{query}" if query else url, params, given, token):
        raise Unauthenticated("The request is not signed by the SMS provider.")


def _twiml(reply: str | None) -> flask.Response:
    message = f"<Message>{escape(reply)}</Message>" if reply else ""
    xml = f'<?xml version="1.0" encoding="UTF-8"?><Response>{message}</Response>'
    return flask.Response(xml, 200, {"Content-Type": "text/xml; charset=utf-8"})


@https_fn.on_request(
    methods=("POST",), public=True, webhook=True, secrets=("GROWTHKIT_SMS_AUTH_TOKEN",)
)
def sms_inbound(req: https_fn.Request) -> https_fn.Result:
    """The SMS provider's webhook (``?company_id=``; form fields ``From``, ``Body``):
    STOP/UNSUBSCRIBE/CANCEL/END/QUIT opt the number out, START back in, HELP gets the
    help text; answered as TwiML. With ``?send=`` instead, a status callback of a
    marketing SMS (``MessageSid``, ``MessageStatus``): its delivery or failure."""
    body = req.body()
    _verify(req, body)  # first: nothing about an unverified post is looked at
    if "send" in req.args:
        return _sms_status(req, body)
    company_id = req.args.get("company_id", "")
    if not is_document_id(company_id) or len(company_id) > 200:
        raise NotFound("Unknown company.")
    sender, text = body.get("From"), body.get("Body", "")
    if not isinstance(sender, str) or not isinstance(text, str):
        raise InvalidInput("From and Body must be text.", {"fields": {"From": "required"}})
    reply = service.inbound_sms(
        req.store,
        req.now(),
        company_id=company_id,
        sender=sender,
        body=text,
        message_sid=str(body.get("MessageSid") or "")[:100] or None,
    )
    return _twiml(reply.reply)


def _sms_status(req: https_fn.Request, body: dict[str, Any]) -> https_fn.Result:
    from shared.campaigns.services.delivery_reports import record_sms_status

    report = {k: str(body.get(k) or "")[:100] for k in ("MessageSid", "MessageStatus", "ErrorCode")}
    key = req.settings.signing_key.get_secret_value().encode()
    outcome = record_sms_status(req.store, req.now(), key, req.args.get("send", ""), report)
    return {"outcome": outcome}, 200


def _verify_email_events(req: https_fn.Request, raw: bytes) -> None:
    """HMAC-SHA256 of the raw body under ``email_events_secret`` (``X-GrowthKit-Signature``);
    unsigned events are accepted only locally, where no secret is configured."""
    from shared.campaigns.domain.email_events import SIGNATURE_HEADER, valid_signature

    settings = req.settings
    secret = webhook_secret(settings.email_events_secret, "GROWTHKIT_EMAIL_EVENTS_SECRET")
    if secret is None:
        return
    given = req.headers.get(SIGNATURE_HEADER, "")
    if not valid_signature(raw, given, secret):
        raise Unauthenticated("The request is not signed with the e-mail events secret.")


@https_fn.on_request(
    methods=("POST",), public=True, webhook=True, secrets=("GROWTHKIT_EMAIL_EVENTS_SECRET",)
)
def email_events(req: https_fn.Request) -> https_fn.Result:
    """The e-mail provider's webhook: POST ``{"events": [...]}`` (deliveries, bounces,
    complaints, replies; ``shared.campaigns.domain.email_events``), signed with
    ``X-GrowthKit-Signature``; 200 with each event's outcome (an unknown message too)."""
    from shared.campaigns.domain.email_events import EmailEventBatch
    from shared.campaigns.services.email_events import record_email_events

    _verify_email_events(req, req.raw())
    batch = EmailEventBatch.model_validate(req.body())
    key = req.settings.signing_key.get_secret_value().encode()
    results = record_email_events(req.store, req.now(), key, batch)
    return {"results": [r.as_json() for r in results]}, 200
