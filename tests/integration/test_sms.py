"""The SMS provider adapter against a real local HTTP receiver: a Twilio-like form POST
with basic auth and an Idempotency-Key, sent once per key, retried on timeouts, 429 and
5xx, refused for good on other 4xx; the messenger routes SMS to it and e-mail elsewhere."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest

from localcloud.tasks.testing import Receiver
from shared import bootstrap
from shared.adapters.messaging import OutboxMessenger, outbox_path
from shared.adapters.sms import ChannelMessenger, HttpSmsMessenger
from shared.errors import InvalidInput, Transient
from shared.ports import OutboundMessage

SMS = OutboundMessage("sms", "+15550102030", "", "Acme: hi. Reply STOP to opt out.", "k-1")


@pytest.fixture
def provider(functions_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """A local receiver standing in for the provider; the settings point SMS at it."""
    receiver = Receiver()
    env = {
        "GROWTHKIT_SMS_BACKEND": "http",
        "GROWTHKIT_SMS_API_URL": receiver.url("/Messages.json"),
        "GROWTHKIT_SMS_FROM": "+15550000000",
        "GROWTHKIT_SMS_ACCOUNT": "AC123",
        "GROWTHKIT_SMS_AUTH_TOKEN": "secret",
        "GROWTHKIT_SMS_TIMEOUT_SECONDS": "0.2",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    yield receiver
    receiver.close()


def test_an_sms_is_posted_once_with_auth_and_its_key(db: Any, provider: Receiver) -> None:
    """The form carries To, From and Body, basic auth and the Idempotency-Key; sending
    the same key again posts nothing and returns the same id."""
    messenger = bootstrap.messenger()
    assert isinstance(messenger, ChannelMessenger)
    first, again = messenger.send(SMS), messenger.send(SMS)
    (hit,) = provider.hits("/Messages.json")
    form = {k: v[0] for k, v in parse_qs(hit.body.decode()).items()}
    auth = base64.b64encode(b"AC123:secret").decode()
    assert (first, "POST", f"Basic {auth}", "k-1") == (
        again,
        hit.method,
        hit.headers["authorization"],
        hit.headers["idempotency-key"],
    )
    assert {"To": "+15550102030", "From": "+15550000000", "Body": SMS.body} == form
    assert "sent" == db.document(outbox_path("k-1")).get().get("status")


def test_failures_worth_retrying_and_refusals(db: Any, provider: Receiver) -> None:
    """503 and 429 are transient, 400 is final, and a slow provider times out."""
    messenger = bootstrap.messenger()
    provider.script("/Messages.json", 503, 429, 400)
    for expected in (Transient, Transient, InvalidInput):
        with pytest.raises(expected):
            messenger.send(SMS)
    provider.slow("/Messages.json", 0.5)
    with pytest.raises(Transient):
        messenger.send(SMS)
    # Never sent; the attempt is recorded, so that a retry looks the message up first.
    assert "sending" == db.document(outbox_path("k-1")).get().get("status")


def test_email_still_goes_to_the_mail_backend(db: Any, provider: Receiver) -> None:
    """With SMS at the provider, e-mail keeps the configured backend (the outbox here)."""
    messenger = bootstrap.messenger()
    assert isinstance(messenger, ChannelMessenger)
    assert isinstance(messenger.email, OutboxMessenger)
    assert isinstance(messenger.sms, HttpSmsMessenger)
    messenger.send(OutboundMessage("email", "ann@example.com", "s", "b", "k-mail"))
    assert ([], "queued") == (
        provider.hits("/Messages.json"),
        db.document(outbox_path("k-mail")).get().get("status"),
    )
