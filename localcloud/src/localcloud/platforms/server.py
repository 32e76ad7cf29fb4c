"""One HTTP server for every platform stand-in, each under its own path prefix: ``/linkedin``,
``/x``, ``/facebook``, ``/wordpress/<site>``, ``/twilio``, ``/hooks/<name>``, plus
``/_admin`` (what was received and posted, set-up, fault injection).

Every request to a platform is recorded before anything else happens. A queued fault then
either replaces the answer with the platform's own error body, or (``stall``) lets the
request do its work (the post is created and recorded) and holds the answer back, so a
client times out after the platform acted: the classic cause of double posting.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from localcloud.platforms import admin
from localcloud.platforms.core import (
    FAULT_KINDS,
    STATUS_FAULTS,
    Fault,
    Grant,
    Json,
    Reply,
    Request,
    json_reply,
    redirect,
)
from localcloud.platforms.facebook import Facebook
from localcloud.platforms.hooks import Hooks
from localcloud.platforms.hub import Hub, Platform
from localcloud.platforms.linkedin import LinkedIn
from localcloud.platforms.oauth import Client
from localcloud.platforms.twilio import Twilio
from localcloud.platforms.wordpress import WordPress
from localcloud.platforms.x import X

log = logging.getLogger("localcloud.platforms")

PLATFORMS: tuple[type[Platform], ...] = (LinkedIn, X, Facebook, WordPress, Twilio, Hooks)
MAX_BODY = 32 * 1024 * 1024


class PortInUseError(OSError):
    """The requested port is taken: nothing was started."""


class PlatformServer:
    """The stand-ins on ``url``; the Python API tests use to set up, inspect and break them."""

    def __init__(self, host: str, port: int) -> None:
        self.hub = Hub()
        self._platforms = {cls.name: cls(self.hub) for cls in PLATFORMS}
        try:
            self._http = ThreadingHTTPServer((host, port), _handler(self))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    err.errno, f"port {port} on {host} is already in use; choose another"
                ) from None
            raise
        self._http.daemon_threads = True
        self.host, self.port = host, int(self._http.server_address[1])
        self.url = self.hub.address = f"http://{host}:{self.port}"
        threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True).start()

    def base_url(self, platform: str, site: str = "") -> str:
        """Where a client points: ``base_url("wordpress", "blog")`` is the site's root."""
        self.platform(platform)
        return f"{self.url}/{platform}" + (f"/{site}" if site else "")

    def platform(self, name: str) -> Any:
        """A platform's own set-up API (``add_page``, ``add_site``, ``configure``...)."""
        if name not in self._platforms:
            raise KeyError(f"unknown platform {name!r}; known: {', '.join(self._platforms)}")
        return self._platforms[name]

    def names(self) -> list[str]:
        return list(self._platforms)

    def requests(self, platform: str | None = None) -> list[Json]:
        return self.hub.records.requests(platform)

    def objects(self, platform: str | None = None, kind: str | None = None) -> list[Json]:
        return self.hub.records.objects(platform, kind)

    def posts(self, platform: str) -> list[Json]:
        """What was published there: posts, tweets, messages or hook deliveries."""
        return self.objects(platform, self.platform(platform).primary)

    def grant(
        self,
        platform: str,
        token: str,
        *,
        subject: str,
        scopes: tuple[str, ...] = (),
        expires_in: float | None = None,
        **extra: Any,
    ) -> Grant:
        """Make ``token`` valid on ``platform`` for ``subject`` (a member, user, page,
        account...). ``expires_in`` seconds from now; None never expires."""
        self.platform(platform)
        expires_at = None if expires_in is None else time.time() + expires_in
        grant = Grant(platform, token, subject, tuple(scopes), expires_at, extra=extra)
        log.info("%s: token granted to %s", platform, subject)
        return self.hub.tokens.add(grant)

    def expire(self, platform: str, token: str) -> None:
        self.hub.tokens.set_state(platform, token, expired=True)
        log.info("%s: a token was expired by the test", platform)

    def revoke(self, platform: str, token: str) -> None:
        self.hub.tokens.set_state(platform, token)
        log.info("%s: a token was revoked by the test", platform)

    def register_client(
        self,
        platform: str,
        client_id: str,
        client_secret: str | None = None,
        redirect_uris: tuple[str, ...] | list[str] = (),
    ) -> None:
        """An app allowed at ``platform``'s OAuth endpoints (no secret: a public client)."""
        self.platform(platform)
        self.hub.oauth.register(Client(platform, client_id, client_secret, tuple(redirect_uris)))

    def sign_in_as(self, platform: str, subject: str, **extra: Any) -> None:
        """Who approves ``platform``'s consent screen from now on."""
        self.platform(platform)
        self.hub.oauth.sign_in(platform, subject, extra)

    def fail(
        self,
        platform: str,
        kind: str | int,
        times: int = 1,
        *,
        status: int | None = None,
        seconds: float = 5.0,
        path: str = "",
    ) -> None:
        """The next ``times`` requests to ``platform`` (under ``path``, when given) fail as
        ``kind``: one of ``FAULT_KINDS`` or an HTTP status (401, 403, 429, 500, 503).
        ``stall`` lets the request act, then holds its answer for ``seconds``."""
        self.platform(platform)
        name = STATUS_FAULTS.get(kind, "") if isinstance(kind, int) else kind
        bad_status = status is not None and not 100 <= status <= 599
        if name not in FAULT_KINDS or times < 1 or seconds < 0 or bad_status:
            raise ValueError(
                f"cannot fail {platform} as {kind!r} x{times} ({seconds}s, status {status})"
            )
        self.hub.faults.add(platform, Fault(name, times, status, seconds, path))
        log.info("%s: the next %d request(s) under %r will fail as %s", platform, times, path, name)

    def reset(self) -> None:
        """Forget everything: records, objects, tokens, clients, faults, platform set-up."""
        self.hub.records.clear()
        self.hub.tokens.clear()
        self.hub.oauth.clear()
        self.hub.faults.clear()
        for platform in self._platforms.values():
            platform.reset()

    def stop(self) -> None:
        self.hub.stopping.set()  # releases stalled answers at once
        self._http.shutdown()
        self._http.server_close()

    def serve(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        """Route one request: ``/_admin``, a platform, or a 404."""
        parts = urlsplit(target)
        first, _, rest = parts.path.lstrip("/").partition("/")
        if first == "_admin":
            return admin.handle(self, method, "/" + rest, parse_qs(parts.query), body)
        if not first:
            return redirect("/_admin")
        if first not in self._platforms:
            return json_reply(404, {"error": f"no platform at /{first}", "see": "/_admin"})
        request = Request(
            method,
            "/" + rest,
            parse_qs(parts.query, keep_blank_values=True),
            {k.lower(): v for k, v in headers.items()},
            body,
            f"{self.url}/{first}",
        )
        return self._platform_reply(self._platforms[first], request, target, headers)

    def _platform_reply(
        self, platform: Platform, request: Request, target: str, headers: dict[str, str]
    ) -> Reply:
        entry = self.hub.records.request(
            platform.name, request.method, target, headers, request.body
        )
        fault = self.hub.faults.take(platform.name, request.path)
        if fault is not None and fault.kind != "stall":
            reply = platform.fault_reply(fault.kind, request)
            reply.status = fault.status or reply.status
            log.info("%s %s %s: injected %s", platform.name, request.method, target, fault.kind)
        else:
            reply = _guarded(platform, request)
        self.hub.records.answered(entry, reply.status, fault.kind if fault else None)
        log.debug("%s %s %s: %d", platform.name, request.method, target, reply.status)
        if fault is not None and fault.kind == "stall":
            log.info(
                "%s %s %s: acted, stalling %.1fs",
                platform.name,
                request.method,
                target,
                fault.seconds,
            )
            self.hub.stopping.wait(fault.seconds)
        return reply


def _guarded(platform: Platform, request: Request) -> Reply:
    """The platform's answer; a bug in a stand-in is its own 500, logged, never a hang."""
    try:
        return platform.handle(request)
    except Exception:
        log.exception("%s %s %s failed", platform.name, request.method, request.path)
        return platform.fault_reply("server_error", request)


def start_platforms(host: str = "127.0.0.1", port: int = 0) -> PlatformServer:
    """Serve every stand-in on ``port`` (0: a free one); ``PortInUseError`` if taken."""
    return PlatformServer(host, port)


def _read_body(handler: BaseHTTPRequestHandler) -> bytes | None:
    """The request body, de-chunked; None when it is too large, ``ValueError`` when its
    length or chunking is malformed."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        chunks, total = [], 0
        while (size := int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
            total += size
            if total > MAX_BODY:
                return None
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        handler.rfile.readline()
        return b"".join(chunks)
    length = int(handler.headers.get("Content-Length") or 0)
    if length < 0:
        raise ValueError(f"Content-Length {length}")
    return handler.rfile.read(length) if length <= MAX_BODY else None


def _handler(server: PlatformServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            try:
                body = _read_body(self)
            except ValueError as err:
                self.close_connection = True  # the rest of the stream cannot be trusted
                reply = json_reply(400, {"error": f"malformed request body: {err}"})
            else:
                reply = self._answer(body)
            try:
                self._send(reply)
            except (BrokenPipeError, ConnectionResetError):
                log.info("%s %s: the client had gone before the answer", self.command, self.path)

        def _answer(self, body: bytes | None) -> Reply:
            if body is None:
                self.close_connection = True  # the unread body is left behind
                return json_reply(413, {"error": f"the body is over {MAX_BODY} bytes"})
            return server.serve(self.command, self.path, dict(self.headers.items()), body)

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815 - http.server API

        def log_message(self, *args: Any) -> None:
            pass

    return Handler
