"""The ``Messenger`` port: an outbox in Firestore locally, SMTP where mail is really sent.

Both record each message at ``outbox/{stable_id(idempotency_key)}`` (top level: a message
id names one send whatever the tenant), so sending the same message twice is a no-op:
the outbox only creates the document, and SMTP skips a message already recorded as sent
(it does not look for the record of a ``fresh`` message, whose key its sender reserved
just now: no earlier attempt can have sent it). SMTP can still send twice if the process
dies between handing the message over and recording it; no mail protocol closes that
gap, and a stable Message-ID lets mail clients fold the rare duplicate.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from msgspec import structs

from shared.domain.common import normalize_email, one_line, stable_id
from shared.errors import AlreadyExists, DomainError, InvalidInput, Transient
from shared.ports import SEND_HEADER, DocumentStore, Messenger, OutboundMessage, Write
from shared.settings import Settings, get_settings

log = logging.getLogger("growthkit.messaging")

# Before the second and third attempts of a deferred message (greylisting asks for a
# short wait; longer ones are the task queue's retries).
SMTP_RETRY_DELAYS = (1.0, 4.0)
# Lines up to RFC 5322's 998 characters: at the default 78, a long List-Unsubscribe URL is
# folded into RFC 2047 encoded-words, which mail clients do not read as a URL.
MAIL_POLICY = policy.default.clone(max_line_length=998)


def outbox_path(idempotency_key: str) -> str:
    return f"outbox/{stable_id(idempotency_key)}"


def message_id(message: OutboundMessage, sender: str) -> str:
    """An RFC 5322 Message-ID: a marketing e-mail's send reference (its ``SEND_HEADER``),
    so providers' events and replies' ``In-Reply-To`` name the send; otherwise derived from
    the idempotency key. Either way a resend has the same one."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "growthkit.local"
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

    def accepts(self, channel: str) -> bool:
        return False  # recorded only: nothing delivers the outbox

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
    """Implements ``Messenger`` over SMTP (``settings.smtp_*``), e-mail only.

    The connection is protected before anything is said (STARTTLS or implicit TLS, per
    ``smtp_tls_mode``), the certificate checked, then the login made. A try-later answer
    (4xx) or a connection that fails is tried again after ``retry_delays``; a refusal
    (5xx) fails the message for good. What is a problem of the set-up rather than of the
    message (a refused login, no STARTTLS, an untrusted certificate) is logged as an error
    naming the settings and stays ``Transient``, so no message fails for it.
    """

    def __init__(
        self,
        store: DocumentStore,
        settings: Settings,
        retry_delays: tuple[float, ...] = SMTP_RETRY_DELAYS,
    ) -> None:
        self.store = store
        self.settings = settings
        self.retry_delays = retry_delays

    def accepts(self, channel: str) -> bool:
        return channel == "email"  # send returns once the server took the message

    def send(self, message: OutboundMessage) -> str:
        if message.channel != "email":
            raise InvalidInput(f"The SMTP backend cannot send {message.channel} messages.")
        message = outgoing(message)
        path = outbox_path(message.idempotency_key)
        # A fresh message (``OutboundMessage.fresh``) has no record to find: no read.
        sent = None if message.fresh else self.store.get_all([path])[0].data
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
        """The MIME message: text, and HTML as its alternative when there is one."""
        email = EmailMessage(policy=MAIL_POLICY)
        email["From"] = self.settings.smtp_sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = format_datetime(datetime.now(UTC), usegmt=True)
        email["Message-ID"] = message_id(message, self.settings.smtp_sender)
        for name, value in message.headers:  # e.g. List-Unsubscribe, List-Unsubscribe-Post
            email[name] = value
        email.set_content(message.body)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        return email

    def _deliver(self, email: EmailMessage) -> None:
        """One attempt, and more after each of ``retry_delays`` while the server defers."""
        for delay in (*self.retry_delays, None):
            try:
                self._attempt(email)
                return
            except _Deferred as err:
                if delay is None:
                    raise
                log.warning("SMTP: %s; trying again in %gs", err.message, delay)
                time.sleep(delay)

    def _attempt(self, email: EmailMessage) -> None:
        try:
            with self._connect() as smtp:
                smtp.send_message(email)
        except smtplib.SMTPAuthenticationError as err:
            raise _setup_problem(
                f"the SMTP server refused the login ({err.smtp_code}): check "
                "GROWTHKIT_SMTP_USERNAME and GROWTHKIT_SMTP_PASSWORD"
            ) from err
        except smtplib.SMTPResponseException as err:
            raise _answered(err.smtp_code, f"{err.smtp_code} {_text(err.smtp_error)}") from err
        except smtplib.SMTPRecipientsRefused as err:
            (code, reply), *_ = err.recipients.values()
            raise _answered(code, f"{code} {_text(reply)} for {email['To']}") from err
        except ssl.SSLCertVerificationError as err:
            raise _setup_problem(
                f"the SMTP server's certificate is not trusted ({err.verify_message}): "
                "check GROWTHKIT_SMTP_HOST, or GROWTHKIT_SMTP_CA_FILE for a private relay"
            ) from err
        except smtplib.SMTPNotSupportedError as err:
            raise _setup_problem(f"the SMTP server does not support what is needed: {err}") from err
        except TimeoutError as err:  # not again here: the time it had is spent
            timeout = self.settings.smtp_timeout_seconds
            raise Transient(f"The SMTP server did not answer within {timeout:g}s.") from err
        except (OSError, smtplib.SMTPException) as err:
            raise _Deferred(f"SMTP server unavailable: {err}") from err

    def _connect(self) -> smtplib.SMTP:
        """Connected, protected and logged in, or closed and raising."""
        s, mode = self.settings, self.settings.smtp_tls_mode
        context = ssl.create_default_context(cafile=s.smtp_ca_file)
        timeout = s.smtp_timeout_seconds
        if mode == "implicit":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=timeout)
        try:
            if mode == "starttls":
                _starttls(smtp, context)
            if s.smtp_username:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                smtp.login(s.smtp_username, password)
        except BaseException:
            smtp.close()
            raise
        return smtp


class _Deferred(Transient):
    """A try-later answer or a failed connection: worth another attempt right away."""


def _starttls(smtp: smtplib.SMTP, context: ssl.SSLContext) -> None:
    """Upgrade to TLS, or refuse to say anything more: a server (or someone between)
    that does not offer STARTTLS would otherwise get the password and the mail in clear."""
    try:
        smtp.starttls(context=context)
    except smtplib.SMTPNotSupportedError as err:
        raise _setup_problem(
            "the SMTP server does not offer STARTTLS, so nothing was sent: check "
            "GROWTHKIT_SMTP_HOST and GROWTHKIT_SMTP_PORT (GROWTHKIT_SMTP_TLS=implicit for "
            "port 465)"
        ) from err


def _setup_problem(what: str) -> Transient:
    """A problem of the configuration, not of the message: logged as an error, and
    transient, so the message is kept for when the set-up is fixed."""
    log.error("SMTP: %s", what)
    return Transient(f"SMTP: {what.rstrip('.')}.")


def _answered(code: int, reply: str) -> DomainError:
    """4xx is "try later"; 5xx is final (unknown mailbox, refused content)."""
    if 400 <= code < 500:
        return _Deferred(f"SMTP server deferred the message: {reply}")
    return InvalidInput(f"SMTP server refused the message: {reply}")


def _text(reply: bytes | str) -> str:
    return (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply)[:300]


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
