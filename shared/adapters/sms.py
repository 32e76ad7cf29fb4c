"""SMS through a provider's HTTP API: a Twilio-like form POST with a timeout.

``HttpSmsMessenger`` posts ``To``, ``From`` and ``Body`` to ``settings.sms_api_url`` with
basic auth (``sms_account``, ``sms_auth_token``) and an ``Idempotency-Key`` header, and
records each message in the outbox like the SMTP messenger, so a retry of a message
already sent is not posted again. Timeouts, connection failures, 429 and 5xx are worth
retrying (``Transient``); other refusals are final (``InvalidInput``). Inbound messages
are signed the Twilio way (``X-Twilio-Signature``), checked by ``valid_signature``. A
marketing SMS asks for status callbacks (``StatusCallback``) at ``sms_inbound`` with its
send's reference, so its delivery shows on the lead's timeline.

Twilio ignores ``Idempotency-Key``: a post whose answer is lost (a timeout after the
provider created the message) would be sent again by the retry. So the attempt is
recorded (``sending``, with when it began) before the post, and a retry that finds such
a record first looks the message up (``GET`` the Messages list for the number, the same
text created since the attempt, under no other outbox record) and keeps what it finds;
only when the provider says there is none is the message posted again. When the
provider cannot be asked, the outcome stays unknown and nothing is sent (``Transient``,
to be retried).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlencode

from shared.adapters.messaging import outbox_path
from shared.domain.common import as_utc, stable_id
from shared.errors import InvalidInput, Transient, Unconfirmed
from shared.ports import SEND_HEADER, DocumentStore, Filter, Messenger, OutboundMessage, Write
from shared.settings import Settings

log = logging.getLogger("growthkit.sms")


# A message the provider dates up to this long before the attempt began is still taken
# for it (the provider's clock, and its dates are to the second).
CLOCK_SLACK = timedelta(seconds=5)


class HttpSmsMessenger:
    """Implements ``Messenger`` for SMS over the provider's HTTP API."""

    def __init__(self, store: DocumentStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def accepts(self, channel: str) -> bool:
        return channel == "sms"  # send returns once the provider took the message

    def send(self, message: OutboundMessage) -> str:
        if message.channel != "sms":
            raise InvalidInput(f"The SMS provider cannot send {message.channel} messages.")
        path = outbox_path(message.idempotency_key)
        record = self.store.get_all([path])[0].data or {}
        if record.get("status") == "sent":
            log.info("SMS %s was already sent", message.idempotency_key)
            return str(record["message_id"])
        if record.get("status") == "sending":
            found = self._look_up(message, record)
            if found is not None:
                return self._sent(path, message, found, "found at the provider")
        began = datetime.now(UTC)
        self.store.commit([Write(path, _record(message, "sending", "", began), "set")])
        return self._sent(path, message, self._post(message), "sent")

    def _sent(self, path: str, message: OutboundMessage, provider_id: str, how: str) -> str:
        record = _record(message, "sent", provider_id, datetime.now(UTC))
        self.store.commit([Write(path, record, "set")])
        log.info("SMS %s %s as %s", message.idempotency_key, how, provider_id)
        return provider_id

    def _post(self, message: OutboundMessage) -> str:
        import requests

        s = self.settings
        form = {"To": message.to, "From": s.sms_from, "Body": message.body}
        form |= status_callback(message, s.functions_base_url)
        headers = {"Idempotency-Key": message.idempotency_key, "User-Agent": "growthkit-sms"}
        try:
            response = requests.post(
                s.sms_api_url,
                data=form,
                headers=headers,
                auth=self._auth(),
                timeout=s.sms_timeout_seconds,
                allow_redirects=False,
            )
        except requests.RequestException as err:
            # Sent or not, it is unknown: the retry looks it up before posting again.
            raise Unconfirmed(f"The SMS provider did not answer ({type(err).__name__}).") from err
        return _provider_id(message, response.status_code, _json(response))

    def _auth(self) -> tuple[str, str]:
        s = self.settings
        return s.sms_account, s.sms_auth_token.get_secret_value() if s.sms_auth_token else ""

    def _look_up(self, message: OutboundMessage, record: dict[str, Any]) -> str | None:
        """The id of the message an unanswered attempt created, or None if the provider
        has none; ``Transient`` when it cannot be asked (the outcome stays unknown)."""
        began = record.get("attempt_at")
        since = as_utc(began) - CLOCK_SLACK if isinstance(began, datetime) else None
        for candidate in self._listed(message):
            created = _date(candidate.get("date_created"))
            fits = candidate.get("body") == message.body and candidate.get("to") == message.to
            if fits and (since is None or (created is not None and created >= since)):
                sid = str(candidate.get("sid") or "")
                if sid and not self._claimed(sid, message.idempotency_key):
                    return sid
        log.info("SMS %s: no earlier attempt reached the provider", message.idempotency_key)
        return None

    def _listed(self, message: OutboundMessage) -> list[dict[str, Any]]:
        """The provider's latest messages from our number to the recipient."""
        import requests

        s, query = self.settings, {"To": message.to, "From": self.settings.sms_from}
        try:
            response = requests.get(
                s.sms_api_url, params=query, auth=self._auth(), timeout=s.sms_timeout_seconds
            )
        except requests.RequestException as err:
            raise Transient(f"Could not look SMS {message.idempotency_key} up: {err}") from err
        if response.status_code != 200:
            status = response.status_code
            raise Transient(f"Could not look SMS {message.idempotency_key} up ({status}).")
        listed = _json(response).get("messages")
        return [m for m in listed if isinstance(m, dict)] if isinstance(listed, list) else []

    def _claimed(self, sid: str, key: str) -> bool:
        """Whether another message's outbox record holds ``sid`` (same text, sent before)."""
        found = self.store.query("outbox", [Filter("message_id", "==", sid)], limit=2)
        return any(s.data is not None and s.data.get("idempotency_key") != key for s in found)


def status_callback(message: OutboundMessage, base_url: str) -> dict[str, str]:
    """Where the provider reports the message's delivery: ``sms_inbound`` with the send's
    signed reference (marketing SMS carry one), or nowhere."""
    reference = dict(message.headers).get(SEND_HEADER)
    if not reference:
        return {}
    url = f"{base_url.rstrip('/')}/sms_inbound?{urlencode({'send': reference})}"
    return {"StatusCallback": url}


def _record(
    message: OutboundMessage, status: str, provider_id: str, at: datetime
) -> dict[str, Any]:
    """The outbox document of an SMS (as the other messengers record theirs): ``sending``
    from before the post (``attempt_at``), ``sent`` once the provider has it."""
    return {
        "channel": message.channel,
        "to": message.to,
        "subject": message.subject,
        "body": message.body,
        "headers": dict(message.headers),
        "idempotency_key": message.idempotency_key,
        "status": status,
        "message_id": provider_id,
        "attempt_at" if status == "sending" else "created_at": at,
    }


def _date(value: object) -> datetime | None:
    """An RFC 2822 date, as Twilio writes ``date_created``; None if it is not one."""
    try:
        return as_utc(parsedate_to_datetime(str(value)))
    except (TypeError, ValueError):
        return None


def _json(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _provider_id(message: OutboundMessage, status: int, body: dict[str, Any]) -> str:
    """The provider's message id from a 2xx answer; the error for any other."""
    if status == 429 or status >= 500:
        raise Transient(f"The SMS provider answered {status}; try again later.")
    if not 200 <= status < 300:
        detail = str(body.get("message") or body.get("error") or "")[:300]
        raise InvalidInput(f"The SMS provider refused the message ({status}): {detail}")
    found = body.get("sid") or body.get("id")
    return str(found) if found else f"sms-{stable_id(message.idempotency_key)}"


class ChannelMessenger:
    """Implements ``Messenger`` by channel: e-mail to one messenger, SMS to another."""

    def __init__(self, email: Messenger, sms: Messenger) -> None:
        self.email = email
        self.sms = sms

    def send(self, message: OutboundMessage) -> str:
        return (self.sms if message.channel == "sms" else self.email).send(message)

    def accepts(self, channel: Literal["email", "sms"]) -> bool:
        return (self.sms if channel == "sms" else self.email).accepts(channel)


def signature(url: str, params: Mapping[str, str], token: str) -> str:
    """Twilio's request signature: HMAC-SHA1 of the URL and the sorted form fields."""
    signed = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def valid_signature(url: str, params: Mapping[str, str], given: str, token: str) -> bool:
    return hmac.compare_digest(signature(url, params, token), given)
