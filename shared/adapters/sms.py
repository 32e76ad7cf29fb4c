"""SMS through a provider's HTTP API: a Twilio-like form POST with a timeout.

``HttpSmsMessenger`` posts ``To``, ``From`` and ``Body`` to ``settings.sms_api_url`` with
basic auth (``sms_account``, ``sms_auth_token``) and an ``Idempotency-Key`` header, and
records each message in the outbox like the SMTP messenger, so a retry of a message
already sent is not posted again. Timeouts, connection failures, 429 and 5xx are worth
retrying (``Transient``); other refusals are final (``InvalidInput``). Inbound messages
are signed the Twilio way (``X-Twilio-Signature``), checked by ``valid_signature``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared.adapters.messaging import outbox_path
from shared.domain.common import stable_id
from shared.errors import InvalidInput, Transient
from shared.ports import DocumentStore, Messenger, OutboundMessage, Write
from shared.settings import Settings

log = logging.getLogger("growthkit.sms")


class HttpSmsMessenger:
    """Implements ``Messenger`` for SMS over the provider's HTTP API."""

    def __init__(self, store: DocumentStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def send(self, message: OutboundMessage) -> str:
        if message.channel != "sms":
            raise InvalidInput(f"The SMS provider cannot send {message.channel} messages.")
        path = outbox_path(message.idempotency_key)
        sent = self.store.get_all([path])[0].data
        if sent is not None and sent.get("status") == "sent":
            log.info("SMS %s was already sent", message.idempotency_key)
            return str(sent["message_id"])
        provider_id = self._post(message)
        self.store.commit([Write(path, _sent_record(message, provider_id), "set")])
        log.info("SMS %s sent as %s", message.idempotency_key, provider_id)
        return provider_id

    def _post(self, message: OutboundMessage) -> str:
        import requests

        s = self.settings
        token = s.sms_auth_token.get_secret_value() if s.sms_auth_token else ""
        form = {"To": message.to, "From": s.sms_from, "Body": message.body}
        headers = {"Idempotency-Key": message.idempotency_key, "User-Agent": "growthkit-sms"}
        try:
            response = requests.post(
                s.sms_api_url,
                data=form,
                headers=headers,
                auth=(s.sms_account, token),
                timeout=s.sms_timeout_seconds,
                allow_redirects=False,
            )
        except requests.Timeout as err:
            raise Transient(f"The SMS provider timed out after {s.sms_timeout_seconds}s.") from err
        except requests.RequestException as err:
            raise Transient(f"The SMS provider is unreachable: {err}") from err
        return _provider_id(message, response.status_code, _json(response))


def _sent_record(message: OutboundMessage, provider_id: str) -> dict[str, Any]:
    """The outbox document of a sent SMS (as the other messengers record theirs)."""
    return {
        "channel": message.channel,
        "to": message.to,
        "subject": message.subject,
        "body": message.body,
        "headers": dict(message.headers),
        "idempotency_key": message.idempotency_key,
        "status": "sent",
        "message_id": provider_id,
        "created_at": datetime.now(UTC),
    }


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


def signature(url: str, params: Mapping[str, str], token: str) -> str:
    """Twilio's request signature: HMAC-SHA1 of the URL and the sorted form fields."""
    signed = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def valid_signature(url: str, params: Mapping[str, str], given: str, token: str) -> bool:
    return hmac.compare_digest(signature(url, params, token), given)
