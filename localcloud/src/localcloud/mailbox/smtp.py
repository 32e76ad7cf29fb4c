"""The local mailbox's SMTP server: aiosmtpd, keeping every message it accepts.

It speaks SMTP as a relay does (RFC 5321): ``EHLO``, optionally ``STARTTLS`` (RFC 3207)
or TLS from the first byte (RFC 8314's implicit TLS, usually port 465), optionally
``AUTH PLAIN``/``LOGIN`` (RFC 4954) against a set of users, then ``MAIL``, ``RCPT`` and
``DATA``. A test can make it answer like a real relay having a bad moment: ``fail`` queues
replies (``451 4.3.0 Try again later``, ``554 5.7.1 Rejected``) for the next recipients or
messages, ``refuse`` turns one address down for good (``550 5.1.1 No such user``).

The socket is bound before aiosmtpd starts (a port in use is refused at once, port 0 picks
a free one), and aiosmtpd serves on it.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Mapping
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from localcloud.binding import listening_socket
from localcloud.mailbox.store import MailStore

log = logging.getLogger("localcloud.mailbox.smtp")

Stage = Literal["rcpt", "data"]


class Faults:
    """Replies queued for the next recipients (``rcpt``) or messages (``data``), and
    addresses refused for good."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: dict[str, list[str]] = {"rcpt": [], "data": []}
        self.refused: dict[str, str] = {}

    def add(self, stage: Stage, reply: str, times: int) -> None:
        if not (reply[:1] in "45" and reply[:3].isdigit() and times >= 1):
            raise ValueError(f"not a 4xx or 5xx SMTP reply, {times} time(s): {reply!r}")
        with self._lock:
            self._queued[stage] += [reply] * times

    def take(self, stage: Stage) -> str | None:
        with self._lock:
            return self._queued[stage].pop(0) if self._queued[stage] else None

    def clear(self) -> None:
        with self._lock:
            self._queued = {"rcpt": [], "data": []}
            self.refused = {}


class Handler:
    """aiosmtpd's handler: refusals first, then every accepted message into the store."""

    def __init__(self, store: MailStore, faults: Faults) -> None:
        self.store, self.faults = store, faults

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        reply = self.faults.refused.get(address.lower()) or self.faults.take("rcpt")
        if reply is not None:
            log.info("RCPT TO:<%s> answered %s", address, reply)
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Any, envelope: Any
    ) -> str:
        reply = self.faults.take("data")
        if reply is not None:
            log.info("DATA from <%s> answered %s", envelope.mail_from, reply)
            return reply
        tls = server.transport is not None and bool(server.transport.get_extra_info("ssl_object"))
        user = session.auth_data if isinstance(session.auth_data, str) else None
        mail = self.store.add(
            bytes(envelope.original_content or envelope.content or b""),
            str(envelope.mail_from),
            list(envelope.rcpt_tos),
            tls=tls,
            auth_user=user,
        )
        log.info("mail %s from <%s> to %s kept", mail.id, mail.mail_from, mail.rcpt_tos)
        return f"250 2.0.0 OK: queued as {mail.id}"


def authenticator(users: Mapping[str, str]) -> Any:
    """aiosmtpd's AUTH check: the login must be one of ``users`` with its password."""

    def check(*args: Any) -> AuthResult:
        # aiosmtpd calls it with (server, session, envelope, mechanism, auth data).
        mechanism, data = args[3], args[4]
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = data.login.decode("utf-8", "replace")
        known = users.get(login)
        ok = known is not None and known.encode() == data.password
        log.info("AUTH %s as %s: %s", mechanism, login, "accepted" if ok else "refused")
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

    return check


class SmtpServer(Controller):
    """aiosmtpd serving on a socket bound beforehand (``listening_socket``)."""

    def __init__(self, handler: Handler, sock: socket.socket, **kwargs: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


def smtp_server(
    store: MailStore,
    faults: Faults,
    host: str,
    port: int,
    *,
    tls: ssl.SSLContext | None = None,
    implicit_tls: bool = False,
    users: Mapping[str, str] | None = None,
    auth_require_tls: bool = True,
) -> SmtpServer:
    """A started SMTP server. ``tls`` (a server context) offers STARTTLS, or with
    ``implicit_tls`` wraps every connection from the first byte; ``users`` requires AUTH
    (over TLS only, unless ``auth_require_tls`` is False)."""
    # aiosmtpd logs every connection at INFO; only its warnings are news here.
    if logging.getLogger("mail.log").level == logging.NOTSET:
        logging.getLogger("mail.log").setLevel(logging.WARNING)
    sock = listening_socket(host, port, "The mailbox's SMTP server")
    options: dict[str, Any] = {"ssl_context": tls} if implicit_tls else {"tls_context": tls}
    if users:
        options |= {
            "authenticator": authenticator(dict(users)),
            "auth_required": True,
            # aiosmtpd counts only STARTTLS as TLS; implicit TLS is TLS from the start.
            "auth_require_tls": auth_require_tls and not implicit_tls,
        }
    server = SmtpServer(Handler(store, faults), sock, **options)
    try:
        server.start()
    except BaseException:
        sock.close()
        raise
    return server
