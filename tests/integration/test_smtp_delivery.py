"""The SMTP sender against the local mailbox (aiosmtpd) behaving as a production relay:
STARTTLS with a certificate made here, AUTH, implicit TLS, deferrals and refusals."""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from localcloud.mailbox import Mailbox, start_mailbox
from localcloud.mailbox.testing import self_signed_certificate, server_context
from shared import bootstrap
from shared.adapters.messaging import SmtpMessenger, message_id
from shared.errors import InvalidInput, Transient
from shared.ports import OutboundMessage
from shared.settings import get_settings

USER, PASSWORD = "apikey", "relay-s3cret"
UNSUBSCRIBE = (
    ("List-Unsubscribe", "<https://growthkit.example/u/abc>"),
    ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
)
MESSAGE = OutboundMessage(
    "email",
    "jane@example.com",
    "Your quote",
    "Hello Jane",
    "review-request:acme:r1",
    UNSUBSCRIBE,
    "<p>Hello <b>Jane</b></p>",
)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path)


@pytest.fixture
def relay(certificate: tuple[Path, Path]) -> Iterator[Mailbox]:
    """A relay offering STARTTLS and requiring AUTH (offered only over TLS)."""
    mailbox = start_mailbox(tls=server_context(*certificate), users={USER: PASSWORD})
    yield mailbox
    mailbox.stop()


def smtp_messenger(monkeypatch: pytest.MonkeyPatch, port: int, **env: str) -> SmtpMessenger:
    """The SMTP messenger built from the environment, as ``bootstrap`` builds it; quick
    retries so that a test does not wait for a relay's real back-off."""
    settings = {
        "GROWTHKIT_MAIL_BACKEND": "smtp",
        "GROWTHKIT_SMTP_HOST": "localhost",
        "GROWTHKIT_SMTP_PORT": str(port),
        "GROWTHKIT_SMTP_SENDER": "Acme <hello@acme.example>",
        "GROWTHKIT_SMTP_USERNAME": USER,
        "GROWTHKIT_SMTP_PASSWORD": PASSWORD,
        "GROWTHKIT_SMTP_TIMEOUT_SECONDS": "5",
    }
    for name, value in (settings | env).items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    return SmtpMessenger(bootstrap.document_store(), get_settings(), retry_delays=(0.05, 0.05))


