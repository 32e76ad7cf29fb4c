"""What the local mailbox received: each message as it came over SMTP, and its parts.

A message is kept as its raw bytes with its envelope (``MAIL FROM``, ``RCPT TO``), when it
came, and how (over TLS or not, the AUTH user); ``Mail.parsed`` reads it with the standard
library's ``email`` package (``policy.default``): its headers in order, its text and HTML
parts. Only the newest ``limit`` messages are kept, so a long session cannot fill memory.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

DEFAULT_LIMIT = 1000


@dataclass(frozen=True)
class Mail:
    """One message as the SMTP server accepted it."""

    id: str
    raw: bytes
    mail_from: str
    rcpt_tos: tuple[str, ...]
    received_at: datetime
    tls: bool = False
    auth_user: str | None = None
    _parsed: list[EmailMessage] = field(default_factory=list, compare=False, repr=False)

    @property
    def parsed(self) -> EmailMessage:
        """The message read once (the standard library's modern ``EmailMessage``)."""
        if not self._parsed:
            self._parsed.append(message_from_bytes(self.raw, policy=policy.default))
        return self._parsed[0]

    def header(self, name: str) -> str:
        return str(self.parsed.get(name, ""))

    def headers(self) -> list[tuple[str, str]]:
        """Every header in order, as sent (a name may repeat)."""
        return [(name, str(value)) for name, value in self.parsed.items()]

    def part(self, subtype: str) -> str | None:
        """The text of the ``text/<subtype>`` body (``plain`` or ``html``), if any."""
        body = self.parsed.get_body(preferencelist=(subtype,))
        if body is None or body.get_content_subtype() != subtype:
            return None
        # SMTP carries lines ending in CRLF; shown and compared, they end in LF.
        return str(body.get_content()).replace("\r\n", "\n")

    def summary(self) -> dict[str, Any]:
        """What the list shows of it."""
        return {
            "id": self.id,
            "from": self.header("From"),
            "to": self.header("To"),
            "subject": self.header("Subject"),
            "date": self.header("Date"),
            "message_id": self.header("Message-ID"),
            "received_at": self.received_at.isoformat(),
            "size": len(self.raw),
        }

    def details(self) -> dict[str, Any]:
        """Everything about it but the raw source (served on its own)."""
        return {
            **self.summary(),
            "envelope": {"mail_from": self.mail_from, "rcpt_tos": list(self.rcpt_tos)},
            "tls": self.tls,
            "auth_user": self.auth_user,
            "headers": [list(pair) for pair in self.headers()],
            "text": self.part("plain"),
            "html": self.part("html"),
        }


class MailStore:
    """The messages received, oldest first; safe to use from any thread."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._mails: list[Mail] = []
        self._ids = itertools.count(1)

    def add(
        self,
        raw: bytes,
        mail_from: str,
        rcpt_tos: list[str],
        *,
        tls: bool = False,
        auth_user: str | None = None,
    ) -> Mail:
        with self._lock:
            mail = Mail(
                str(next(self._ids)),
                raw,
                mail_from,
                tuple(rcpt_tos),
                datetime.now(UTC),
                tls,
                auth_user,
            )
            self._mails = [*self._mails, mail][-self.limit :]
        return mail

    def all(self) -> list[Mail]:
        """Every message kept, newest first."""
        with self._lock:
            return list(reversed(self._mails))

    def get(self, mail_id: str) -> Mail | None:
        with self._lock:
            return next((m for m in self._mails if m.id == mail_id), None)

    def clear(self) -> None:
        with self._lock:
            self._mails = []
