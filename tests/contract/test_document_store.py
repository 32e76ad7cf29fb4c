"""``DocumentStore.get_all`` and ``commit``: the write modes, preconditions, transforms and
what becomes of values, alike on the fake and on Firestore."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from shared.errors import AlreadyExists, Contention, NotFound
from shared.ports import SERVER_TIME, ArrayUnion, Increment, Write

DOC = "companies/acme/leads/l1"
OTHER = "companies/acme/leads/l2"


def data(store: Any, path: str = DOC) -> Any:
    return store.get_all([path])[0].data


def test_get_all_answers_in_the_order_asked_missing_documents_empty(store: Any) -> None:
    store.commit([Write(DOC, {"n": 1}), Write(OTHER, {"n": 2})])
    snaps = store.get_all([OTHER, "companies/acme/leads/nobody", DOC])
    assert [(s.path, s.data) for s in snaps] == [
        (OTHER, {"n": 2}),
        ("companies/acme/leads/nobody", None),
        (DOC, {"n": 1}),
    ]
    assert [s.exists for s in snaps] == [True, False, True]
    assert snaps[0].update_time is not None and snaps[1].update_time is None
    assert store.get_all([]) == []


def test_create_refuses_an_existing_document_and_the_whole_commit(store: Any) -> None:
    store.commit([Write(DOC, {"n": 1}, "create")])
    with pytest.raises(AlreadyExists):
        store.commit([Write(OTHER, {"n": 2}), Write(DOC, {"n": 3}, "create")])
    assert (data(store), data(store, OTHER)) == ({"n": 1}, None)


def test_set_replaces_the_whole_document(store: Any) -> None:
    store.commit([Write(DOC, {"a": 1, "m": {"x": 1, "y": 2}})])
    store.commit([Write(DOC, {"m": {"x": 5}})])
    assert data(store) == {"m": {"x": 5}}


def test_merge_merges_maps_at_every_depth(store: Any) -> None:
    """Only the fields named change; an empty map replaces the map it names."""
    store.commit([Write(DOC, {"a": 1, "m": {"x": 1, "y": {"p": 1, "q": 2}}, "e": {"k": 1}})])
    store.commit([Write(DOC, {"m": {"x": 5, "y": {"q": 3}}, "e": {}, "b": 2}, "merge")])
    assert data(store) == {"a": 1, "b": 2, "m": {"x": 5, "y": {"p": 1, "q": 3}}, "e": {}}
    store.commit([Write(OTHER, {"m": {"x": 1}}, "merge")])  # a merge creates, too
    assert data(store, OTHER) == {"m": {"x": 1}}


def test_update_takes_field_paths_and_replaces_the_values_named(store: Any) -> None:
    store.commit([Write(DOC, {"a": 1, "m": {"x": 1, "y": 2}, "n": {"x": 1, "y": 2}})])
    store.commit([Write(DOC, {"m.x": 5, "m.z.deep": 1, "n": {"x": 9}}, "update")])
    assert data(store) == {"a": 1, "m": {"x": 5, "y": 2, "z": {"deep": 1}}, "n": {"x": 9}}


def test_update_of_a_missing_document_is_not_found(store: Any) -> None:
    with pytest.raises(NotFound):
        store.commit([Write(DOC, {"a": 1}, "update")])
    assert data(store) is None


def test_dots_are_part_of_the_name_outside_an_update(store: Any) -> None:
    store.commit([Write(DOC, {"m.x": 1}, "create"), Write(OTHER, {"m": {"x": 0}})])
    store.commit([Write(OTHER, {"m.x": 1}, "merge")])
    assert (data(store), data(store, OTHER)) == ({"m.x": 1}, {"m": {"x": 0}, "m.x": 1})


def test_delete_removes_and_a_missing_document_is_no_error(store: Any) -> None:
    store.commit([Write(DOC, {"a": 1})])
    store.commit([Write(DOC, {}, "delete"), Write(OTHER, {}, "delete")])
    assert (data(store), data(store, OTHER)) == (None, None)


def test_writes_to_one_document_in_one_commit_apply_in_order(store: Any) -> None:
    store.commit([Write(DOC, {"a": 1}), Write(DOC, {"n": Increment(2)}, "merge")])
    assert data(store) == {"a": 1, "n": 2}


def test_a_commit_holds_at_most_500_writes(store: Any) -> None:
    writes = [Write(f"companies/acme/leads/l{i}", {"i": i}) for i in range(501)]
    with pytest.raises(Exception, match="at most 500 writes"):
        store.commit(writes)
    assert data(store, "companies/acme/leads/l0") is None
    store.commit(writes[:500])
    assert data(store, "companies/acme/leads/l499") == {"i": 499}


@pytest.mark.parametrize("mode", ["set", "merge", "update", "delete"])
def test_a_precondition_on_the_update_time(store: Any, mode: Any) -> None:
    """The write applies only while the document still has the update time read; a stale
    one, or a document that is gone, is ``Contention`` and nothing is written."""
    store.commit([Write(DOC, {"n": 1})])
    read = store.get_all([DOC])[0].update_time
    store.commit([Write(DOC, {"n": 2})])
    with pytest.raises(Contention):
        store.commit([Write(OTHER, {"n": 0}), Write(DOC, {"n": 3}, mode, if_update_time=read)])
    assert (data(store), data(store, OTHER)) == ({"n": 2}, None)
    fresh = store.get_all([DOC])[0].update_time
    store.commit([Write(DOC, {"n": 4}, mode, if_update_time=fresh)])
    assert data(store) == (None if mode == "delete" else {"n": 4})
    with pytest.raises(Contention):
        store.commit([Write(OTHER, {"n": 5}, mode, if_update_time=fresh)])


def test_increment_adds_or_starts_from_zero(store: Any) -> None:
    """A missing field or a value that is no number counts from zero; int + float is float."""
    store.commit([Write(DOC, {"i": 2, "f": 1.5, "s": "text", "flag": True})])
    bumps = {k: Increment(1) for k in ("i", "f", "s", "flag", "new")}
    store.commit([Write(DOC, {**bumps, "half": Increment(0.5), "m": {"n": Increment(3)}}, "merge")])
    after = data(store)
    assert after == {"i": 3, "f": 2.5, "s": 1, "flag": 1, "new": 1, "half": 0.5, "m": {"n": 3}}
    assert (type(after["i"]), type(after["f"])) == (int, float)
    store.commit([Write(OTHER, {"n": Increment(2)}, "merge")])  # on no document
    assert data(store, OTHER) == {"n": 2}


def test_array_union_adds_each_missing_value_once(store: Any) -> None:
    store.commit([Write(DOC, {"a": [1, 2], "s": "not a list"})])
    union = {"a": ArrayUnion((2, 3, 3, 4)), "s": ArrayUnion(("x",)), "b": ArrayUnion((1, 1))}
    store.commit([Write(DOC, union, "merge")])
    assert data(store) == {"a": [1, 2, 3, 4], "s": ["x"], "b": [1]}


def test_server_time_is_the_commit_time(store: Any) -> None:
    store.commit([Write(DOC, {"at": SERVER_TIME, "m": {"at": SERVER_TIME}})])
    snap = store.get_all([DOC])[0]
    assert snap.data == {"at": snap.update_time, "m": {"at": snap.update_time}}


def test_values_come_back_as_firestore_keeps_them(store: Any) -> None:
    """Tuples as lists; times as UTC instants (a naive one taken as UTC)."""
    plus_two = timezone(timedelta(hours=2))
    value = {
        "t": (1, (2, 3)),
        "naive": datetime(2026, 1, 1, 12, 0, 0, 123456),
        "aware": datetime(2026, 1, 1, 12, tzinfo=plus_two),
        "n": [None, True, 1, 1.0, "s", b"b", {"k": "v"}],
    }
    store.commit([Write(DOC, value)])
    back = data(store)
    assert back == {
        "t": [1, [2, 3]],
        "naive": datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC),
        "aware": datetime(2026, 1, 1, 10, tzinfo=UTC),
        "n": [None, True, 1, 1.0, "s", b"b", {"k": "v"}],
    }
    assert back["aware"].utcoffset() == timedelta(0)
    assert [type(v) for v in back["n"][1:4]] == [bool, int, float]


@pytest.mark.parametrize("bad", [Decimal("1.5"), object(), {1: "a number as a key"}])
def test_what_firestore_cannot_hold_is_refused_before_anything_is_written(
    store: Any, bad: Any
) -> None:
    with pytest.raises((TypeError, ValueError)):
        store.commit([Write(OTHER, {"ok": 1}), Write(DOC, {"v": bad})])
    assert (data(store), data(store, OTHER)) == (None, None)
