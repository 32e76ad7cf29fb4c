"""Local Firestore conformance: Firestore's limits are refused with InvalidArgument."""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import exceptions


def test_more_than_500_writes_in_one_commit(db: Any) -> None:
    """A commit may hold 500 writes; 501 is InvalidArgument and nothing is written."""
    batch = db.batch()
    for i in range(500):
        batch.set(db.document(f"c/{i}"), {"i": i})
    batch.commit()
    batch = db.batch()
    for i in range(501):
        batch.set(db.document(f"big/{i}"), {"i": i})
    with pytest.raises(exceptions.InvalidArgument, match="500 writes"):
        batch.commit()
    assert [] == list(db.collection("big").limit(1).stream())


def test_document_over_one_mib(db: Any) -> None:
    """A document whose size is over 1 MiB is refused; just under is accepted."""
    db.document("c/ok").set({"s": "x" * 1_000_000})
    with pytest.raises(exceptions.InvalidArgument, match="1048576 bytes"):
        db.document("c/big").set({"s": "x" * (1024 * 1024)})
    assert False is db.document("c/big").get().exists


def test_document_size_is_counted_as_firestore_counts_it(db: Any) -> None:
    """Size of ``c/d`` with one string field ``s``: name (2 + 2 + 16) + field name (1 + 1)
    + string (n + 1) + 32, so n = 1048521 is exactly 1 MiB and one more byte is over."""
    db.document("c/d").set({"s": "x" * 1_048_521})
    with pytest.raises(exceptions.InvalidArgument, match="1048577 bytes"):
        db.document("c/d").set({"s": "x" * 1_048_522})


def test_update_that_grows_a_document_over_one_mib(db: Any) -> None:
    """The limit applies to the document after the write, not to the write alone."""
    ref = db.document("c/d")
    ref.set({"a": "x" * 600_000})
    with pytest.raises(exceptions.InvalidArgument, match="over the limit"):
        ref.update({"b": "y" * 600_000})
    assert ["a"] == list(ref.get().to_dict())


def test_document_name_over_6_kib(db: Any) -> None:
    """A document name is at most 6 KiB (each id staying under its own 1500 bytes)."""
    long_path = "/".join(["c", "x" * 1400] * 5)
    with pytest.raises(exceptions.InvalidArgument, match="longer than 6144 bytes"):
        db.document(long_path).set({"a": 1})


def test_document_id_over_1500_bytes(db: Any) -> None:
    """A single document id is at most 1500 bytes."""
    db.document("c/" + "x" * 1500).set({"a": 1})
    with pytest.raises(exceptions.InvalidArgument, match="1500 bytes"):
        db.document("c/" + "x" * 1501).set({"a": 1})


def test_more_than_100_levels_of_subcollections(db: Any) -> None:
    """Documents may be nested 100 subcollections deep, not 101."""
    ok = "/".join(["c", "d"] * 101)
    db.document(ok).set({"depth": 100})
    with pytest.raises(exceptions.InvalidArgument, match="deeper than 100 subcollections"):
        db.document(ok + "/c/d").set({"depth": 101})
    assert {"depth": 100} == db.document(ok).get().to_dict()


def test_reserved_document_id(db: Any) -> None:
    """Ids like ``__x__`` are reserved; the message names the document."""
    with pytest.raises(exceptions.InvalidArgument, match="reserved"):
        db.document("c/__x__").set({"a": 1})
