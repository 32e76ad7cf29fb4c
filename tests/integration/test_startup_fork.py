"""The collector hold across gunicorn's fork: functions-framework's command line loads the
entry point in its master process, then a forked worker answers. The hold taken at load
must last into the worker's first answer and end after it (shared/startup.py)."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

from bench.instance import FRAMEWORK, free_port
from tests.support import ROOT


def _probe(port: int, deadline: float) -> dict[str, object]:
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/__gc", timeout=10) as answer:
                found: dict[str, object] = json.loads(answer.read())
                return found
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_the_hold_lasts_through_the_forked_workers_first_answer() -> None:
    port = free_port()
    command = [str(FRAMEWORK), "--target", "lead_intake"]
    command += ["--source", str(ROOT / "tests" / "forked" / "probe_main.py")]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        first = _probe(port, time.monotonic() + 60)
        second = _probe(port, time.monotonic() + 10)
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert first["pid"] != server.pid, errors  # answered by gunicorn's forked worker
    assert (first["enabled"], second["enabled"]) == (False, True), errors
    assert isinstance(first["frozen"], int) and first["frozen"] > 0  # frozen before the fork
    assert isinstance(second["frozen"], int) and second["frozen"] > first["frozen"]
    assert second["pid"] == first["pid"]
