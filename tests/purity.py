"""What keeps the unit tier pure: a test that opens a network socket, looks a name up or
makes a gRPC channel (how the Google clients talk) fails with ``NetworkInUnitTest``.

Applied with pytest's ``monkeypatch`` (undone after each test), not by replacing modules.
"""

from __future__ import annotations

import socket
from typing import Any

import grpc
import pytest

_NETWORK = (socket.AF_INET, socket.AF_INET6)


class NetworkInUnitTest(AssertionError):
    """A unit test reached for the network: move it to tests/integration."""


def _refuse(what: str) -> NetworkInUnitTest:
    return NetworkInUnitTest(f"{what}: unit tests are pure, move this test to tests/integration")


def _guarded(name: str) -> Any:
    original = getattr(socket.socket, name)

    def method(self: socket.socket, address: Any, *args: Any) -> Any:
        # Unix sockets stay open: they are not the network, and asyncio pairs them.
        if self.family in _NETWORK:
            raise _refuse(f"socket {name} to {address!r}")
        return original(self, address, *args)

    return method


def shut_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse connect, bind, name look-ups and gRPC channels until the test ends."""
    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, _guarded(name))

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        raise _refuse(f"name look-up of {host!r}")

    def channel(target: str, *args: Any, **kwargs: Any) -> Any:
        raise _refuse(f"gRPC channel to {target!r}")

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.setattr(socket, "gethostbyname", lookup)
    monkeypatch.setattr(grpc, "insecure_channel", channel)
    monkeypatch.setattr(grpc, "secure_channel", channel)
