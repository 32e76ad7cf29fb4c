"""The Twilio stand-in over plain HTTP, as Twilio documents the Message resource: a
form POST with Basic auth answered 201 with an ``SM`` sid, Twilio's error JSON, status
callbacks signed as Twilio signs them, injected faults, and the product's own SMS adapter
sending through it."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from localcloud.tasks.testing import Receiver
from shared import bootstrap
from shared.adapters.messaging import outbox_path
from shared.adapters.sms import valid_signature
from shared.errors import Transient
from shared.ports import OutboundMessage

ACCOUNT, TOKEN = "AC" + "0123456789abcdef" * 2, "auth-token-1"
FROM, TO = "+15017122661", "+15558675310"


@pytest.fixture
def twilio(platforms: Any) -> Any:
    platforms.grant("twilio", TOKEN, subject=ACCOUNT)
    return platforms


@pytest.fixture
def callbacks() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def messages(platforms: Any, account: str = ACCOUNT) -> str:
    return platforms.base_url("twilio") + f"/2010-04-01/Accounts/{account}/Messages.json"


def send(platforms: Any, auth: Any = (ACCOUNT, TOKEN), **form: str) -> requests.Response:
    return requests.post(messages(platforms), data={"To": TO, "From": FROM} | form, auth=auth)


def test_a_message_is_queued_with_an_sm_sid(twilio: Any) -> None:
    answer = send(twilio, Body="Hi there")
    assert answer.status_code == 201
    message = answer.json()
    assert message["sid"].startswith("SM") and len(message["sid"]) == 34
    assert (message["status"], message["to"], message["from"], message["body"]) == (
        "queued",
        TO,
        FROM,
        "Hi there",
    )
    assert (message["direction"], message["num_segments"], message["account_sid"]) == (
        "outbound-api",
        "1",
        ACCOUNT,
    )
    assert message["uri"] == f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{message['sid']}.json"
    assert [m["sid"] for m in twilio.posts("twilio")] == [message["sid"]]
    fetched = requests.get(twilio.base_url("twilio") + message["uri"], auth=(ACCOUNT, TOKEN))
    assert fetched.json()["sid"] == message["sid"]
    listed = requests.get(messages(twilio), params={"To": TO}, auth=(ACCOUNT, TOKEN)).json()
    assert [m["sid"] for m in listed["messages"]] == [message["sid"]]


def test_long_bodies_count_segments(twilio: Any) -> None:
    assert send(twilio, Body="a" * 161).json()["num_segments"] == "2"
    assert send(twilio, Body="é" * 70).json()["num_segments"] == "1"  # é is in GSM-7
    assert send(twilio, Body="😀" * 71).json()["num_segments"] == "2"


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"To": ""}, 21604),
        ({"To": "555-1234"}, 21211),
        ({"From": ""}, 21603),
        ({}, 21602),
        ({"Body": "x" * 1601}, 21617),
        ({"StatusCallback": "ftp://x"}, 21609),
    ],
)
def test_refusals_are_twilio_errors(twilio: Any, form: dict[str, str], code: int) -> None:
    answer = send(
        twilio, **({"Body": "hi"} | form if "Body" not in form and code != 21602 else form)
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "code": code,
        "message": answer.json()["message"],
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": 400,
    }
    assert twilio.posts("twilio") == []


@pytest.mark.parametrize("auth", [None, (ACCOUNT, "wrong"), ("AC" + "f" * 32, TOKEN)])
def test_bad_credentials_are_20003(twilio: Any, auth: Any) -> None:
    answer = send(twilio, auth=auth, Body="hi")
    assert answer.status_code == 401
    assert answer.json()["code"] == 20003
    assert answer.headers["WWW-Authenticate"].startswith("Basic")


def test_status_callbacks_are_signed_as_twilio_signs(twilio: Any, callbacks: Receiver) -> None:
    url = callbacks.url("/sms/status?company_id=acme")
    sid = send(twilio, Body="hi", StatusCallback=url).json()["sid"]
    assert twilio.platform("twilio").send_status(sid, "delivered") == 200
    (hit,) = callbacks.hits("/sms/status?company_id=acme")
    form = {k: v[0] for k, v in parse_qs(hit.body.decode()).items()}
    assert (form["MessageSid"], form["MessageStatus"], form["SmsStatus"]) == (
        sid,
        "delivered",
        "delivered",
    )
    assert (form["AccountSid"], form["To"], form["From"]) == (ACCOUNT, TO, FROM)
    signed = url + "".join(k + form[k] for k in sorted(form))
    expected = base64.b64encode(hmac.new(TOKEN.encode(), signed.encode(), hashlib.sha1).digest())
    assert hit.headers["x-twilio-signature"] == expected.decode()
    assert valid_signature(url, form, hit.headers["x-twilio-signature"], TOKEN)
    assert twilio.posts("twilio")[0]["status"] == "delivered"


def test_automatic_callbacks_go_sent_then_delivered(twilio: Any, callbacks: Receiver) -> None:
    twilio.platform("twilio").auto_callbacks = True
    send(twilio, Body="hi", StatusCallback=callbacks.url("/status"))
    hits = callbacks.wait_for("/status", count=2)
    statuses = [parse_qs(h.body.decode())["MessageStatus"][0] for h in hits]
    assert statuses == ["sent", "delivered"]


@pytest.mark.parametrize(
    ("kind", "status", "code"), [(429, 429, 20429), (500, 500, 20500), (503, 503, 20503)]
)
def test_injected_faults(twilio: Any, kind: int, status: int, code: int) -> None:
    twilio.fail("twilio", kind)
    answer = send(twilio, Body="hi")
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    if status == 429:
        assert answer.headers["Retry-After"] == "1"
    assert twilio.posts("twilio") == []


@pytest.fixture
def sms_settings(functions_env: None, twilio: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The product's SMS adapter pointed at the Twilio stand-in."""
    env = {
        "GROWTHKIT_SMS_BACKEND": "http",
        "GROWTHKIT_SMS_API_URL": messages(twilio),
        "GROWTHKIT_SMS_FROM": FROM,
        "GROWTHKIT_SMS_ACCOUNT": ACCOUNT,
        "GROWTHKIT_SMS_AUTH_TOKEN": TOKEN,
        "GROWTHKIT_SMS_TIMEOUT_SECONDS": "0.5",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()


def test_the_products_sms_adapter_sends_through_it(
    db: Any, twilio: Any, sms_settings: None
) -> None:
    sid = bootstrap.messenger().send(OutboundMessage("sms", TO, "", "Acme: hi", "k-1"))
    (message,) = twilio.posts("twilio")
    assert (sid, message["body"], message["to"]) == (message["sid"], "Acme: hi", TO)


def test_a_stall_times_the_adapter_out_after_the_message_went(
    db: Any, twilio: Any, sms_settings: None
) -> None:
    """The stand-in shows the message left although the sender saw a timeout."""
    twilio.fail("twilio", "stall", seconds=3)
    with pytest.raises(Transient):
        bootstrap.messenger().send(OutboundMessage("sms", TO, "", "Acme: once", "k-2"))
    assert [m["body"] for m in twilio.posts("twilio")] == ["Acme: once"]


def test_a_retry_after_a_stall_finds_the_message_instead_of_sending_it_again(
    db: Any, twilio: Any, sms_settings: None
) -> None:
    """The retry (same idempotency key) looks the message up at the provider, finds the
    one the stalled attempt created, and records it: one SMS, its sid kept."""
    message = OutboundMessage("sms", TO, "", "Acme: once", "k-2")
    twilio.fail("twilio", "stall", seconds=3)
    with pytest.raises(Transient):
        bootstrap.messenger().send(message)
    sid = bootstrap.messenger().send(message)
    assert [("Acme: once", sid)] == [(m["body"], m["sid"]) for m in twilio.posts("twilio")]
    stored = db.document(outbox_path("k-2")).get().to_dict()
    assert ("sent", sid) == (stored["status"], stored["message_id"])


def test_the_same_text_sent_before_the_attempt_is_not_taken_for_it(
    db: Any, twilio: Any, sms_settings: None
) -> None:
    """An earlier message with the same text to the same number (another send, recorded
    as such) is not mistaken for the stalled one, which was never created: the retry
    sends it."""
    messenger = bootstrap.messenger()
    first = messenger.send(OutboundMessage("sms", TO, "", "Acme: same", "k-a"))
    twilio.fail("twilio", 503)
    message = OutboundMessage("sms", TO, "", "Acme: same", "k-b")
    with pytest.raises(Transient):
        messenger.send(message)
    second = messenger.send(message)
    assert [first, second] == [m["sid"] for m in twilio.posts("twilio")] and first != second


def test_when_the_provider_cannot_be_asked_nothing_is_sent_again(
    db: Any, twilio: Any, sms_settings: None
) -> None:
    """After a stall, a look-up that fails leaves the outcome unknown: the retry fails
    (to be tried later) rather than post a second SMS blind."""
    message = OutboundMessage("sms", TO, "", "Acme: unknown", "k-3")
    twilio.fail("twilio", "stall", seconds=3)
    with pytest.raises(Transient):
        bootstrap.messenger().send(message)
    twilio.fail("twilio", 503)
    with pytest.raises(Transient, match="look"):
        bootstrap.messenger().send(message)
    assert ["Acme: unknown"] == [m["body"] for m in twilio.posts("twilio")]
