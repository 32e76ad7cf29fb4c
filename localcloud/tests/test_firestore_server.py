"""Local Firestore: change feed, RPC counters, persistence and the standalone command."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from support import free_port

from localcloud.firestore import FirestoreServer, start_firestore
from localcloud.firestore.store import Commit


def database(project_id: str) -> str:
    return f"projects/{project_id}/databases/(default)"


# --- change feed ---------------------------------------------------------------------------


@pytest.fixture
def feed(firestore_server: FirestoreServer, project_id: str) -> Iterator[queue.Queue[Commit]]:
    """Commits of this test's database, as the store publishes them."""
    commits: queue.Queue[Commit] = queue.Queue()
    mine = database(project_id)
    unsubscribe = firestore_server.store.subscribe(
        lambda c: commits.put(c) if c.database == mine else None
    )
    yield commits
    unsubscribe()


def test_change_feed_create_update_delete(db: Any, feed: queue.Queue[Commit]) -> None:
    """Each commit is published with before/after documents and the changed field paths."""
    ref = db.document("c/a")
    created = ref.set({"n": 1, "m": {"x": 1}})
    ref.update({"m.x": 2, "k": True})
    ref.delete()
    first, second, third = (feed.get(timeout=1) for _ in range(3))
    (change,) = first.changes
    assert (f"{database(db.project)}/documents/c/a", None) == (change.name, change.before)
    assert change.after is not None
    assert 1 == change.after.fields["n"].integer_value
    assert first.commit_ns == change.commit_ns
    stamp = created.update_time.timestamp_pb()
    assert first.commit_ns == stamp.seconds * 1_000_000_000 + stamp.nanos
    assert ["k", "m.x"] == second.changes[0].update_mask
    assert third.changes[0].before is not None
    assert (None, 2) == (
        third.changes[0].after,
        third.changes[0].before.fields["m"].map_value.fields["x"].integer_value,
    )


def test_change_feed_one_commit_per_batch(db: Any, feed: queue.Queue[Commit]) -> None:
    """A batch is one Commit with one Change per document, in commit order."""
    batch = db.batch()
    batch.set(db.document("c/a"), {"n": 1})
    batch.set(db.document("c/b"), {"n": 2})
    batch.commit()
    commit = feed.get(timeout=1)
    assert ["a", "b"] == [c.name.rsplit("/", 1)[1] for c in commit.changes]
    assert True is feed.empty()


def test_change_feed_skips_no_op_writes(db: Any, feed: queue.Queue[Commit]) -> None:
    """An unchanged set, or a delete of a missing document, publishes nothing."""
    db.document("c/a").set({"n": 1})
    feed.get(timeout=1)
    db.document("c/a").set({"n": 1})
    db.document("c/missing").delete()
    assert True is feed.empty()


# --- counters ------------------------------------------------------------------------------


def test_counters_count_rpcs_per_database(
    db: Any, firestore_server: FirestoreServer, project_id: str
) -> None:
    """One set is one Commit; a get is one BatchGetDocuments; a query one RunQuery."""
    db.document("c/a").set({"n": 1})
    db.document("c/a").get()
    list(db.collection("c").stream())
    assert {"Commit": 1, "BatchGetDocuments": 1, "RunQuery": 1} == (
        firestore_server.counters.for_database(database(project_id))
    )


def test_debug_endpoint_serves_counters(
    db: Any, firestore_server: FirestoreServer, project_id: str
) -> None:
    """GET /counters returns the counters as JSON."""
    db.document("c/a").set({"n": 1})
    url = f"http://127.0.0.1:{firestore_server.debug_port}/counters"
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.load(response)
    assert {"Commit": 1} == body["by_database"][database(project_id)]
    assert body["total"]["Commit"] >= 1


def test_billed_documents_are_counted_per_database(
    db: Any, firestore_server: FirestoreServer, project_id: str
) -> None:
    """What Firestore bills, per database: each document written or deleted; each
    document a lookup asks for (found or not) and a query returns, at least one read per
    query; one read per 1,000 entries an aggregation counts. GET /counters serves it."""
    for start in range(0, 1001, 500):
        batch = db.batch()
        for i in range(start, min(start + 500, 1001)):
            batch.set(db.document(f"c/d{i:04d}"), {"n": i})
        batch.commit()
    db.document("c/d0000").delete()
    db.document("c/d0000").set({"n": 0})
    assert {"written": 1002, "deleted": 1} == firestore_server.counters.documents_for(
        database(project_id)
    )
    list(db.get_all([db.document("c/d0001"), db.document("c/missing")]))
    list(db.collection("c").limit(3).stream())
    list(db.collection("c").where("n", ">", 5000).stream())
    db.collection("c").count().get()
    url = f"http://127.0.0.1:{firestore_server.debug_port}/counters"
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.load(response)
    assert {"written": 1002, "deleted": 1, "read": 2 + 3 + 1 + 2} == body["documents"][
        database(project_id)
    ]


def test_listen_is_counted_for_its_database(
    db: Any, firestore_server: FirestoreServer, project_id: str
) -> None:
    """A Listen stream is counted once for the database it watches."""
    seen: queue.Queue[Any] = queue.Queue()
    watch = db.document("c/a").on_snapshot(lambda *args: seen.put(args))
    seen.get(timeout=5)
    watch.unsubscribe()
    assert 1 == firestore_server.counters.for_database(database(project_id))["Listen"]


