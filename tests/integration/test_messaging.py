"""Messengers against real servers: the outbox in the local Firestore, SMTP in aiosmtpd."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from bench.instance import free_port
from shared import bootstrap
from shared.adapters.messaging import OutboxMessenger, SmtpMessenger, message_id, outbox_path
from shared.errors import InvalidInput, Transient
from shared.ports import OutboundMessage
from tests.support import Mailbox

UNSUBSCRIBE = (
    ("List-Unsubscribe", "<https://growthkit.example/u/abc>"),
    ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
)
MESSAGE = OutboundMessage(
    "email", "jane@example.com", "Hello", "Body text", "review-request:acme:r1", UNSUBSCRIBE
)


@pytest.fixture
def smtp(functions_env: None, mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The e-mail side of what ``bootstrap`` builds for ``mail_backend=smtp``, pointed at
    the mailbox."""
    monkeypatch.setenv("GROWTHKIT_MAIL_BACKEND", "smtp")
    monkeypatch.setenv("GROWTHKIT_SMTP_PORT", str(mailbox[1]))
    monkeypatch.setenv("GROWTHKIT_SMTP_TLS", "none")  # a plain local server
    monkeypatch.setenv("GROWTHKIT_SMTP_SENDER", "reviews@acme.example")
    bootstrap.reset()
    return bootstrap.messenger().email  # type: ignore[attr-defined]


def test_outbox_records_each_message_once(db: Any, functions_env: None) -> None:
    """The default backend writes the message to the outbox; a resend is a no-op."""
    messenger = bootstrap.messenger()
    assert isinstance(messenger, OutboxMessenger)
    first, again = messenger.send(MESSAGE), messenger.send(MESSAGE)
    assert first == again
    (doc,) = [d.to_dict() for d in db.collection("outbox").stream()]
    assert ("jane@example.com", "queued", dict(UNSUBSCRIBE)) == (
        doc["to"],
        doc["status"],
        doc["headers"],
    )


def test_smtp_delivers_with_message_id_and_unsubscribe_headers(
    db: Any, smtp: Any, mailbox: tuple[Mailbox, int]
) -> None:
    """The mail arrives with a Message-ID from the idempotency key and the list headers."""
    assert isinstance(smtp, SmtpMessenger)
    provider_id = smtp.send(MESSAGE)
    (envelope,), (mail,) = mailbox[0].envelopes, mailbox[0].messages()
    assert ("reviews@acme.example", ["jane@example.com"]) == (
        envelope.mail_from,
        envelope.rcpt_tos,
    )
    assert (message_id(MESSAGE, "reviews@acme.example"), provider_id) == (
        mail["Message-ID"],
        mail["Message-ID"],
    )
    assert [("Hello", v) for _, v in UNSUBSCRIBE] == [
        (mail["Subject"], mail[name]) for name, _ in UNSUBSCRIBE
    ]
    assert "Body text" == mail.get_payload().strip()
    stored = db.document(outbox_path(MESSAGE.idempotency_key)).get().to_dict()
    assert ("sent", provider_id) == (stored["status"], stored["message_id"])


def test_smtp_does_not_resend_a_sent_message(smtp: Any, mailbox: tuple[Mailbox, int]) -> None:
    """A retry after success (same idempotency key) finds the outbox record and skips."""
    assert smtp.send(MESSAGE) == smtp.send(MESSAGE)
    assert 1 == len(mailbox[0].envelopes)


def test_smtp_refusals_are_permanent_and_deferrals_transient(
    smtp: Any, mailbox: tuple[Mailbox, int]
) -> None:
    """5xx from the server fails for good; 4xx and a dead server are worth retrying."""
    mailbox[0].refuse = {"gone@example.com": "550 No such user", "busy@example.com": "451 Later"}
    with pytest.raises(InvalidInput):
        smtp.send(OutboundMessage("email", "gone@example.com", "s", "b", "k-gone"))
    once = SmtpMessenger(smtp.store, smtp.settings, retry_delays=())
    with pytest.raises(Transient):
        once.send(OutboundMessage("email", "busy@example.com", "s", "b", "k-busy"))
    settings = smtp.settings.model_copy(update={"smtp_port": free_port()})
    dead = SmtpMessenger(smtp.store, settings, retry_delays=())
    with pytest.raises(Transient):
        dead.send(OutboundMessage("email", "jane@example.com", "s", "b", "k-dead"))
    assert [] == mailbox[0].envelopes


def test_with_smtp_mail_sms_still_goes_to_the_outbox(
    db: Any, smtp: Any, mailbox: tuple[Mailbox, int]
) -> None:
    """``mail_backend=smtp`` concerns e-mail: an SMS (no SMS provider configured) is kept in
    the outbox as with the defaults, not refused by the SMTP backend; e-mail goes out."""
    messenger = bootstrap.messenger()
    text = OutboundMessage("sms", "+15550100", "", "See you at 9", "k-sms")
    assert "outbox-" in messenger.send(text)
    messenger.send(MESSAGE)
    assert (["jane@example.com"], ["+15550100"]) == (
        [r for e in mailbox[0].envelopes for r in e.rcpt_tos],
        [d.get("to") for d in db.collection("outbox").stream() if d.get("channel") == "sms"],
    )


def test_smtp_sends_a_fresh_message_without_reading_its_record(
    smtp: Any, mailbox: tuple[Mailbox, int], firestore_server: Any, project_id: str
) -> None:
    """A message whose sender reserved its key just now (``fresh``: a marketing send's
    first attempt, nothing can have sent it) costs no read; it is still recorded as sent,
    so a retry of that send, not fresh, finds it and skips."""
    database = f"projects/{project_id}/databases/(default)"
    before = firestore_server.counters.documents_for(database)
    first = smtp.send(msgspec.structs.replace(MESSAGE, fresh=True))
    after = firestore_server.counters.documents_for(database)
    assert (0, 1) == (
        after.get("read", 0) - before.get("read", 0),
        after.get("written", 0) - before.get("written", 0),
    )
    assert first == smtp.send(MESSAGE)
    assert 1 == len(mailbox[0].envelopes)
