"""Listening on a port, or refusing clearly when another program already does.

gRPC servers on Linux set ``SO_REUSEPORT`` by default, so a second server binds a port a
first one listens on and the kernel then spreads new connections between the two (seen: a
second local Firestore on the same port, and fresh clients alternating between two stores).
Every localcloud server binds with ``grpc.so_reuseport`` off, after a plain socket has
checked the port, so the refusal is one ``PortInUse`` naming the service and the port
rather than gRPC's log lines. The command lines turn it into one line naming the flag or
variable to change, and exit status 1.
"""

from __future__ import annotations

import errno
import socket
from typing import Any

# Passed to every grpc.server(): no silently shared ports.
GRPC_OPTIONS: list[tuple[str, Any]] = [("grpc.so_reuseport", 0)]


class PortInUse(OSError):
    """``service`` cannot listen on ``host:port``: another program listens there."""

    def __init__(self, service: str, host: str, port: int, hint: str = "") -> None:
        super().__init__(errno.EADDRINUSE, "address already in use")
        self.service, self.host, self.port, self.hint = service, host, port, hint

    def __str__(self) -> str:
        where = f"{self.host}:{self.port}"
        text = f"{self.service} cannot listen on {where}: port {self.port} is in use"
        return f"{text}; {self.hint}" if self.hint else text

    def hinted(self, hint: str) -> PortInUse:
        """The same refusal, saying what to change (``--port``, a variable)."""
        return PortInUse(self.service, self.host, self.port, hint)


def listening_socket(host: str, port: int, service: str) -> socket.socket:
    """A socket listening on ``host:port`` (``SO_REUSEADDR`` only, as servers set it, so a
    port left in TIME_WAIT is usable and one another program listens on is not)."""
    try:
        return socket.create_server((host, port), backlog=128)
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise PortInUse(service, host, port) from None
        raise


def check_free(host: str, port: int, service: str) -> None:
    """PortInUse if another program listens on ``host:port`` (port 0: any, always free)."""
    if port != 0:
        listening_socket(host, port, service).close()


def bind_grpc(server: Any, host: str, port: int, service: str) -> int:
    """Bind ``server`` (made with ``GRPC_OPTIONS``) to ``host:port``; the port bound."""
    check_free(host, port, service)
    try:
        bound = int(server.add_insecure_port(f"{host}:{port}"))
    except RuntimeError:  # taken between the check and the bind
        bound = 0
    if bound == 0:
        raise PortInUse(service, host, port)
    return bound


def http_server(host: str, port: int, handler: Any, service: str) -> Any:
    """A ``ThreadingHTTPServer`` on ``host:port``, or PortInUse."""
    from http.server import ThreadingHTTPServer

    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise PortInUse(service, host, port) from None
        raise


__all__ = ["GRPC_OPTIONS", "PortInUse", "bind_grpc", "check_free", "http_server"]
