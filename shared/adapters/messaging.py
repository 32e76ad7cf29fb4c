"""The ``Messenger`` port: an outbox in Firestore locally, SMTP where mail is really sent.

Both record each message at ``outbox/{stable_id(idempotency_key)}`` (top level: a message
id names one send whatever the tenant), so sending the same message twice is a no-op:
the outbox only creates the document, and SMTP skips a message already recorded as sent.
SMTP can still send twice if the process dies between handing the message over and
recording it; no mail protocol closes that gap, and a stable Message-ID lets mail clients
fold the rare duplicate.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from typing import Any

from msgspec import structs

from shared.domain.common import normalize_email, one_line, stable_id
from shared.errors import AlreadyExists, InvalidInput, Transient
from shared.ports import SEND_HEADER, DocumentStore, Messenger, OutboundMessage, Write
from shared.settings import Settings, get_settings

log = logging.getLogger("growthkit.messaging")

SMTP_TIMEOUT_SECONDS = 30
# Lines up to RFC 5322's 998 characters: at the default 78, a long List-Unsubscribe URL is
# folded into RFC 2047 encoded-words, which mail clients do not read as a URL.
MAIL_POLICY = policy.default.clone(max_line_length=998)


def outbox_path(idempotency_key: str) -> str:
    return f"outbox/{stable_id(idempotency_key)}"


def message_id(message: OutboundMessage, sender: str) -> str:
    """An RFC 5322 Message-ID: a marketing e-mail's send reference (its ``SEND_HEADER``),
    so providers' events and replies' ``In-Reply-To`` name the send; otherwise derived from
    the idempotency key. Either way a resend has the same one."""
    domain = sender.rpartition("@")[2] or "growthkit.local"
    reference = dict(message.headers).get(SEND_HEADER, "")
    if reference and all(c.isalnum() or c in "-_." for c in reference):
        return f"<{reference}@{domain}>"
    return f"<{stable_id(message.idempotency_key, length=32)}@{domain}>"


def outgoing(message: OutboundMessage) -> OutboundMessage:
    """The message as it may leave: the last check before any mail (transactional too).
    Its e-mail address in canonical form, so nothing goes to ``<jane@x.com>`` or
    ``"Jane" <jane@x.com>``, which no suppression or key was compared with; its subject
    on one header line (a name stored with a line break before names were checked would
    inject a header, or make the mail library refuse the message).

    Raises:
        InvalidInput: the address is not a plain one (a refusal for good).
    """
    if message.channel != "email":
        return message
    try:
        to = normalize_email(message.to)
    except ValueError as err:
        raise InvalidInput(f"Not a plain e-mail address: {message.to[:100]!r}.") from err
    return structs.replace(message, to=to, subject=one_line(message.subject))


def _record(message: OutboundMessage, status: str, provider_id: str) -> dict[str, Any]:
    return {
        "channel": message.channel,
        "to": message.to,
        "subject": message.subject,
        "body": message.body,
        "headers": dict(message.headers),
        **({"html": message.html} if message.html else {}),
        "idempotency_key": message.idempotency_key,
        "status": status,
        "message_id": provider_id,
        "created_at": datetime.now(UTC),
    }


class OutboxMessenger:
    """Implements ``Messenger`` by recording messages (local stack, tests, no provider)."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    def send(self, message: OutboundMessage) -> str:
        message = outgoing(message)
        path = outbox_path(message.idempotency_key)
        provider_id = f"outbox-{path.rpartition('/')[2]}"
        try:
            self.store.commit([Write(path, _record(message, "queued", provider_id), "create")])
        except AlreadyExists:
            log.info("message %s already in the outbox", message.idempotency_key)
            return provider_id
        log.info("message %s to %s recorded in the outbox", message.idempotency_key, message.to)
        return provider_id


class SmtpMessenger:
    """Implements ``Messenger`` over SMTP (``settings.smtp_*``), e-mail only."""

    def __init__(self, store: DocumentStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def send(self, message: OutboundMessage) -> str:
        if message.channel != "email":
            raise InvalidInput(f"The SMTP backend cannot send {message.channel} messages.")
        message = outgoing(message)
        path = outbox_path(message.idempotency_key)
        sent = self.store.get_all([path])[0].data
        if sent is not None and sent.get("status") == "sent":
            log.info("message %s was already sent", message.idempotency_key)
            return str(sent["message_id"])
        email = self._email(message)
        self._deliver(email)
        provider_id = str(email["Message-ID"])
        self.store.commit([Write(path, _record(message, "sent", provider_id), "set")])
        log.info("message %s sent to %s as %s", message.idempotency_key, message.to, provider_id)
        return provider_id

    def _email(self, message: OutboundMessage) -> EmailMessage:
        email = EmailMessage(policy=MAIL_POLICY)
        email["From"] = self.settings.smtp_sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Message-ID"] = message_id(message, self.settings.smtp_sender)
        for name, value in message.headers:  # e.g. List-Unsubscribe, List-Unsubscribe-Post
            email[name] = value
        email.set_content(message.body)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        return email

    def _deliver(self, email: EmailMessage) -> None:
        try:
            with self._connect() as smtp:
                smtp.send_message(email)
        except smtplib.SMTPResponseException as err:
            # 4xx replies are "try later"; 5xx are final (unknown mailbox, refused content).
            if 400 <= err.smtp_code < 500:
                raise Transient(f"SMTP server deferred the message: {err}") from err
            raise InvalidInput(f"SMTP server refused the message: {err}") from err
        except smtplib.SMTPRecipientsRefused as err:
            if all(400 <= code < 500 for code, _ in err.recipients.values()):
                raise Transient(f"SMTP server deferred the recipient: {err.recipients}") from err
            raise InvalidInput(f"SMTP server refused the recipient: {err.recipients}") from err
        except (OSError, smtplib.SMTPException) as err:
            raise Transient(f"SMTP server unavailable: {err}") from err

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp_port == 465:  # implicit TLS
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT_SECONDS
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
        try:
            if not isinstance(smtp, smtplib.SMTP_SSL):
                smtp.ehlo()
                # Upgrade whenever offered: credentials and content never travel in clear.
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
            if s.smtp_username and s.smtp_password:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
        except BaseException:
            smtp.close()
            raise
        return smtp


def build_messenger(store: DocumentStore, settings: Settings | None = None) -> Messenger:
    """E-mail to the messenger ``settings.mail_backend`` names, SMS to ``sms_backend``'s
    (each to the outbox unless configured otherwise, whatever the other one is)."""
    settings = settings or get_settings()
    outbox = OutboxMessenger(store)
    if settings.mail_backend == "outbox" and settings.sms_backend == "outbox":
        return outbox
    from shared.adapters.sms import ChannelMessenger, HttpSmsMessenger

    mail = SmtpMessenger(store, settings) if settings.mail_backend == "smtp" else outbox
    sms = HttpSmsMessenger(store, settings) if settings.sms_backend == "http" else outbox
    return ChannelMessenger(mail, sms)
