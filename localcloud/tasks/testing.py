"""Test helpers: a real client for a local server, and a recording HTTP receiver.

Task handlers are plain HTTP endpoints, so tests of the dispatcher (and of code that
enqueues tasks) need something real to be called: ``Receiver`` is a threaded
``http.server`` on a free port that records every request and answers from a script.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

T = TypeVar("T")


def tasks_client(address: str) -> Any:
    """The real ``CloudTasksClient``, unmodified, on an insecure channel to ``address``."""
    import grpc
    from google.cloud import tasks_v2
    from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

    channel = grpc.insecure_channel(address)
    return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))


def wait_until(probe: Callable[[], T], timeout: float = 5.0, interval: float = 0.02) -> T:
    """The first truthy value of ``probe()``; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def http_task(url: str, **fields: Any) -> dict[str, Any]:
    """A CreateTask ``task`` dict for ``url``; ``http_request=`` merges into the request."""
    return {"http_request": {"url": url, **fields.pop("http_request", {})}, **fields}


def task_gone(client: Any, name: str) -> bool:
    """True when GetTask answers NOT_FOUND: the task succeeded, gave up or was deleted."""
    from google.api_core import exceptions as gexc

    try:
        client.get_task(name=name)
    except gexc.NotFound:
        return True
    return False


@dataclass(frozen=True)
class Hit:
    """One request as the receiver saw it; header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received: float  # time.time() when the request arrived


class Receiver:
    """Records requests; answers each path from its script (then 200), optionally slowly."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._lock = threading.Lock()
        self._hits: list[Hit] = []
        self._scripts: dict[str, deque[int]] = {}
        self._delays: dict[str, float] = {}
        self._in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self._server = ThreadingHTTPServer((host, 0), _handler_class(self))
        self._server.daemon_threads = True
        # A short poll interval keeps close() (and so every test's teardown) quick.
        serve = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        serve.start()

    def url(self, path: str) -> str:
        return f"http://{self._host}:{self._server.server_port}{path}"

    def script(self, path: str, *statuses: int) -> None:
        """Answer the next requests to ``path`` with ``statuses`` in order, then 200."""
        with self._lock:
            self._scripts[path] = deque(statuses)

    def slow(self, path: str, seconds: float) -> None:
        """Hold every request to ``path`` for ``seconds`` before answering."""
        with self._lock:
            self._delays[path] = seconds

    def hits(self, path: str | None = None) -> list[Hit]:
        """The requests to ``path`` (None: every request, whatever its path)."""
        with self._lock:
            return [h for h in self._hits if path is None or h.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 5.0) -> list[Hit]:
        """The first ``count`` requests to ``path``, waiting up to ``timeout`` seconds."""
        return wait_until(
            lambda: self.hits(path)[:count] if len(self.hits(path)) >= count else [], timeout
        )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, hit: Hit) -> int:
        with self._lock:
            self._hits.append(hit)
            self._in_flight[hit.path] += 1
            self.max_in_flight[hit.path] = max(
                self.max_in_flight[hit.path], self._in_flight[hit.path]
            )
            script = self._scripts.get(hit.path)
            status = script.popleft() if script else 200
            delay = self._delays.get(hit.path, 0.0)
        time.sleep(delay)
        with self._lock:
            self._in_flight[hit.path] -= 1
        return status


def _handler_class(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            hit = Hit(self.command, self.path, headers, body, time.time())
            status = receiver._handle(hit)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _any  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # the tests read hits, not the access log

    return Handler
