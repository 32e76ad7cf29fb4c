"""A real local HTTP server for Scheduler tests to target: records requests, answers as told."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Hit:
    """One request the target received."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    received: datetime


@dataclass
class Script:
    """How a path answers: these statuses in turn (then 200), each after ``delay`` seconds."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0


class Target:
    """``ThreadingHTTPServer`` on 127.0.0.1:0 in a thread; one script per path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: list[Hit] = []
        self._scripts: dict[str, Script] = {}
        self._active = 0
        self.max_active: dict[str, int] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        # A short poll interval keeps ``close()`` (and so each test's teardown) quick.
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def script(self, path: str, statuses: list[int] | None = None, delay: float = 0.0) -> None:
        with self._lock:
            self._scripts[path] = Script(list(statuses or []), delay)

    def hits(self, path: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self._hits if hit.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, hit: Hit) -> int:
        with self._lock:
            self._hits.append(hit)
            script = self._scripts.setdefault(hit.path, Script())
            self._active += 1
            active = self._active
            self.max_active[hit.path] = max(self.max_active.get(hit.path, 0), active)
            status = script.statuses.pop(0) if script.statuses else 200
        time.sleep(script.delay)
        with self._lock:
            self._active -= 1
        return status


def _handler(target: Target) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            hit = Hit(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length),
                received=datetime.now(UTC),
            )
            status = target._handle(hit)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _any  # noqa: N815 - http.server API

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll ``predicate`` until it is truthy; its value, or AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.02)
