"""Local Firestore conformance, RunQuery: cursors, offset, limits, projections, groups."""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud.firestore_v1.base_query import FieldFilter


def ids(query: Any) -> list[str]:
    return [snap.id for snap in query.stream()]


@pytest.fixture
def scores(db: Any) -> Any:
    """``s/a..f`` with scores 10, 20, 20, 30, 40, 50 and a group letter."""
    batch = db.batch()
    data = {"a": 10, "b": 20, "c": 20, "d": 30, "e": 40, "f": 50}
    for doc_id, score in data.items():
        batch.set(db.document(f"s/{doc_id}"), {"score": score, "group": "x" if score < 30 else "y"})
    batch.commit()
    return db.collection("s")


def test_cursors_with_values(scores: Any) -> None:
    """start_at/start_after/end_at/end_before with field values are inclusive/exclusive."""
    by_score = scores.order_by("score")
    assert ["b", "c", "d"] == ids(by_score.start_at({"score": 20}).end_at({"score": 30}))
    assert ["d"] == ids(by_score.start_after({"score": 20}).end_before({"score": 40}))
    assert ["a", "b", "c"] == ids(by_score.end_before({"score": 30}))


def test_cursors_with_snapshots(scores: Any) -> None:
    """A snapshot cursor positions on (score, __name__): start_after(b) still returns c."""
    b = scores.document("b").get()
    by_score = scores.order_by("score")
    assert ["c", "d", "e", "f"] == ids(by_score.start_after(b))
    assert ["b", "c"] == ids(by_score.start_at(b).end_at(scores.document("c").get()))
    assert ["a"] == ids(by_score.end_before(b))


def test_cursor_on_document_id(scores: Any) -> None:
    """A cursor on __name__ may be given as a plain document id."""
    assert ["c", "d"] == ids(scores.order_by("__name__").start_after({"__name__": "b"}).limit(2))


def test_cursors_in_descending_order(scores: Any) -> None:
    """Cursors follow the order's direction."""
    desc = scores.order_by("score", direction="DESCENDING")
    assert ["d", "c", "b"] == ids(desc.start_at({"score": 30}).end_at({"score": 20}))
    assert ["c", "b", "a"] == ids(desc.start_after(scores.document("d").get()))


def test_offset_and_limit(scores: Any) -> None:
    """offset skips, limit caps, after ordering and cursors."""
    by_score = scores.order_by("score")
    assert ["c", "d"] == ids(by_score.offset(2).limit(2))
    assert ["d", "e"] == ids(by_score.start_after({"score": 20}).limit(2))
    assert [] == ids(by_score.offset(10))


def test_limit_to_last(scores: Any) -> None:
    """limit_to_last returns the last n in query order, still in query order."""
    assert ["e", "f"] == [s.id for s in scores.order_by("score").limit_to_last(2).get()]
    low = scores.where(filter=FieldFilter("score", "<", 30)).order_by("score")
    assert ["b", "c"] == [s.id for s in low.limit_to_last(2).get()]


def test_select_projection(scores: Any) -> None:
    """select() returns only the listed fields; select([]) returns none."""
    assert [{"score": 10}] == [s.to_dict() for s in scores.select(["score"]).limit(1).stream()]
    assert [{}] == [s.to_dict() for s in scores.select([]).limit(1).stream()]


def test_select_nested_fields(db: Any) -> None:
    """A nested path projects only that leaf of a map."""
    db.document("c/d").set({"m": {"a": 1, "b": 2}, "z": 3})
    assert [{"m": {"a": 1}}] == [s.to_dict() for s in db.collection("c").select(["m.a"]).stream()]


def test_collection_group_spans_depths(db: Any) -> None:
    """A collection group query finds its collection id at any depth, and only that id."""
    db.document("items/top").set({"n": 1})
    db.document("a/1/items/mid").set({"n": 2})
    db.document("a/1/b/2/items/deep").set({"n": 3})
    db.document("a/1/other/x").set({"n": 4})
    db.document("a/1/items/mid/items/deeper").set({"n": 5})
    group = db.collection_group("items")
    assert ["deep", "deeper", "mid", "top"] == sorted(ids(group))
    over_two = group.where(filter=FieldFilter("n", ">", 2))
    assert ["deeper", "deep"] == ids(over_two.order_by("n", direction="DESCENDING"))


def test_query_on_a_subcollection_only_sees_it(db: Any) -> None:
    """A plain collection query does not descend into subcollections."""
    db.document("c/a").set({"n": 1})
    db.document("c/a/c/b").set({"n": 1})
    assert ["a"] == ids(db.collection("c"))


def run_raw(db: Any, structured_query: dict[str, Any]) -> list[Any]:
    """RunQuery with a hand-built request, for shapes the high-level API never sends."""
    request = {"parent": f"{db._database_string}/documents", "structured_query": structured_query}
    return list(db._firestore_api.run_query(request=request, metadata=db._rpc_metadata))


def test_too_many_cursor_values(scores: Any) -> None:
    """A cursor with more values than the query's orderings is InvalidArgument."""
    cursor = {"values": [{"integer_value": 1}] * 3}
    with pytest.raises(exceptions.InvalidArgument, match="cursor"):
        run_raw(scores._client, {"from_": [{"collection_id": "s"}], "start_at": cursor})


def test_negative_limit_is_invalid(scores: Any) -> None:
    """A negative limit is InvalidArgument."""
    with pytest.raises(exceptions.InvalidArgument, match="limit"):
        run_raw(scores._client, {"from_": [{"collection_id": "s"}], "limit": {"value": -1}})
