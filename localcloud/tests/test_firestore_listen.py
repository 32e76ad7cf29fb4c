"""Local Firestore conformance, Listen: on_snapshot on documents and queries."""

from __future__ import annotations

import queue
import time
from typing import Any

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter

WAIT = 5.0


class Snapshots:
    """Collects on_snapshot callbacks; ``next()`` waits for the following one."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[list[Any], list[Any]]] = queue.Queue()

    def __call__(self, snapshots: list[Any], changes: list[Any], read_time: Any) -> None:
        self._queue.put((list(snapshots), list(changes)))

    def next(self) -> tuple[list[Any], list[Any]]:
        return self._queue.get(timeout=WAIT)

    def nothing_more(self, seconds: float = 0.3) -> bool:
        try:
            self._queue.get(timeout=seconds)
        except queue.Empty:
            return True
        return False


def kinds(changes: list[Any]) -> list[tuple[str, str]]:
    return sorted((c.type.name, c.document.id) for c in changes)


def summary(update: tuple[list[Any], list[Any]]) -> tuple[list[str], list[tuple[str, str]]]:
    """Document ids of a snapshot and its (change type, id) pairs."""
    docs, changes = update
    return [d.id for d in docs], kinds(changes)


@pytest.fixture
def watch() -> Any:
    """``watch(ref_or_query)`` -> Snapshots; every watch is unsubscribed at the end."""
    watches: list[Any] = []

    def start(target: Any) -> Snapshots:
        snapshots = Snapshots()
        watches.append(target.on_snapshot(snapshots))
        return snapshots

    yield start
    for w in watches:
        w.unsubscribe()


def test_document_snapshot_change_and_delete(db: Any, watch: Any) -> None:
    """A document watch delivers the current state, then each change, then the delete."""
    ref = db.document("c/a")
    ref.set({"n": 1})
    snaps = watch(ref)
    assert [{"n": 1}] == [s.to_dict() for s in snaps.next()[0]]
    ref.update({"n": 2})
    assert [{"n": 2}] == [s.to_dict() for s in snaps.next()[0]]
    ref.delete()
    assert ([], [("REMOVED", "a")]) == summary(snaps.next())


def test_document_watch_of_a_missing_document(db: Any, watch: Any) -> None:
    """Watching a missing document reports no document (the Python client's way of saying
    missing), then its creation."""
    ref = db.document("c/later")
    snaps = watch(ref)
    assert ([], []) == snaps.next()
    ref.set({"n": 1})
    (created,), _ = snaps.next()
    assert {"n": 1} == created.to_dict()


def test_query_snapshot_add_modify_and_leave(db: Any, watch: Any) -> None:
    """A query watch reports ADDED, MODIFIED and REMOVED when a doc leaves the filter."""
    db.document("c/a").set({"open": True, "n": 1})
    db.document("c/b").set({"open": False, "n": 2})
    snaps = watch(db.collection("c").where(filter=FieldFilter("open", "==", True)))
    assert (["a"], [("ADDED", "a")]) == summary(snaps.next())
    db.document("c/b").update({"open": True})
    assert [("ADDED", "b")] == kinds(snaps.next()[1])
    db.document("c/a").update({"n": 10})
    assert [("MODIFIED", "a")] == kinds(snaps.next()[1])
    db.document("c/a").update({"open": False})
    assert (["b"], [("REMOVED", "a")]) == summary(snaps.next())


def test_query_snapshot_sees_deletes(db: Any, watch: Any) -> None:
    """Deleting a matching document removes it from the query's snapshot."""
    db.document("c/a").set({"n": 1})
    snaps = watch(db.collection("c"))
    snaps.next()
    db.document("c/a").delete()
    assert ([], [("REMOVED", "a")]) == summary(snaps.next())


def test_collection_watch_ignores_subcollections_and_other_collections(db: Any, watch: Any) -> None:
    """Writes outside the watched collection deliver nothing."""
    snaps = watch(db.collection("c"))
    snaps.next()
    db.document("c/a/sub/x").set({"n": 1})
    db.document("cc/a").set({"n": 1})
    assert True is snaps.nothing_more()
    db.document("c/b").set({"n": 1})
    assert [("ADDED", "b")] == kinds(snaps.next()[1])


def test_unsubscribe_stops_callbacks(db: Any) -> None:
    """After unsubscribe() no more snapshots arrive."""
    ref = db.document("c/a")
    ref.set({"n": 1})
    snaps = Snapshots()
    watch = ref.on_snapshot(snaps)
    snaps.next()
    watch.unsubscribe()
    ref.set({"n": 2})
    assert True is snaps.nothing_more()


def test_query_watch_with_order_and_limit(db: Any, watch: Any) -> None:
    """A limited, ordered query watch keeps the top n as documents come and go (compared
    as sets: the Python client sorts descending watch results ascending)."""
    for i in (1, 2, 3):
        db.document(f"c/{i}").set({"n": i})
    snaps = watch(db.collection("c").order_by("n", direction="DESCENDING").limit(2))
    assert {"3", "2"} == {d.id for d in snaps.next()[0]}
    db.document("c/9").set({"n": 9})
    docs, changes = snaps.next()
    assert ({"9", "3"}, [("ADDED", "9"), ("REMOVED", "2")]) == (
        {d.id for d in docs},
        kinds(changes),
    )


def test_invalid_query_watch_stops(db: Any, firestore_server: Any, project_id: str) -> None:
    """An invalid query target is removed with its cause: the client's stream consumer
    stops instead of reconnecting forever."""
    query = db.collection("c").where(filter=FieldFilter("n", ">", 1)).order_by("m")
    watch = query.on_snapshot(Snapshots())
    deadline = time.monotonic() + WAIT
    while watch._consumer.is_active and time.monotonic() < deadline:
        time.sleep(0.02)
    database = f"projects/{project_id}/databases/(default)"
    assert (False, 1) == (
        watch._consumer.is_active,
        firestore_server.counters.for_database(database)["Listen"],
    )
    watch.close()
