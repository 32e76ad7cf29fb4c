"""The e-mail provider's webhook (``email_events``) through functions-framework and the
local Firestore: campaign and workflow mail carries its send reference, a hard bounce or a
complaint keeps the next campaign from the address, a reply ends a reply-goal enrolment
and marks the recipient responded once however often it is delivered, and bad
signatures, malformed bodies and unknown messages get the answers providers need."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from shared import bootstrap
from shared.campaigns.domain.compliance import suppression_path
from shared.campaigns.domain.email_events import SIGNATURE_HEADER, signature
from shared.ports import SEND_HEADER
from shared.settings import MissingSecret
from tests.fakes import FakeTaskQueue
from tests.integration.event_support import ProjectFeed, deliver, memory_queue
from tests.integration.test_compliance_http import seed_lead, send_campaign
from tests.integration.test_messaging import Mailbox, free_port
from tests.outreach_support import run_due_tasks
from tests.support import docs, seed_company

EMAIL = {"subject": "Spring", "body": "Hello {{ lead.first_name }}, see https://acme.example"}


@pytest.fixture
def queue(functions_env: None, monkeypatch: pytest.MonkeyPatch) -> FakeTaskQueue:
    return memory_queue(monkeypatch)


@pytest.fixture
def feed(firestore_server: Any, project_id: str) -> Iterator[ProjectFeed]:
    captured = ProjectFeed(firestore_server.store, project_id)
    yield captured
    captured.close()


@pytest.fixture
def smtp(functions_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A real SMTP server on a free port, the SMTP messenger pointed at it."""
    from aiosmtpd.controller import Controller

    handler, port = Mailbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("GROWTHKIT_MAIL_BACKEND", "smtp")
    monkeypatch.setenv("GROWTHKIT_SMTP_PORT", str(port))
    monkeypatch.setenv("GROWTHKIT_SMTP_TLS", "none")  # a plain local server
    bootstrap.reset()
    yield handler
    controller.stop()


def reference(db: Any, to: str) -> str:
    """The send reference of the latest message to ``to`` in the outbox."""
    mails = [d.to_dict() for d in db.collection("outbox").stream() if d.get("to") == to]
    assert mails, f"nothing was sent to {to}"
    return str(max(mails, key=lambda m: m["created_at"])["headers"][SEND_HEADER])


def post(function_client: Any, *events: dict[str, Any], secret: str | None = None) -> Any:
    body = json.dumps({"events": list(events)}).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SIGNATURE_HEADER] = signature(body, secret)
    return function_client("email_events").post("/", data=body, headers=headers)


def outbox_to(db: Any) -> list[str]:
    return sorted(str(d.get("to")) for d in db.collection("outbox").stream())


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"type": "bounced", "bounce_type": "hard", "detail": "550 5.1.1 no such user"}, "bounced"),
        ({"type": "complained"}, "complained"),
    ],
)
def test_a_hard_bounce_or_a_complaint_keeps_the_next_campaign_from_the_address(
    db: Any,
    queue: FakeTaskQueue,
    function_client: Any,
    staff_auth: Any,
    event: dict[str, Any],
    reason: str,
) -> None:
    """A campaign mails Ann and Bob; the provider reports Ann's message (by its
    Message-ID); the next campaign mails Bob only and excludes Ann with the reason."""
    seed_company(db)
    seed_lead(db, "ann")
    seed_lead(db, "bob")
    first, _ = send_campaign(db, function_client, staff_auth, "News", template=EMAIL)
    message_id = f"<{reference(db, 'ann@example.com')}@growthkit.local>"
    res = post(function_client, {**event, "event_id": "ev-1", "message_id": message_id})
    suppression = db.document(suppression_path("acme", "email", "ann@example.com")).get()
    assert (200, "applied", "message_id") == (
        res.status_code,
        res.get_json()["results"][0]["outcome"],
        res.get_json()["results"][0]["matched_by"],
    )
    assert (reason, "ann") == (suppression.get("reason"), suppression.get("lead_id"))
    stats = db.document(f"companies/acme/campaigns/{first}").get().get("stats")
    assert 1 == stats[reason]
    second, _ = send_campaign(db, function_client, staff_auth, "More", template=EMAIL)
    ann = db.document(f"companies/acme/campaigns/{second}/recipients/ann").get()
    assert ("excluded", f"blocked: suppressed ({reason})") == (ann.get("status"), ann.get("reason"))
    assert ["ann@example.com", "bob@example.com", "bob@example.com"] == outbox_to(db)


