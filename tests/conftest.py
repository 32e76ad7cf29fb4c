"""Shared fixtures: a local Firestore per test session, a fresh project per test."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from localcloud.firestore import FirestoreServer, start_firestore
from localcloud.platforms.testing import platform_server, platforms  # noqa: F401

_ISOLATED_ENV = (
    "FIRESTORE_EMULATOR_HOST",
    "CLOUD_TASKS_EMULATOR_HOST",
    "CLOUD_SCHEDULER_EMULATOR_HOST",
    "GOOGLE_CLOUD_PROJECT",
)


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see emulator hosts or projects from the developer's shell."""
    for name in _ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def firestore_server() -> Iterator[FirestoreServer]:
    """One in-process local Firestore for the whole test session."""
    server = start_firestore(debug_port=0)
    yield server
    server.stop()


@pytest.fixture
def project_id() -> str:
    """A project nobody else uses: each test starts with an empty database."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def firestore_env(
    firestore_server: FirestoreServer, project_id: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Point the real Google clients at the local Firestore; returns its address."""
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_server.address)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", project_id)
    return firestore_server.address


@pytest.fixture
def db(firestore_env: str, project_id: str) -> Iterator[Any]:
    """A real ``google.cloud.firestore.Client`` on a fresh, empty project."""
    from google.cloud import firestore

    client = firestore.Client(project=project_id)
    yield client
    client.close()


@pytest.fixture
def async_db(firestore_env: str, project_id: str) -> Any:
    """A real ``google.cloud.firestore.AsyncClient`` on the same fresh project."""
    from google.cloud import firestore

    return firestore.AsyncClient(project=project_id)


@pytest.fixture(scope="session")
def rules_server() -> Iterator[FirestoreServer]:
    """A second local Firestore, enforcing the repo's ``firestore.rules``."""
    server = start_firestore(rules_path=Path(__file__).resolve().parents[1] / "firestore.rules")
    yield server
    server.stop()


@pytest.fixture
def rules_db(
    rules_server: FirestoreServer, project_id: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """The owner's real client on the rules server (rules do not apply): seeds data."""
    from google.cloud import firestore

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", rules_server.address)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", project_id)
    client = firestore.Client(project=project_id)
    yield client
    client.close()


