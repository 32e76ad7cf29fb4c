"""The local Cloud Tasks outside a shared test server: the backoff schedule, the journal
across restarts, and ``python -m localcloud tasks`` as a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from google.cloud import tasks_v2

from localcloud.tasks import start_tasks
from localcloud.tasks.retry import RetryPolicy
from localcloud.tasks.testing import tasks_client

PARENT = "projects/standalone/locations/us-east1"


def test_backoff_doubles_then_grows_linearly_up_to_max_backoff() -> None:
    """The documented example: 10 s, 300 s, 3 doublings -> 10, 20, 40, 80, 160, 240, 300."""
    policy = RetryPolicy(
        max_attempts=10, max_retry_duration=0, min_backoff=10, max_backoff=300, max_doublings=3
    )
    assert [10, 20, 40, 80, 160, 240, 300, 300] == [policy.backoff(n) for n in range(1, 9)]
    assert policy.exhausted(10, first_dispatch=0, now=1)
    assert not policy.exhausted(9, first_dispatch=0, now=1)
    timed = RetryPolicy(3, 60, 1, 10, 2)
    assert not timed.exhausted(3, first_dispatch=0, now=59)
    assert timed.exhausted(3, first_dispatch=0, now=60)
    assert not RetryPolicy(-1, 0, 1, 10, 2).exhausted(10_000, first_dispatch=0, now=10**6)


def test_standalone_cli_serves_the_api(tmp_path: Path) -> None:
    """``python -m localcloud tasks`` prints its address, serves, and stops on SIGTERM."""
    command = [
        sys.executable,
        "-m",
        "localcloud",
        "tasks",
        "--port",
        "0",
        "--data-dir",
        str(tmp_path),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        address = line.rsplit("=", 1)[1].strip()
        client = tasks_client(address)
        queue = client.create_queue(parent=PARENT, queue={"name": f"{PARENT}/queues/cli"})
        assert f"{PARENT}/queues/cli" == queue.name
        client.transport.close()
    finally:
        process.terminate()
        assert 0 == process.wait(timeout=10)
    assert (tmp_path / "tasks.jsonl").exists()


def test_journal_is_replayed_past_a_torn_line_and_compacted_at_start(tmp_path: Path) -> None:
    """A half-written last line (a killed process) is skipped; a restart rewrites the
    journal to one line per queue, task and recently used name."""
    first = start_tasks(data_dir=tmp_path)
    client = tasks_client(first.address)
    queue = client.create_queue(parent=PARENT, queue={"name": f"{PARENT}/queues/journal"})
    client.pause_queue(name=queue.name)
    names = [
        client.create_task(
            parent=queue.name, task={"http_request": {"url": "http://127.0.0.1:9/"}}
        ).name
        for _ in range(3)
    ]
    client.delete_task(name=names[0])
    client.transport.close()
    first.stop()
    with (tmp_path / "tasks.jsonl").open("a") as journal:
        journal.write('{"task": {"name": "proj')

    second = start_tasks(data_dir=tmp_path)
    client = tasks_client(second.address)
    try:
        assert sorted(names[1:]) == sorted(t.name for t in client.list_tasks(parent=queue.name))
        assert tasks_v2.Queue.State.PAUSED == client.get_queue(name=queue.name).state
        lines = (tmp_path / "tasks.jsonl").read_text().splitlines()
        assert 4 == len(lines)  # the queue, two tasks, the deleted task's name
    finally:
        client.transport.close()
        second.stop()
