"""localcloud's own fixtures: a local Firestore per test session, a fresh project per test.

These tests import localcloud and the Google clients only, never the project that uses
localcloud (``python -m pytest`` in ``localcloud/`` runs them alone).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
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
    """Tests never see emulator hosts, projects or localcloud settings (ports, data
    directory) from the developer's shell."""
    for name in _ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith("LOCALCLOUD_")]:
        monkeypatch.delenv(name)


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
    client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def async_db(firestore_env: str, project_id: str) -> Any:
    """A real ``google.cloud.firestore.AsyncClient`` on the same fresh project."""
    from google.cloud import firestore

    return firestore.AsyncClient(project=project_id)