def test_reset_endpoint_clears_a_database(
    db: Any, firestore_server: FirestoreServer, project_id: str
) -> None:
    """DELETE /emulator/v1/<database>/documents empties that database only."""
    db.document("c/a").set({"n": 1})
    other = firestore.Client(project=f"{project_id}-other")
    other.document("c/a").set({"n": 1})
    base = f"http://127.0.0.1:{firestore_server.debug_port}/emulator/v1"
    request = urllib.request.Request(f"{base}/{database(project_id)}/documents", method="DELETE")
    urllib.request.urlopen(request, timeout=5).close()
    assert (False, True) == (db.document("c/a").get().exists, other.document("c/a").get().exists)
    other.close()  # type: ignore[no-untyped-call]


# --- persistence ---------------------------------------------------------------------------


def client_of(server: FirestoreServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", server.address)
    return firestore.Client(project="persist")


def test_data_dir_survives_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes journaled to data_dir are there after a restart, deletes included."""
    server = start_firestore(data_dir=tmp_path)
    db = client_of(server, monkeypatch)
    db.document("c/a").set({"n": 1, "at": firestore.SERVER_TIMESTAMP})
    db.document("c/b").set({"n": 2})
    db.document("c/b").delete()
    before = db.document("c/a").get()
    server.stop()
    server = start_firestore(data_dir=tmp_path)
    try:
        db = client_of(server, monkeypatch)
        after = db.document("c/a").get()
        assert (before.to_dict(), before.update_time) == (after.to_dict(), after.update_time)
        assert False is db.document("c/b").get().exists
    finally:
        server.stop()


def test_history_before_a_restart_is_not_invented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the latest versions survive a restart: an older read_time is refused."""
    server = start_firestore(data_dir=tmp_path)
    db = client_of(server, monkeypatch)
    first = db.document("c/a").set({"n": 1})
    db.document("c/a").set({"n": 2})
    server.stop()
    server = start_firestore(data_dir=tmp_path)
    try:
        with pytest.raises(exceptions.FailedPrecondition):
            client_of(server, monkeypatch).document("c/a").get(read_time=first.update_time)
    finally:
        server.stop()


def test_import_and_export_on_exit_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """export_on_exit writes everything; --import of that export restores it."""
    server = start_firestore(export_on_exit=tmp_path / "export")
    client_of(server, monkeypatch).document("c/a/sub/b").set({"n": [1, {"x": "y"}]})
    server.stop()
    server = start_firestore(import_dir=tmp_path / "export")
    try:
        db = client_of(server, monkeypatch)
        assert {"n": [1, {"x": "y"}]} == db.document("c/a/sub/b").get().to_dict()
    finally:
        server.stop()


# --- standalone ----------------------------------------------------------------------------


@contextlib.contextmanager
def launch(log: Path, *options: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``python -m localcloud --log-level DEBUG firestore --port P *options`` as a
    subprocess logging to ``log``; yields its address and process, terminated (SIGTERM)
    at the end unless the test ended it."""
    port = free_port()
    command = [sys.executable, "-m", "localcloud", "--log-level", "DEBUG", "firestore"]
    with log.open("w") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port), *options],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        wait_until_ready(log)
        yield f"127.0.0.1:{port}", process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)


def wait_until_ready(log: Path, seconds: float = 15.0) -> None:
    """Wait for the banner the command prints once serving, then a moment more: it installs
    its SIGTERM handler just after the banner, and a SIGTERM before that ends it without
    the export (and one landing inside ``threading.Event.wait`` can deadlock it)."""
    deadline = time.monotonic() + seconds
    while "Firestore emulator on" not in log.read_text():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the server never started: {log.read_text()}")
        time.sleep(0.02)
    time.sleep(0.2)


def client_at(address: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", address)
    return firestore.Client(project="standalone")


def test_standalone_server_serves_the_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line server serves a client in another process; DEBUG logs each RPC."""
    log = tmp_path / "firestore.log"
    with launch(log) as (address, _):
        db = client_at(address, monkeypatch)
        db.document("c/a").set({"n": 1})
        assert {"n": 1} == db.document("c/a").get().to_dict()
        db.close()
    rpcs = [
        line.split(" rpc ")[1].split()[0]
        for line in log.read_text().splitlines()
        if " rpc " in line
    ]
    assert ["Commit", "BatchGetDocuments"] == rpcs


def test_standalone_export_on_exit_then_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--export-on-exit saves everything when the process is terminated; --import loads it."""
    export = tmp_path / "export"
    with launch(tmp_path / "first.log", "--export-on-exit", str(export)) as (address, _):
        client_at(address, monkeypatch).document("c/a").set({"n": 1})
    with launch(tmp_path / "second.log", "--import", str(export)) as (address, _):
        assert {"n": 1} == client_at(address, monkeypatch).document("c/a").get().to_dict()


def test_standalone_journal_survives_a_kill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--data-dir is a write-ahead journal: acknowledged writes survive SIGKILL."""
    data = tmp_path / "data"
    with launch(tmp_path / "first.log", "--data-dir", str(data)) as (address, process):
        client_at(address, monkeypatch).document("c/a").set({"n": 1})
        process.kill()
        process.wait(timeout=10)
    with launch(tmp_path / "second.log", "--data-dir", str(data)) as (address, _):
        assert {"n": 1} == client_at(address, monkeypatch).document("c/a").get().to_dict()
