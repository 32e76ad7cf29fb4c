"""Helpers for the Scheduler tests: a recording HTTP target, real clients, job specs.

``Target`` is a real HTTP server on 127.0.0.1:0 that records requests and answers as
scripted; ``Servers`` starts local Cloud Schedulers with a real client each and stops them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from google.cloud import scheduler_v1
from google.cloud.scheduler_v1.services.cloud_scheduler.transports import (
    CloudSchedulerGrpcTransport,
)

from localcloud.scheduler import SchedulerServer, start_scheduler

PARENT = "projects/demo/locations/us-central1"
YEARLY = "0 0 1 1 *"  # never due during a test: only RunJob fires it


def make_client(address: str) -> scheduler_v1.CloudSchedulerClient:
    """The real client, as localcloud users create it: plain gRPC to ``address``."""
    channel = grpc.insecure_channel(address)
    return scheduler_v1.CloudSchedulerClient(transport=CloudSchedulerGrpcTransport(channel=channel))


def http_job(job_id: str, uri: str, schedule: str = "* * * * * *", **fields: Any) -> Any:
    """A job dict for the client; ``http_target=`` adds to the target, the rest to the job."""
    target = {"uri": uri, **fields.pop("http_target", {})}
    return {
        "name": f"{PARENT}/jobs/{job_id}",
        "schedule": schedule,
        "http_target": target,
        **fields,
    }


class Servers:
    """``start(**options)`` -> (server, client); ``close()`` stops them all."""

    def __init__(self) -> None:
        self._started: list[tuple[SchedulerServer, Any]] = []

    def start(self, **options: Any) -> tuple[SchedulerServer, Any]:
        server = start_scheduler("127.0.0.1", 0, **options)
        self._started.append((server, make_client(server.address)))
        return self._started[-1]

    def close(self) -> None:
        for server, client in self._started:
            client.transport.close()
            server.stop()


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
