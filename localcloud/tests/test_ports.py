"""A port another program listens on is refused: from Python a ``PortInUse`` naming the
service and the port, from the command line one line naming the flag or variable to
change and exit status 1, never a second server sharing the port (gRPC's default
SO_REUSEPORT let a second Firestore bind the same port, and fresh clients alternated
between the two stores)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import free_port, free_ports, toy_project

from localcloud.auth import start_auth
from localcloud.binding import PortInUse
from localcloud.firestore import start_firestore
from localcloud.scheduler import start_scheduler
from localcloud.serve import Ports
from localcloud.tasks import start_tasks

STARTERS: dict[str, Callable[[int], Any]] = {
    "Firestore": lambda port: start_firestore("127.0.0.1", port),
    "Firestore debug endpoint": lambda port: start_firestore("127.0.0.1", 0, debug_port=port),
    "Cloud Tasks": lambda port: start_tasks("127.0.0.1", port),
    "Cloud Scheduler": lambda port: start_scheduler("127.0.0.1", port),
    "Firebase Auth": lambda port: start_auth("127.0.0.1", port),
}


@pytest.fixture
def taken() -> Iterator[int]:
    """A port a plain listening socket holds for the test."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as holder:
        yield int(holder.getsockname()[1])


@pytest.mark.parametrize("service", list(STARTERS))
def test_a_second_server_on_a_port_in_use_is_refused(service: str) -> None:
    """The first server of each kind keeps its port; the second raises PortInUse."""
    port = free_port()
    first = STARTERS[service](port)
    try:
        with pytest.raises(PortInUse) as refused:
            STARTERS[service](port)
    finally:
        first.stop()
    assert (service, port) == (refused.value.service, refused.value.port)
    assert f"{service} cannot listen on 127.0.0.1:{port}: port {port} is in use" == str(
        refused.value
    )


def test_fresh_clients_all_reach_the_one_firestore_on_a_port(tmp_path: Path) -> None:
    """With the second server refused, every new client sees what the first one stored."""
    from google.cloud import firestore

    port = free_port()
    server = start_firestore("127.0.0.1", port)
    try:
        with pytest.raises(PortInUse):
            start_firestore("127.0.0.1", port, data_dir=tmp_path)
        os.environ["FIRESTORE_EMULATOR_HOST"] = server.address  # undone by _isolate_env
        firestore.Client(project="p").document("a/b").set({"n": 1})
        found = [firestore.Client(project="p").document("a/b").get().exists for _ in range(8)]
    finally:
        server.stop()
    assert [True] * 8 == found


@pytest.mark.parametrize(
    ("command", "flag"),
    [
        (["firestore", "--port"], "--port"),
        (["firestore", "--port", "0", "--debug-port"], "--debug-port"),
        (["tasks", "--port"], "--port"),
        (["scheduler", "--port"], "--port"),
    ],
)
def test_a_standalone_service_on_a_taken_port_says_so_in_one_line(
    command: list[str], flag: str, taken: int
) -> None:
    result = _localcloud([*command, str(taken)], dict(os.environ))
    line = f"cannot listen on 127.0.0.1:{taken}: port {taken} is in use; pass {flag} "
    assert (1, 1, True) == (
        result.returncode,
        len(result.stderr.splitlines()),
        line in result.stderr,
    ), result.stderr


@pytest.mark.parametrize(
    "variable",
    ["FIRESTORE", "TASKS", "SCHEDULER", "AUTH", "SMTP", "MAILBOX", "PLATFORMS", "FUNCTIONS"],
)
def test_serve_on_a_taken_port_names_the_variable_in_one_line(
    variable: str, taken: int, tmp_path: Path
) -> None:
    """Each port ``serve`` binds, the Auth stand-in's included (it used to move to a free
    port silently); what had started is stopped again."""
    app = tmp_path / "app.json"
    app.write_text(json.dumps(toy_project(tmp_path / "toy").to_dict()), encoding="utf-8")
    names = ["FUNCTIONS", "FIRESTORE", "TASKS", "SCHEDULER", "AUTH", "SMTP", "MAILBOX", "PLATFORMS"]
    ports = dict(zip(names, free_ports(8), strict=True))
    env = {**os.environ, **{f"LOCALCLOUD_{k}_PORT": str(v) for k, v in ports.items()}}
    env |= {f"LOCALCLOUD_{variable}_PORT": str(taken), "LOCALCLOUD_DATA_DIR": str(tmp_path)}
    result = _localcloud(["serve", "--manifest", str(app)], env)
    line = f"port {taken} is in use; set LOCALCLOUD_{variable}_PORT to another port"
    assert (1, 1, True) == (
        result.returncode,
        len(result.stderr.splitlines()),
        line in result.stderr,
    ), result.stderr
    assert "localcloud is up" not in result.stdout
    # Nothing is left listening: the same ports serve a stack at once.
    del ports[variable]
    assert all(_free(port) for port in ports.values())


def test_ports_from_the_environment_say_which_value_is_wrong(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCALCLOUD_TASKS_PORT", "82x")
    with pytest.raises(ValueError, match="LOCALCLOUD_TASKS_PORT='82x' is not a port number"):
        Ports.from_env()


def _localcloud(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "localcloud", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=90, check=False)


def _free(port: int) -> bool:
    try:
        start_firestore("127.0.0.1", port).stop()
    except PortInUse:
        return False
    return True
