"""A message on the lead's timeline says what it is: ``queued`` when only recorded (the
outbox delivers nothing), ``sent`` once the SMTP server or the SMS provider accepted it,
then ``delivered`` or ``bounced`` as the provider's events say (the e-mail events webhook;
Twilio's status callbacks to sms_inbound).

On the local stack: workflows enrolled through the ``workflows`` function, their steps run
by the local Cloud Tasks calling run_task on a real HTTP server, e-mail delivered to
localcloud's mailbox, SMS to its Twilio stand-in, whose signed status callbacks reach
sms_inbound on the same server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from localcloud.mailbox import Mailbox, start_mailbox
from localcloud.tasks.testing import wait_until
from shared import bootstrap
from tests.support import seed_company

ACCOUNT, TOKEN, FROM = "AC" + "5" * 32, "twilio-token", "+15005550006"
ANYTIME = {"quiet_hours_start": 0, "quiet_hours_end": 24}  # SMS at any hour, for the test
LEADS = {
    "jane": {"email": "jane@example.com", "phone": "+15550100001"},
    "bob": {"email": "bob@example.com", "phone": "+15550100002"},
}


def workflow(channel: str) -> dict[str, Any]:
    step = (
        {"type": "send_email", "subject": "Hello {first_name}", "body": "Welcome!"}
        if channel == "email"
        else {"type": "send_sms", "body": "Welcome, {first_name}!"}
    )
    return {"name": f"Welcome by {channel}", "trigger": {"type": "manual"}, "steps": [step]}


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    started = start_mailbox()
    yield started
    started.stop()


@pytest.fixture
def stack(
    functions_env: None, mailbox: Mailbox, platforms: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """run_task and sms_inbound on one real HTTP server, the local Cloud Tasks, and the
    environment pointing the messengers nowhere yet (each test picks its backends)."""
    import functions_framework
    from werkzeug.serving import make_server

    from localcloud.tasks import start_tasks
    from shared.adapters.clients import tasks_client
    from shared.settings import get_settings

    run_task = functions_framework.create_app("run_task", "functions/main.py")
    inbound = functions_framework.create_app("sms_inbound", "functions/main.py")

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        """Each function at its name, as Cloud Functions serves them."""
        routed = inbound if environ["PATH_INFO"].startswith("/sms_inbound") else run_task
        return routed(environ, start_response)

    http = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    tasks = start_tasks("127.0.0.1", port=0)
    platforms.grant("twilio", TOKEN, subject=ACCOUNT)
    env = {
        "GROWTHKIT_FUNCTIONS_BASE_URL": f"http://127.0.0.1:{http.server_port}",
        "CLOUD_TASKS_EMULATOR_HOST": tasks.address,
        "GROWTHKIT_SMTP_PORT": str(mailbox.smtp_port),
        "GROWTHKIT_SMTP_TLS": "none",  # a plain local server
        "GROWTHKIT_SMTP_SENDER": "hello@acme.example",
        "GROWTHKIT_SMS_API_URL": f"{platforms.base_url('twilio')}/2010-04-01/Accounts/"
        f"{ACCOUNT}/Messages.json",
        "GROWTHKIT_SMS_ACCOUNT": ACCOUNT,
        "GROWTHKIT_SMS_FROM": FROM,
        "GROWTHKIT_SMS_AUTH_TOKEN": TOKEN,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    queue_path = get_settings().queue_path
    retry = {"min_backoff": timedelta(milliseconds=200), "max_attempts": 5}
    parent = queue_path.rsplit("/queues/", 1)[0]
    tasks_client().create_queue(parent=parent, queue={"name": queue_path, "retry_config": retry})
    yield env
    bootstrap.reset()
    tasks.stop()
    http.shutdown()


def backends(monkeypatch: pytest.MonkeyPatch, mail: str, sms: str) -> None:
    monkeypatch.setenv("GROWTHKIT_MAIL_BACKEND", mail)
    monkeypatch.setenv("GROWTHKIT_SMS_BACKEND", sms)
    bootstrap.reset()


def send_to_leads(db: Any, function_client: Any, staff_auth: Any, channel: str) -> None:
    """Both leads enrolled in a one-step workflow sending them a message."""
    seed_company(db, settings={"min_submit_seconds": 0, "postal_address": "1 Main St", **ANYTIME})
    for lead_id, fields in LEADS.items():
        lead = {"name": f"{lead_id.title()} Doe", "status": "new", "consent": {"given": True}}
        db.document(f"companies/acme/leads/{lead_id}").set({**lead, **fields})
    client, headers = function_client("workflows"), staff_auth("acme")
    body = {"id": "welcome", "workflow": workflow(channel)}
    assert 201 == client.post("/", json=body, headers=headers).status_code
    for lead_id in LEADS:
        enrol = {"action": "enrol", "id": "welcome", "lead_id": lead_id}
        assert 201 == client.post("/", json=enrol, headers=headers).status_code


def timeline(db: Any, lead_id: str) -> list[dict[str, Any]]:
    return [
        d.to_dict() for d in db.collection(f"companies/acme/leads/{lead_id}/interactions").stream()
    ]


def status_of(db: Any, lead_id: str, wanted: str | None = None) -> str | None:
    """The status of the lead's one outbound message (waiting for ``wanted`` if given)."""

    def read() -> str | None:
        found = [i["status"] for i in timeline(db, lead_id) if i.get("direction") == "outbound"]
        if not found or (wanted is not None and found[0] != wanted):
            return None
        return str(found[0])

    return wait_until(read, timeout=20)