def test_a_reply_delivered_twice_marks_the_recipient_responded_once(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """Ann's reply (In-Reply-To: our Message-ID) is posted twice: one inbound replied
    interaction holding its text, the recipient responded, counted once; the event is
    kept for managers."""
    seed_company(db)
    seed_lead(db, "ann")
    campaign_id, _ = send_campaign(db, function_client, staff_auth, "News", template=EMAIL)
    reply = {"from": "ann@example.com", "subject": "Re: Spring", "text": "<b>Yes</b>, call me"}
    event = {
        "type": "replied",
        "event_id": "inbound-1",
        "message_id": f"<{reference(db, 'ann@example.com')}@growthkit.local>",
        "reply": reply,
    }
    answers = [post(function_client, event).get_json()["results"][0]["outcome"] for _ in "12"]
    inbound = [
        i
        for i in docs(db, "companies/acme/leads/ann/interactions").values()
        if i.get("direction") == "inbound"
    ]
    ann = db.document(f"companies/acme/campaigns/{campaign_id}/recipients/ann").get()
    stats = db.document(f"companies/acme/campaigns/{campaign_id}").get().get("stats")
    assert ["applied", "duplicate"] == answers
    assert [("replied", "<b>Yes</b>, call me")] == [(i["status"], i["body"]) for i in inbound]
    assert ("responded", 1) == (ann.get("status"), stats["responded"])
    (stored,) = docs(db, "companies/acme/email_events").values()
    assert ("replied", "Re: Spring") == (stored["type"], stored["reply"]["subject"])


def test_the_message_id_at_the_smtp_server_leads_back_to_the_send(
    db: Any, queue: FakeTaskQueue, smtp: Mailbox, function_client: Any, staff_auth: Any
) -> None:
    """Through SMTP the mail's Message-ID is the send reference at the sender's domain;
    a reply naming it in In-Reply-To (what the relay passes as message_id) finds the send."""
    seed_company(db)
    seed_lead(db, "ann")
    send_campaign(db, function_client, staff_auth, "News", template=EMAIL)
    (mail,) = smtp.messages()
    reply = {"from": "ann@example.com", "text": "Interested"}
    event = {"type": "replied", "event_id": "i-1", "message_id": mail["Message-ID"]}
    (result,) = post(function_client, {**event, "reply": reply}).get_json()["results"]
    assert (mail[SEND_HEADER], "message_id") == (
        mail["Message-ID"].strip("<>").rpartition("@")[0],
        result["matched_by"],
    )


def test_a_reply_ends_an_enrolment_with_a_reply_goal(
    db: Any,
    queue: FakeTaskQueue,
    feed: ProjectFeed,
    function_client: Any,
    staff_auth: Any,
) -> None:
    """A workflow mails Jane then waits two days; her reply, found by our Message-ID in its
    References (In-Reply-To missing), becomes a replied interaction whose trigger ends
    the enrolment."""
    seed_company(db)
    seed_lead(db, "jane")
    workflow = {
        "name": "Nurture",
        "trigger": {"type": "manual"},
        "goals": [{"kind": "replied"}],
        "steps": [
            {"id": "hello", "type": "send_email", "subject": "Hi", "body": "Welcome"},
            {"type": "wait", "duration": {"days": 2}},
            {"type": "send_email", "subject": "Again", "body": "Still there?"},
        ],
    }
    client, headers = function_client("workflows"), staff_auth("acme", "manager")
    assert (
        201
        == client.post(
            "/", json={"id": "nurture", "workflow": workflow}, headers=headers
        ).status_code
    )
    enrol = {"action": "enrol", "id": "nurture", "lead_id": "jane"}
    execution_id = client.post("/", json=enrol, headers=headers).get_json()["enrolment"][
        "execution_id"
    ]
    run_due_tasks(db, function_client)
    assert ["jane@example.com"] == outbox_to(db)
    reply = {"from": "Jane@Example.com", "text": "Stop the drip, let's talk"}
    references = f"<{reference(db, 'jane@example.com')}@growthkit.local>"
    event = {"type": "replied", "event_id": "r-9", "references": references, "reply": reply}
    res = post(function_client, event)
    assert ("applied", "references") == (
        res.get_json()["results"][0]["outcome"],
        res.get_json()["results"][0]["matched_by"],
    )
    (interaction_id,) = [
        k
        for k, i in docs(db, "companies/acme/leads/jane/interactions").items()
        if i.get("direction") == "inbound"
    ]
    path = f"companies/acme/leads/jane/interactions/{interaction_id}"
    trigger = function_client("on_interaction_workflows")
    assert [200, 200] == deliver(trigger, "on_interaction_workflows", *feed.last(path))
    execution = db.document(f"companies/acme/workflow_executions/{execution_id}").get()
    assert "goal_reached" == execution.get("status")


def test_signatures_are_checked_when_a_secret_is_set(
    db: Any, function_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With email_events_secret set: unsigned or wrongly signed is a 401 that records
    nothing; signed with the secret, the event is taken."""
    seed_company(db)
    monkeypatch.setenv("GROWTHKIT_EMAIL_EVENTS_SECRET", "provider-secret")
    bootstrap.reset()
    event = {"type": "delivered", "event_id": "d-1", "recipient": "nobody@example.com"}
    unsigned, forged = post(function_client, event), post(function_client, event, secret="guess")
    assert (401, 401, {}) == (
        unsigned.status_code,
        forged.status_code,
        docs(db, "unmatched_email_events"),
    )
    signed = post(function_client, event, secret="provider-secret")
    assert (200, "unmatched") == (signed.status_code, signed.get_json()["results"][0]["outcome"])


def test_production_without_a_secret_takes_no_event(
    db: Any, function_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Production without the secret: the function does not even start (nothing could
    verify an event; tests/integration/test_webhook_secrets.py has the deployed case)."""
    monkeypatch.setenv("GROWTHKIT_ENVIRONMENT", "production")
    monkeypatch.setenv("GROWTHKIT_SIGNING_KEY", "a-production-signing-key")
    monkeypatch.setenv("GROWTHKIT_FUNCTIONS_BASE_URL", "https://fn.example")
    bootstrap.reset()
    with pytest.raises(MissingSecret, match="GROWTHKIT_EMAIL_EVENTS_SECRET"):
        post(function_client, {"type": "delivered", "recipient": "a@example.com"})


def test_malformed_bodies_are_400_with_field_messages(db: Any, function_client: Any) -> None:
    res = post(
        function_client,
        {"type": "bounced", "recipient": "a@example.com"},
        {"type": "opened", "recipient": "not-an-address"},
    )
    fields = res.get_json()["error"]["details"]["fields"]
    assert 400 == res.status_code
    assert "bounce_type (hard or soft) is required for a bounce" == fields["events.0"]
    assert {"events.1.type", "events.1.recipient"} <= set(fields)
    empty = function_client("email_events").post("/", json={"events": []})
    not_json = function_client("email_events").post(
        "/", data="{", headers={"Content-Type": "application/json"}
    )
    assert (400, 400, 405) == (
        empty.status_code,
        not_json.status_code,
        function_client("email_events").get("/").status_code,
    )


def test_an_unknown_message_is_200_and_recorded_unmatched(db: Any, function_client: Any) -> None:
    """Another sender's Message-ID, to an address we never wrote to: 200 (no retries
    forever), the event kept once at unmatched_email_events, twice delivered."""
    seed_company(db)
    event = {
        "type": "bounced",
        "bounce_type": "hard",
        "event_id": "sg-123",
        "message_id": "<CAF=x@mail.example>",
        "recipient": "stranger@example.org",
        "occurred_at": "2026-01-02T03:04:05Z",
    }
    answers = [post(function_client, event) for _ in "12"]
    (stored,) = docs(db, "unmatched_email_events").values()
    assert [(200, "unmatched")] * 2 == [
        (a.status_code, a.get_json()["results"][0]["outcome"]) for a in answers
    ]
    assert ("bounced", "stranger@example.org") == (stored["type"], stored["address"])
    # Kept 30 days: firestore.indexes.json has the TTL policy on its expires_at.
    assert timedelta(days=30) == stored["expires_at"] - stored["received_at"]
    assert {} == docs(db, "companies/acme/suppressions")