@pytest.fixture
def client_as(rules_db: Any, project_id: str) -> Iterator[Any]:
    """``client_as("u1", company_id="a", role="user")``: the real client on the rules server
    signed in as that user (an unsigned ID token with those claims); ``client_as(None)``: an
    unauthenticated web visitor; ``client_as(token="<any JWT>")``."""
    from localcloud.firestore.testing import mock_id_token, user_client

    clients: list[Any] = []

    def make(uid: str | None, token: str | None = None, **claims: Any) -> Any:
        if token is None and uid is not None:
            token = mock_id_token(project_id, uid, **claims)
        clients.append(user_client(project_id, token))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def functions_env(firestore_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The bundle's adapters rebuilt against the local Firestore and this test's project."""
    from shared import bootstrap

    monkeypatch.setenv("GROWTHKIT_ENVIRONMENT", "local")
    bootstrap.reset()
    yield
    bootstrap.reset()


@pytest.fixture
def function_client(functions_env: None) -> Any:
    """``function_client("lead_intake")``: a test client of one function from main.py."""
    import functions_framework

    def make(target: str) -> Any:
        return functions_framework.create_app(target, "functions/main.py").test_client()

    return make


@pytest.fixture
def queue(functions_env: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Cloud Tasks replaced by the in-memory ``FakeTaskQueue`` (nothing runs the tasks:
    tests deliver due ones to run_task themselves)."""
    from tests.integration.event_support import memory_queue

    return memory_queue(monkeypatch)


@pytest.fixture
def feed(firestore_server: FirestoreServer, project_id: str) -> Iterator[Any]:
    """This test's commits, as the Eventarc bridge sees them (a ``ProjectFeed``), for
    delivering Firestore-triggered functions."""
    from tests.integration.event_support import ProjectFeed

    captured = ProjectFeed(firestore_server.store, project_id)
    yield captured
    captured.close()


@pytest.fixture
def run_task_url(functions_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """run_task served by a real HTTP server (as Cloud Tasks reaches it), set as the
    functions' base URL; its URL."""
    import functions_framework
    from werkzeug.serving import make_server

    from shared import bootstrap

    app = functions_framework.create_app("run_task", "functions/main.py")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("GROWTHKIT_FUNCTIONS_BASE_URL", url)
    bootstrap.reset()
    yield url
    server.shutdown()


@pytest.fixture
def cloud_tasks(
    functions_env: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Any]]:
    """``cloud_tasks(max_attempts=5, paused=False)``: a local Cloud Tasks server that the
    bundle's clients use, holding the bundle's queue created by the real client (retries
    200 ms apart, ``max_attempts`` in all; ``paused``: tasks are kept, not delivered)."""
    from localcloud.tasks import start_tasks
    from shared import bootstrap
    from shared.adapters.clients import tasks_client
    from shared.settings import get_settings

    servers: list[Any] = []

    def start(max_attempts: int = 5, paused: bool = False) -> Any:
        servers.append(start_tasks("127.0.0.1", port=0))
        monkeypatch.setenv("CLOUD_TASKS_EMULATOR_HOST", servers[-1].address)
        bootstrap.reset()
        queue = get_settings().queue_path
        retry = {"min_backoff": timedelta(milliseconds=200), "max_attempts": max_attempts}
        parent = queue.rsplit("/queues/", 1)[0]
        tasks_client().create_queue(parent=parent, queue={"name": queue, "retry_config": retry})
        if paused:
            tasks_client().pause_queue(name=queue)
        return servers[-1]

    yield start
    bootstrap.reset()  # drops the clients bound to these servers
    for server in servers:
        server.stop()


@pytest.fixture
def mailbox() -> Iterator[tuple[Any, int]]:
    """A real SMTP server (aiosmtpd) on a free local port: its ``tests.support.Mailbox``
    (what it received) and the port."""
    from aiosmtpd.controller import Controller

    from bench.instance import free_port
    from tests.support import Mailbox

    handler, port = Mailbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def smtp_mailbox(
    functions_env: None, mailbox: tuple[Any, int], monkeypatch: pytest.MonkeyPatch
) -> Any:
    """The mailbox, the functions' e-mail sent to it (``mail_backend=smtp``)."""
    from shared import bootstrap

    monkeypatch.setenv("GROWTHKIT_MAIL_BACKEND", "smtp")
    monkeypatch.setenv("GROWTHKIT_SMTP_PORT", str(mailbox[1]))
    monkeypatch.setenv("GROWTHKIT_SMTP_TLS", "none")  # a plain local server
    bootstrap.reset()
    return mailbox[0]


@pytest.fixture
def mail_stack(
    run_task_url: str,
    cloud_tasks: Callable[..., Any],
    mailbox: tuple[Any, int],
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """run_task on a real HTTP server, the local Cloud Tasks with the bundle's queue (fast
    retries) delivering to it, e-mail over SMTP to the mailbox, all set through settings;
    the functions' clock is the Tasks server's (``advance`` it: nobody sleeps). Returns
    the Tasks server."""
    from shared import bootstrap
    from tests.support import ServerClock

    monkeypatch.setenv("GROWTHKIT_MAIL_BACKEND", "smtp")
    monkeypatch.setenv("GROWTHKIT_SMTP_PORT", str(mailbox[1]))
    monkeypatch.setenv("GROWTHKIT_SMTP_TLS", "none")  # a plain local server
    monkeypatch.setenv("GROWTHKIT_SMTP_SENDER", "hello@acme.example")
    tasks = cloud_tasks()
    monkeypatch.setattr(bootstrap, "clock", ServerClock(tasks))
    return tasks


@pytest.fixture(scope="session")
def token_issuer() -> Iterator[Any]:
    """Signs real RS256 ID tokens and serves their certificates on localhost."""
    from localcloud.auth_tokens import TokenIssuer

    issuer = TokenIssuer()
    yield issuer
    issuer.close()


@pytest.fixture
def staff_auth(
    token_issuer: Any, project_id: str, monkeypatch: pytest.MonkeyPatch, functions_env: None
) -> Any:
    """``staff_auth("acme", role="admin")`` -> headers with a verified ID token."""
    from shared import bootstrap

    monkeypatch.setenv("GROWTHKIT_ID_TOKEN_CERT_URL", token_issuer.cert_url)
    bootstrap.reset()

    def headers(company_id: str, role: str = "manager", **claims: Any) -> dict[str, str]:
        return dict(token_issuer.bearer(project_id, company_id=company_id, role=role, **claims))

    return headers


@pytest.fixture(scope="session")
def auth_server() -> Iterator[Any]:
    """One local Firebase Auth stand-in (``localcloud.auth``) for the whole session."""
    from localcloud.auth import start_auth

    server = start_auth()
    yield server
    server.stop()


@pytest.fixture
def auth_emulator(auth_server: Any, monkeypatch: pytest.MonkeyPatch, functions_env: None) -> Any:
    """User management, and only it, pointed at the local Auth stand-in: ID-token checks
    stay real (``FIREBASE_AUTH_EMULATOR_HOST`` would make firebase-admin accept unsigned
    tokens, so it is kept unset)."""
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GROWTHKIT_AUTH_EMULATOR_HOST", auth_server.address)
    return auth_server
