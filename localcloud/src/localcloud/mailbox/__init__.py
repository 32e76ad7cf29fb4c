"""A local mailbox: an SMTP server keeping every message, and a web page showing them.

What Mailpit does, in-process: point a project's real SMTP sender at ``smtp_port`` and
read what it sent at ``url`` (a list, each message's headers, its HTML part sandboxed,
its text part and raw source) or through the JSON API (``/api/messages``). SMS sent to
the Twilio stand-in show on the same page once ``sms`` is given its messages.

    mailbox = start_mailbox()                   # free ports on 127.0.0.1
    smtplib.SMTP("127.0.0.1", mailbox.smtp_port).sendmail(...)
    mailbox.messages()                          # what arrived, newest first
    mailbox.fail("451 4.3.0 Try again later")   # the next message is deferred
    mailbox.stop()

TLS and AUTH as a production relay has them: ``tls`` (a server ``SSLContext``) offers
STARTTLS, ``implicit_tls`` wraps connections from the first byte, ``users`` requires a
login.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Mapping

from localcloud.binding import http_server
from localcloud.mailbox.smtp import Faults, Stage, smtp_server
from localcloud.mailbox.store import DEFAULT_LIMIT, Mail, MailStore
from localcloud.mailbox.web import SmsSource, handler

__all__ = ["Mail", "Mailbox", "start_mailbox"]


class Mailbox:
    """A running mailbox: its SMTP server and its web page."""

    def __init__(  # noqa: PLR0917 - the options of start_mailbox
        self,
        host: str,
        smtp_port: int,
        http_port: int,
        tls: ssl.SSLContext | None,
        implicit_tls: bool,
        users: Mapping[str, str] | None,
        auth_require_tls: bool,
        limit: int,
    ) -> None:
        self.store, self.faults = MailStore(limit), Faults()
        self.sms: SmsSource | None = None
        self._smtp = smtp_server(
            self.store,
            self.faults,
            host,
            smtp_port,
            tls=tls,
            implicit_tls=implicit_tls,
            users=users,
            auth_require_tls=auth_require_tls,
        )
        try:
            self._http = http_server(
                host, http_port, handler(self.store, lambda: self.sms), "The mailbox page"
            )
        except BaseException:
            self._smtp.stop()
            raise
        self._http.daemon_threads = True
        self.host, self.smtp_port = host, int(self._smtp.port)
        self.http_port = int(self._http.server_address[1])
        self.url = f"http://{host}:{self.http_port}"
        threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def smtp_address(self) -> str:
        return f"{self.host}:{self.smtp_port}"

    def messages(self) -> list[Mail]:
        """Every message received, newest first."""
        return self.store.all()

    def fail(self, reply: str, times: int = 1, stage: Stage = "data") -> None:
        """Answer the next ``times`` messages (``stage="data"``) or recipients (``"rcpt"``)
        with ``reply``, a 4xx (try later) or 5xx (refused) SMTP reply."""
        self.faults.add(stage, reply, times)

    def refuse(self, address: str, reply: str = "550 5.1.1 No such user here") -> None:
        """Turn ``address`` down at ``RCPT TO`` from now on."""
        self.faults.refused[address.lower()] = reply

    def clear(self) -> None:
        """Forget every message and fault."""
        self.store.clear()
        self.faults.clear()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._smtp.stop()


def start_mailbox(
    host: str = "127.0.0.1",
    smtp_port: int = 0,
    http_port: int = 0,
    *,
    tls: ssl.SSLContext | None = None,
    implicit_tls: bool = False,
    users: Mapping[str, str] | None = None,
    auth_require_tls: bool = True,
    limit: int = DEFAULT_LIMIT,
) -> Mailbox:
    """Serve SMTP on ``smtp_port`` and the page on ``http_port`` (0: free ports);
    ``localcloud.binding.PortInUse`` if either is taken."""
    return Mailbox(host, smtp_port, http_port, tls, implicit_tls, users, auth_require_tls, limit)
