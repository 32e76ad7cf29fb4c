"""The unit tier stays pure: a test here that reaches for the network, a server socket or a
Google client fails at once (tests/unit/conftest.py), so it belongs in tests/integration."""

from __future__ import annotations

import socket
import urllib.request

import grpc
import pytest

from tests.purity import NetworkInUnitTest


def test_connecting_anywhere_fails_the_test() -> None:
    """Even to this machine: a test that needs a server is an integration test."""
    with pytest.raises(NetworkInUnitTest, match="127.0.0.1"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    with pytest.raises(NetworkInUnitTest):
        urllib.request.urlopen("http://127.0.0.1:9/", timeout=1)


def test_serving_fails_the_test() -> None:
    """Binding a port is how every local server (localcloud's too) starts."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        with pytest.raises(NetworkInUnitTest, match="bind"):
            server.bind(("127.0.0.1", 0))


def test_name_lookups_fail_the_test() -> None:
    with pytest.raises(NetworkInUnitTest, match="example.com"):
        socket.getaddrinfo("example.com", 443)


def test_a_grpc_channel_fails_the_test() -> None:
    """The Google clients speak gRPC from C, below Python's socket module: their channels
    are refused where they are made."""
    with pytest.raises(NetworkInUnitTest, match="gRPC"):
        grpc.insecure_channel("127.0.0.1:8080")
    with pytest.raises(NetworkInUnitTest, match="gRPC"):
        grpc.secure_channel("firestore.googleapis.com:443", grpc.ssl_channel_credentials())


def test_local_socket_pairs_still_work() -> None:
    """Not the network: asyncio's loops and multiprocessing wake themselves this way."""
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"ping")
        assert right.recv(4) == b"ping"
