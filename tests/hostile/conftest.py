"""Fixtures of the hostile-input tests: the seeded world and hypothesis settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.hostile.world import World, credentials, hints, seed
from tests.integration.event_support import ProjectFeed, memory_queue

# Bounded for `make test` (two cores, shared): HOSTILE_EXAMPLES raises it for a longer hunt.
EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "60"))
# The same examples on every `make test` run, so CI answers for the code, not for the draw;
# HOSTILE_RANDOM=1 draws new ones (a hunt: HOSTILE_RANDOM=1 HOSTILE_EXAMPLES=500).
RANDOM = bool(os.environ.get("HOSTILE_RANDOM"))
HOSTILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not RANDOM,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


@pytest.fixture
def world(
    db: Any,
    function_client: Any,
    auth_emulator: Any,  # before staff_auth, whose bootstrap reset then sees it
    staff_auth: Any,
    token_issuer: Any,
    project_id: str,
    firestore_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    """Acme and Other, and one of everything in Acme (``world.seed``); Cloud Tasks
    recorded in memory, Firebase Auth user management on the local stand-in."""
    memory_queue(monkeypatch)
    feed = ProjectFeed(firestore_server.store, project_id)
    made = World(db, function_client, credentials(token_issuer, project_id, staff_auth), hints())
    try:
        seed(made, feed)
    finally:
        feed.close()
    yield made


@pytest.fixture
def serve(functions_env: None) -> Iterator[Any]:
    """``serve("lead_intake")`` -> the base URL of that function on a real threaded HTTP
    server on 127.0.0.1 (for concurrency and for bodies a test client cannot send)."""
    import threading

    import functions_framework
    from werkzeug.serving import make_server

    servers: list[Any] = []

    def start(name: str) -> str:
        app = functions_framework.create_app(name, "functions/main.py")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