def test_starttls_and_auth_deliver_text_and_html_with_every_header(
    db: Any,
    functions_env: None,
    relay: Mailbox,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Upgraded to TLS, logged in, the mail has its Message-ID, a Date, both parts as
    multipart/alternative and the list headers."""
    ca = str(certificate[0])
    smtp = smtp_messenger(monkeypatch, relay.smtp_port, GROWTHKIT_SMTP_CA_FILE=ca)
    provider_id = smtp.send(MESSAGE)
    (mail,) = relay.messages()
    assert (True, USER, "hello@acme.example", ("jane@example.com",)) == (
        mail.tls,
        mail.auth_user,
        mail.mail_from,
        mail.rcpt_tos,
    )
    assert (message_id(MESSAGE, "hello@acme.example"), provider_id) == (
        mail.header("Message-ID"),
        mail.header("Message-ID"),
    )
    assert parsedate_to_datetime(mail.header("Date")).tzinfo is not None
    assert "multipart/alternative" == mail.parsed.get_content_type()
    assert ("Hello Jane\n", "<p>Hello <b>Jane</b></p>\n") == (mail.part("plain"), mail.part("html"))
    assert [v for _, v in UNSUBSCRIBE] == [mail.header(name) for name, _ in UNSUBSCRIBE]


def test_no_credentials_or_mail_in_clear_when_starttls_is_not_offered(
    db: Any, functions_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server (or someone in the middle) that does not offer STARTTLS gets neither the
    password nor the message: the send fails, to be retried, and says why."""
    plain = start_mailbox(users={USER: PASSWORD}, auth_require_tls=False)
    try:
        smtp = smtp_messenger(monkeypatch, plain.smtp_port)
        with pytest.raises(Transient, match="STARTTLS"):
            smtp.send(MESSAGE)
        assert [] == plain.messages()
    finally:
        plain.stop()


def test_an_untrusted_certificate_is_refused(
    db: Any, functions_env: None, relay: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the certificate's authority (no GROWTHKIT_SMTP_CA_FILE) nothing is sent."""
    smtp = smtp_messenger(monkeypatch, relay.smtp_port)
    with pytest.raises(Transient, match="certificate"):
        smtp.send(MESSAGE)
    assert [] == relay.messages()


def test_implicit_tls_when_the_setting_says_so(
    db: Any, functions_env: None, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """TLS from the first byte on any port (465 is only the usual one)."""
    relay = start_mailbox(
        tls=server_context(*certificate), implicit_tls=True, users={USER: PASSWORD}
    )
    try:
        smtp = smtp_messenger(
            monkeypatch,
            relay.smtp_port,
            GROWTHKIT_SMTP_TLS="implicit",
            GROWTHKIT_SMTP_CA_FILE=str(certificate[0]),
        )
        smtp.send(MESSAGE)
        assert [(True, USER)] == [(m.tls, m.auth_user) for m in relay.messages()]
    finally:
        relay.stop()


def test_a_deferral_is_retried_and_the_message_goes_once(
    db: Any,
    functions_env: None,
    relay: Mailbox,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """451 twice (a greylisting relay), then accepted: one send, one message."""
    ca = str(certificate[0])
    smtp = smtp_messenger(monkeypatch, relay.smtp_port, GROWTHKIT_SMTP_CA_FILE=ca)
    relay.fail("451 4.7.1 Greylisted, try again later", times=2)
    smtp.send(MESSAGE)
    assert 1 == len(relay.messages())


def test_a_refusal_fails_the_message_at_once(
    db: Any,
    functions_env: None,
    relay: Mailbox,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """550 is final: no retry, the message fails for good (InvalidInput); a deferral that
    outlasts the retries is left for the caller to retry later (Transient)."""
    ca = str(certificate[0])
    smtp = smtp_messenger(monkeypatch, relay.smtp_port, GROWTHKIT_SMTP_CA_FILE=ca)
    relay.refuse("jane@example.com")
    relay.fail("452 4.2.2 Mailbox full", times=3, stage="rcpt")
    busy = OutboundMessage("email", "busy@example.com", "s", "b", "k-busy")
    with pytest.raises(Transient, match="452"):
        smtp.send(busy)
    with pytest.raises(InvalidInput, match="550"):
        smtp.send(MESSAGE)
    assert [] == relay.messages()


def test_a_wrong_password_is_a_configuration_problem_not_a_failed_message(
    db: Any,
    functions_env: None,
    relay: Mailbox,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """535 would fail every message for good if read as a refusal of this one: it is
    transient (kept to be retried once the password is fixed) and logged as an error
    naming the settings."""
    smtp = smtp_messenger(
        monkeypatch,
        relay.smtp_port,
        GROWTHKIT_SMTP_CA_FILE=str(certificate[0]),
        GROWTHKIT_SMTP_PASSWORD="wrong",
    )
    with caplog.at_level(logging.ERROR), pytest.raises(Transient):
        smtp.send(MESSAGE)
    assert any("GROWTHKIT_SMTP_PASSWORD" in r.getMessage() for r in caplog.records)


def test_the_mailbox_page_shows_what_the_smtp_backend_sent(
    db: Any, functions_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As under `make serve`: the real SMTP backend to localcloud's mailbox (plain text,
    a local server), read back over HTTP: the list, then the message's headers and both
    parts."""
    mailbox = start_mailbox()
    try:
        plain = {"GROWTHKIT_SMTP_TLS": "none", "GROWTHKIT_SMTP_USERNAME": ""}
        smtp = smtp_messenger(monkeypatch, mailbox.smtp_port, **plain)
        provider_id = smtp.send(MESSAGE)

        def get(path: str) -> bytes:
            with urllib.request.urlopen(mailbox.url + path, timeout=10) as answer:
                return bytes(answer.read())

        (listed,) = json.loads(get("/api/messages"))["messages"]
        shown = json.loads(get(f"/api/messages/{listed['id']}"))
        page = get("/").decode()
    finally:
        mailbox.stop()
    headers = dict(shown["headers"])
    assert ("Your quote", provider_id, "jane@example.com") == (
        listed["subject"],
        listed["message_id"],
        headers["To"],
    )
    assert [v for _, v in UNSUBSCRIBE] == [headers[name] for name, _ in UNSUBSCRIBE]
    assert ("Hello Jane\n", "<p>Hello <b>Jane</b></p>\n") == (shown["text"], shown["html"])
    assert "Your quote" in page and "jane@example.com" in page
