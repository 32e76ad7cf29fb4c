"""Twilio stand-in: the Programmable Messaging Message resource, under ``/twilio``.

From Twilio's documentation (twilio.com/docs):
- Message resource (messaging/api/message-resource): ``POST /2010-04-01/Accounts/
  {AccountSid}/Messages.json``, form-encoded ``To``, ``From`` (or
  ``MessagingServiceSid``), ``Body`` (or ``MediaUrl``), ``StatusCallback``; HTTP Basic
  with AccountSid:AuthToken (iam/api); answered 201 with the message, ``sid`` ``SM...``
  and ``status`` ``queued``. ``GET .../Messages/{Sid}.json`` fetches one, ``GET
  .../Messages.json`` lists them (``To``, ``From`` filters).
- API responses (usage/twilios-response) and the error dictionary (api/errors): errors
  are ``{"code", "message", "more_info", "status"}``: 20003 authenticate, 21211 invalid
  To, 21602 body required, 21603 From required, 21604 To required, 21617 body over 1600
  characters, 20429 too many requests (with ``Retry-After``), 20500, 20503.
- Status callbacks (messaging/guides/outbound-message-status-in-status-callbacks) and
  webhook security (usage/webhooks/webhooks-security): Twilio POSTs ``MessageSid``,
  ``MessageStatus``, ``SmsSid``, ``SmsStatus``, ``AccountSid``, ``From``, ``To``,
  ``ApiVersion`` (and ``ErrorCode``) to ``StatusCallback``, signed in
  ``X-Twilio-Signature``: base64 HMAC-SHA1, keyed with the auth token, of the URL followed
  by every parameter's name and value, sorted by name. None is sent for the initial
  ``queued``.

Callbacks go out when a test calls ``send_status(sid, "delivered")``, or by themselves
(``sent`` then ``delivered``, each ``callback_delay`` seconds after the one before, as
Twilio's come once carriers answer) when ``auto_callbacks`` is set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import threading
import urllib.error
import urllib.request
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode

from localcloud.platforms.core import Grant, Json, Reply, Request, TokenRefused, json_reply
from localcloud.platforms.hub import Platform

log = logging.getLogger("localcloud.platforms.twilio")

API = "/2010-04-01"
MAX_BODY = 1600
_E164 = re.compile(r"^(whatsapp:|messenger:)?\+[1-9]\d{6,14}$")
_MESSAGES = re.compile(
    r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages(?:/(SM[0-9a-f]{32}))?"
    r"\.json$"
)
_GSM = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def twilio_error(
    status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> Reply:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return json_reply(status, body, headers)


def signature(url: str, params: dict[str, str], auth_token: str) -> str:
    """What Twilio puts in ``X-Twilio-Signature`` for a form POST of ``params`` to ``url``."""
    signed = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    return base64.b64encode(
        hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    ).decode()


def segments(body: str) -> int:
    """SMS segments: 160 GSM-7 characters (153 when split), or 70 UCS-2 ones (67)."""
    single, split = (160, 153) if set(body) <= _GSM else (70, 67)
    return 1 if len(body) <= single else -(-len(body) // split)


class Twilio(Platform):
    name = "twilio"
    primary = "message"

    def __init__(self, hub: Any) -> None:
        super().__init__(hub)
        self.auto_callbacks = False
        self.callback_delay = 0.0
        self._lock = threading.Lock()
        self._keys: dict[str, str] = {}  # message sid -> the auth token that signs its callbacks

    def reset(self) -> None:
        self.auto_callbacks = False
        self.callback_delay = 0.0
        with self._lock:
            self._keys.clear()

    def handle(self, request: Request) -> Reply:
        match = _MESSAGES.match(request.path)
        if match is None:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        try:
            grant = self._account(request, match[1])
        except TokenRefused as err:
            return self.refused(err)
        if request.method == "POST" and match[2] is None:
            return self._create(request, grant)
        if request.method == "GET" and match[2] is None:
            return self._list(request, grant.subject)
        found = self.records.find(self.name, "message", match[2] or "")
        if request.method != "GET" or found is None or found["account_sid"] != grant.subject:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        return json_reply(200, _shown(found))

    def fault_reply(self, kind: str, request: Request) -> Reply:
        if kind in ("expired_token", "revoked_token"):
            return self.refused(TokenRefused("revoked"))
        status, code, message = {
            "forbidden": (403, 20003, "Permission Denied"),
            "rate_limited": (429, 20429, "Too Many Requests"),
            "unavailable": (503, 20503, "Service Unavailable"),
        }.get(kind, (500, 20500, "Internal Server Error"))
        return twilio_error(status, code, message, {"Retry-After": "1"} if status == 429 else None)

    def refused(self, err: TokenRefused) -> Reply:
        return twilio_error(
            401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'}
        )

    def _account(self, request: Request, account_sid: str) -> Grant:
        """The grant of the account in the path, checked against the Basic credentials."""
        basic = request.basic()
        if basic is None:
            raise TokenRefused("missing")
        grant = self.tokens.check(self.name, basic[1])
        if basic[0] != grant.subject or grant.subject != account_sid:
            raise TokenRefused("invalid")
        return grant

    def _create(self, request: Request, grant: Grant) -> Reply:
        form = {k: v[-1] for k, v in request.form().items()}
        if refusal := _refusal(form):
            return refusal
        message = _message(grant.subject, form, len(request.form().get("MediaUrl", [])))
        with self._lock:
            self._keys[message["sid"]] = grant.token
        self.records.create(self.name, "message", message)
        if self.auto_callbacks and message["status_callback"]:
            threading.Thread(target=self._progress, args=(message["sid"],), daemon=True).start()
        return json_reply(201, _shown(message))

    def _list(self, request: Request, account_sid: str) -> Reply:
        wanted = {k: request.arg(k) for k in ("To", "From") if request.arg(k)}
        found = [
            _shown(m)
            for m in reversed(self.records.objects(self.name, "message"))
            if m["account_sid"] == account_sid and all(m[k.lower()] == v for k, v in wanted.items())
        ]
        uri = f"{API}/Accounts/{account_sid}/Messages.json"
        return json_reply(
            200,
            {
                "messages": found,
                "page": 0,
                "page_size": 50,
                "start": 0,
                "end": max(len(found) - 1, 0),
                "uri": uri,
                "first_page_uri": uri,
                "next_page_uri": None,
                "previous_page_uri": None,
            },
        )

    def _progress(self, sid: str) -> None:
        for status in ("sent", "delivered"):
            if self.hub.stopping.wait(self.callback_delay):
                return
            self.send_status(sid, status)

    def send_status(self, sid: str, status: str, error_code: int | None = None) -> int | None:
        """Move a message to ``status`` and POST the signed callback Twilio would send;
        returns the callback's HTTP status (None: no callback URL, or it was unreachable)."""
        message = self.records.update(
            self.name, "message", sid, {"status": status, "error_code": error_code}
        )
        if message is None:
            raise KeyError(f"no message {sid}")
        url = message["status_callback"]
        if not url:
            return None
        params = _callback_params(message, status, error_code)
        with self._lock:
            key = self._keys[sid]
        answered = _post(url, params, signature(url, params, key))
        sent = [*message["callbacks"], {"status": status, "answered": answered}]
        self.records.update(self.name, "message", sid, {"callbacks": sent})
        return answered


