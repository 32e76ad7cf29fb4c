"""The `make serve` stack, started once per test session for every e2e module."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bench.instance import free_port
from tests.support import ROOT


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`make serve` on free ports and a fresh data directory; stopped with Ctrl-C."""
    names = ("FUNCTIONS", "FIRESTORE", "TASKS", "SCHEDULER", "AUTH", "SMTP", "MAILBOX", "PLATFORMS")
    ports = {name: free_port() for name in names}
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_EMULATOR_HOST") and k != "GOOGLE_CLOUD_PROJECT"
    }
    env.update({f"LOCALCLOUD_{k}_PORT": str(v) for k, v in ports.items()})
    env["LOCALCLOUD_DATA_DIR"] = str(tmp_path_factory.mktemp("localcloud"))
    log = (tmp_path_factory.mktemp("logs") / "serve.log").open("w+")
    proc = subprocess.Popen(
        ["make", "serve"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for(log, "localcloud is up", proc, timeout=120)
        yield {"ports": ports, "log": log, "proc": proc}
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)


@pytest.fixture
def stack_db(stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The real ``google.cloud.firestore.Client`` on the stack's Firestore port."""
    from google.cloud import firestore

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{stack['ports']['FIRESTORE']}")
    client = firestore.Client(project="demo-growthkit")
    yield client
    client.close()


def _wait_for(log: Any, text: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log.seek(0)
        if text in log.read():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    log.seek(0)
    raise AssertionError(f"`make serve` did not print {text!r}:\n{log.read()[-4000:]}")
