"""The unit tier: pure tests of the domain and the services on the in-memory fakes
(tests/fakes.py). No localcloud, no sockets, no Google clients: each test runs with the
network shut (tests/purity.py), so one that needs a server fails and moves to
tests/integration."""

from __future__ import annotations

import pytest

from tests.purity import shut_network


@pytest.fixture(autouse=True)
def _pure(monkeypatch: pytest.MonkeyPatch) -> None:
    shut_network(monkeypatch)