def _message(account_sid: str, form: dict[str, str], media: int) -> Json:
    """A new Message resource, ``queued``, as the create answers it."""
    sid, body = "SM" + secrets.token_hex(16), form.get("Body", "")
    now = formatdate(usegmt=False).replace("-0000", "+0000")
    return {
        "sid": sid, "id": sid, "account_sid": account_sid, "api_version": "2010-04-01",
        "body": body, "to": form["To"], "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"), "status": "queued",
        "direction": "outbound-api", "date_created": now, "date_updated": now,
        "date_sent": None, "error_code": None, "error_message": None, "num_media": str(media),
        "num_segments": str(segments(body)), "price": None, "price_unit": "USD",
        "status_callback": form.get("StatusCallback"), "callbacks": [],
        "uri": f"{API}/Accounts/{account_sid}/Messages/{sid}.json",
    }  # fmt: skip


def _callback_params(message: Json, status: str, error_code: int | None) -> dict[str, str]:
    """The form of a status callback (``ErrorCode`` only when there is one)."""
    params = {
        "AccountSid": message["account_sid"], "ApiVersion": "2010-04-01",
        "From": message["from"] or "", "MessageSid": message["sid"], "MessageStatus": status,
        "SmsSid": message["sid"], "SmsStatus": status, "To": message["to"],
    }  # fmt: skip
    return params | ({"ErrorCode": str(error_code)} if error_code is not None else {})


def _refusal(form: dict[str, str]) -> Reply | None:
    """Twilio's refusal of a Messages create, or None."""
    to = form.get("To", "")
    if not to:
        return twilio_error(400, 21604, "A 'To' phone number is required.")
    if not _E164.match(to):
        return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
    if not form.get("From") and not form.get("MessagingServiceSid"):
        return twilio_error(400, 21603, "A 'From' phone number is required.")
    if not form.get("Body") and not form.get("MediaUrl") and not form.get("ContentSid"):
        return twilio_error(400, 21602, "Message body is required.")
    if len(form.get("Body", "")) > MAX_BODY:
        return twilio_error(
            400, 21617, "The concatenated message body exceeds the 1600 character limit."
        )
    callback = form.get("StatusCallback", "")
    if callback and not callback.startswith(("http://", "https://")):
        return twilio_error(400, 21609, f"Invalid StatusCallback URL: {callback}")
    return None


def _post(url: str, params: dict[str, str], signed: str) -> int | None:
    request = urllib.request.Request(
        url,
        urlencode(params).encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signed,
            "User-Agent": "TwilioProxy/1.1",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except (OSError, ValueError) as err:
        log.warning("status callback to %s failed: %s", url, err)
        return None


def _shown(message: Json) -> Json:
    hidden = ("platform", "kind", "seq", "created_at", "id", "status_callback", "callbacks")
    return {k: v for k, v in message.items() if k not in hidden} | {
        "subresource_uris": {"media": message["uri"].replace(".json", "/Media.json")}
    }