def test_a_message_only_recorded_in_the_outbox_is_queued(
    db: Any, stack: dict[str, str], function_client: Any, staff_auth: Any, monkeypatch: Any
) -> None:
    """Nothing delivers the outbox: the timeline must not say the mail went anywhere."""
    backends(monkeypatch, "outbox", "outbox")
    send_to_leads(db, function_client, staff_auth, "email")
    assert ("queued", "queued") == (status_of(db, "jane"), status_of(db, "bob"))


def test_an_email_is_sent_then_delivered_or_bounced(
    db: Any,
    stack: dict[str, str],
    mailbox: Mailbox,
    function_client: Any,
    staff_auth: Any,
    monkeypatch: Any,
) -> None:
    """Accepted by the SMTP server: sent. The provider then reports Jane's delivered and
    Bob's hard-bounced, naming each message by the Message-ID it arrived with."""
    backends(monkeypatch, "smtp", "outbox")
    send_to_leads(db, function_client, staff_auth, "email")
    assert ("sent", "sent") == (status_of(db, "jane", "sent"), status_of(db, "bob", "sent"))
    ids = {m.rcpt_tos[0]: m.header("Message-ID") for m in mailbox.messages()}
    events = [
        {"type": "delivered", "event_id": "d1", "message_id": ids["jane@example.com"]},
        {
            "type": "bounced",
            "event_id": "b1",
            "bounce_type": "hard",
            "message_id": ids["bob@example.com"],
        },
    ]
    answer = function_client("email_events").post("/", json={"events": events})
    assert [("applied", "applied")] == [tuple(r["outcome"] for r in answer.get_json()["results"])]
    assert ("delivered", "bounced") == (status_of(db, "jane"), status_of(db, "bob"))
    # A late "delivered" for the bounced one does not bring it back.
    late = {"type": "delivered", "event_id": "d2", "message_id": ids["bob@example.com"]}
    function_client("email_events").post("/", json={"events": [late]})
    assert "bounced" == status_of(db, "bob")


def test_an_sms_is_sent_then_delivered_or_undelivered(
    db: Any,
    stack: dict[str, str],
    platforms: Any,
    function_client: Any,
    staff_auth: Any,
    monkeypatch: Any,
) -> None:
    """Accepted by the provider: sent. Twilio's signed callbacks then say delivered for
    Jane's and undelivered for Bob's (shown as bounced)."""
    backends(monkeypatch, "outbox", "http")
    send_to_leads(db, function_client, staff_auth, "sms")
    assert ("sent", "sent") == (status_of(db, "jane", "sent"), status_of(db, "bob", "sent"))
    sids = {m["to"]: m["sid"] for m in platforms.posts("twilio")}
    twilio = platforms.platform("twilio")
    assert 200 == twilio.send_status(sids[LEADS["jane"]["phone"]], "delivered")
    assert 200 == twilio.send_status(sids[LEADS["bob"]["phone"]], "undelivered", error_code=30003)
    assert ("delivered", "bounced") == (status_of(db, "jane"), status_of(db, "bob"))
