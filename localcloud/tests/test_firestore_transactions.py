"""Local Firestore conformance: BatchGetDocuments and transactions (Begin, Commit, Rollback)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

# --- BatchGetDocuments ---------------------------------------------------------------------


def test_get_all_reports_missing_documents(db: Any) -> None:
    """get_all returns a snapshot per reference, missing ones with exists False."""
    db.document("c/a").set({"n": 1})
    snaps = {s.id: s for s in db.get_all([db.document("c/a"), db.document("c/missing")])}
    assert {"a": True, "missing": False} == {k: s.exists for k, s in snaps.items()}
    assert {"n": 1} == snaps["a"].to_dict()
    assert snaps["missing"].read_time is not None


def test_get_all_with_field_paths(db: Any) -> None:
    """field_paths masks the returned fields, nested paths included."""
    db.document("c/a").set({"n": 1, "m": {"x": 1, "y": 2}, "z": 3})
    (snap,) = db.get_all([db.document("c/a")], field_paths=["n", "m.y"])
    assert {"n": 1, "m": {"y": 2}} == snap.to_dict()


def test_document_get_with_field_paths(db: Any) -> None:
    """DocumentReference.get(field_paths) uses the same mask."""
    db.document("c/a").set({"n": 1, "z": 3})
    assert {"z": 3} == db.document("c/a").get(field_paths=["z"]).to_dict()
    assert {} == db.document("c/a").get(field_paths=[]).to_dict()


def test_get_all_inside_a_transaction(db: Any) -> None:
    """get_all in a transaction reads through it (and begins it on first read)."""
    db.document("c/a").set({"n": 1})
    db.document("c/b").set({"n": 2})

    @firestore.transactional
    def swap(transaction: Any) -> None:
        a, b = transaction.get_all([db.document("c/a"), db.document("c/b")])
        transaction.update(a.reference, {"n": b.get("n")})
        transaction.update(b.reference, {"n": a.get("n")})

    swap(db.transaction())
    assert (2, 1) == (db.document("c/a").get().get("n"), db.document("c/b").get().get("n"))


def test_read_at_a_past_read_time(db: Any) -> None:
    """A read with read_time sees the version current at that time."""
    ref = db.document("c/a")
    first = ref.set({"n": 1})
    ref.set({"n": 2})
    assert {"n": 1} == ref.get(read_time=first.update_time).to_dict()


def test_read_time_before_a_document_was_created(db: Any) -> None:
    """At a read time before its creation a document is missing, and queries skip it."""
    before = db.document("c/other").set({})
    db.document("c/a").set({"n": 1})
    assert False is db.document("c/a").get(read_time=before.update_time).exists
    assert ["other"] == [s.id for s in db.collection("c").stream(read_time=before.update_time)]


def test_read_older_than_the_kept_versions_is_refused(db: Any) -> None:
    """Past the versions kept per document a read_time read fails instead of lying."""
    ref = db.document("c/a")
    first = ref.set({"n": 0})
    batch_size = 110  # more than the 100 versions kept per document
    for n in range(1, batch_size):
        ref.set({"n": n})
    with pytest.raises(exceptions.FailedPrecondition, match="older than the versions"):
        ref.get(read_time=first.update_time)


# --- transactions --------------------------------------------------------------------------


def test_transaction_that_raises_rolls_back(db: Any) -> None:
    """An exception inside the function rolls back: none of its writes happen."""
    db.document("c/a").set({"n": 1})

    @firestore.transactional
    def fail(transaction: Any) -> None:
        snap = db.document("c/a").get(transaction=transaction)
        transaction.update(snap.reference, {"n": 99})
        transaction.set(db.document("c/new"), {"n": 1})
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail(db.transaction())
    assert (1, False) == (db.document("c/a").get().get("n"), db.document("c/new").get().exists)


def test_rollback_releases_locks(db: Any) -> None:
    """After a rolled back transaction a plain write to its document proceeds at once."""
    db.document("c/a").set({"n": 1})
    transaction = db.transaction()
    transaction._begin()
    db.document("c/a").get(transaction=transaction)
    transaction._rollback()
    db.document("c/a").set({"n": 2})
    assert 2 == db.document("c/a").get().get("n")


def test_read_only_transaction_sees_a_snapshot_and_cannot_write(db: Any) -> None:
    """A read-only transaction reads at its start time; a write in it is refused."""
    ref = db.document("c/a")
    ref.set({"n": 1})
    transaction = db.transaction(read_only=True)
    transaction._begin()
    assert 1 == ref.get(transaction=transaction).get("n")
    ref.set({"n": 2})
    assert 1 == ref.get(transaction=transaction).get("n")
    write = {"update": {"name": ref._document_path, "fields": {"n": {"integer_value": 3}}}}
    request = {"database": db._database_string, "writes": [write], "transaction": transaction.id}
    with pytest.raises(exceptions.InvalidArgument, match="read-only"):
        db._firestore_api.commit(request=request, metadata=db._rpc_metadata)
    assert 2 == ref.get().get("n")


def test_read_only_transaction_does_not_block_writers(db: Any) -> None:
    """Reads in a read-only transaction take no locks."""
    ref = db.document("c/a")
    ref.set({"n": 1})

    @firestore.transactional
    def read_then_write(transaction: Any) -> int:
        value = int(ref.get(transaction=transaction).get("n"))
        ref.set({"n": value + 1})  # outside the transaction: must not wait for it
        return value

    assert 1 == read_then_write(db.transaction(read_only=True))
    assert 2 == ref.get().get("n")


def test_query_inside_a_transaction(db: Any) -> None:
    """A query in a transaction returns documents and the transaction commits."""
    for i in range(3):
        db.document(f"c/{i}").set({"n": i, "open": True})

    @firestore.transactional
    def close_all(transaction: Any) -> int:
        query = db.collection("c").where(filter=FieldFilter("open", "==", True))
        snaps = list(query.stream(transaction=transaction))
        for snap in snaps:
            transaction.update(snap.reference, {"open": False})
        return len(snaps)

    assert 3 == close_all(db.transaction())
    assert [] == list(db.collection("c").where(filter=FieldFilter("open", "==", True)).stream())


def test_transaction_commit_of_an_expired_id_is_invalid(db: Any) -> None:
    """Committing with a transaction id the server does not know is InvalidArgument."""
    with pytest.raises(exceptions.InvalidArgument, match="transaction"):
        db._firestore_api.commit(
            request={"database": db._database_string, "writes": [], "transaction": b"nope"},
            metadata=db._rpc_metadata,
        )


# --- serialisability -----------------------------------------------------------------------


def test_concurrent_sync_transactions_are_serialisable(db: Any) -> None:
    """8 threads x 10 transactional increments of one document end at exactly 80."""
    ref = db.document("counters/one")
    ref.set({"n": 0})

    @firestore.transactional
    def increment(transaction: Any) -> None:
        snap = ref.get(transaction=transaction)
        transaction.update(ref, {"n": snap.get("n") + 1})

    def worker() -> None:
        for _ in range(10):
            increment(db.transaction(max_attempts=50))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 80 == ref.get().get("n")


def test_concurrent_async_transactions_are_serialisable(async_db: Any) -> None:
    """8 tasks x 10 async_transactional increments of one document end at exactly 80."""

    async def main() -> int:
        ref = async_db.document("counters/one")
        await ref.set({"n": 0})

        @firestore.async_transactional
        async def increment(transaction: Any) -> None:
            snap = await ref.get(transaction=transaction)
            transaction.update(ref, {"n": snap.get("n") + 1})

        async def worker() -> None:
            for _ in range(10):
                await increment(async_db.transaction(max_attempts=50))

        await asyncio.gather(*(worker() for _ in range(8)))
        return int((await ref.get()).get("n"))

    assert 80 == asyncio.run(main())
