"""Function instances for the benchmarks: functions-framework processes on free ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.deployed import Runtime

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORK = Path(sys.executable).parent / "functions-framework"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    target: str, port: int, runtime: Runtime, source: Path | None = None, threads: int | None = None
) -> Any:
    """``functions-framework --target TARGET`` on ``port``, as Cloud Functions starts it:
    ``runtime``'s functions-framework in its folder, the entry module ``source`` (default
    the bundle's main.py there)."""
    env = dict(os.environ)
    if threads is not None:
        env["THREADS"] = str(threads)  # what the deploy plan sets: the manifest's concurrency
    entry = source or runtime.source()
    command = [str(runtime.framework), "--target", target, "--source", str(entry)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(
        command, cwd=runtime.folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_ready(port: int, seconds: float = 60) -> None:
    """Until the instance answers a GET (any HTTP status will do)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def serving(target: str, threads: int, runtime: Runtime) -> Iterator[int]:
    """A ready instance of ``target`` for the ``with`` block, run as deployed: from the
    package in its own environment (``runtime``, bench/deployed.py); yields its port."""
    port = free_port()
    process = start(target, port, runtime, threads=threads)
    try:
        wait_ready(port)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by ``pid`` and its descendants (Linux /proc).

    Unlike wall time, it barely moves when other work shares the machine, which is what
    makes cold starts comparable on a busy one. NaN where /proc is not available."""
    tick = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            if current == pid:
                return float("nan")
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        pending += [int(child) for child in children]
    return total


def busiest(writes: list[tuple[str, int]]) -> tuple[str, int]:
    """The document written most often within any one second, and how often."""
    best: tuple[str, int] = ("", 0)
    by_doc: dict[str, list[int]] = {}
    for doc, at in writes:
        by_doc.setdefault(doc, []).append(at)
    for doc, times in by_doc.items():
        times.sort()
        left = 0
        for right, at in enumerate(times):
            while at - times[left] >= 1_000_000_000:
                left += 1
            if right - left + 1 > best[1]:
                best = (doc, right - left + 1)
    return best
