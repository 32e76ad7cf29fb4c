"""Local Firestore conformance, Commit: writes, preconditions, transforms, document times."""

from __future__ import annotations

import datetime
import math
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore_v1.field_path import FieldPath

# --- set, merge, update, delete, create ----------------------------------------------------


def test_set_replaces_the_whole_document(db: Any) -> None:
    """A plain set drops fields the new data does not have."""
    ref = db.document("c/d")
    ref.set({"a": 1, "b": {"x": 1}})
    ref.set({"c": 3})
    assert {"c": 3} == ref.get().to_dict()


def test_set_with_merge_keeps_other_fields(db: Any) -> None:
    """merge=True merges nested maps field by field."""
    ref = db.document("c/d")
    ref.set({"a": 1, "m": {"x": 1, "y": 2}})
    ref.set({"b": 2, "m": {"y": 3}}, merge=True)
    assert {"a": 1, "b": 2, "m": {"x": 1, "y": 3}} == ref.get().to_dict()


def test_set_with_merge_field_paths_writes_only_those(db: Any) -> None:
    """merge=[paths] writes the listed paths and ignores the rest of the data."""
    ref = db.document("c/d")
    ref.set({"a": 1, "m": {"x": 1, "y": 2}})
    ref.set({"a": 9, "b": 9, "m": {"x": 5, "y": 9}}, merge=["b", "m.x"])
    assert {"a": 1, "b": 9, "m": {"x": 5, "y": 2}} == ref.get().to_dict()


def test_update_with_dotted_paths_and_delete_field(db: Any) -> None:
    """update() sets nested paths, leaves siblings alone and removes DELETE_FIELD paths."""
    ref = db.document("c/d")
    ref.set({"a": 1, "m": {"x": 1, "y": 2}, "gone": True})
    ref.update({"m.x": 10, "m.z.deep": "new", "gone": firestore.DELETE_FIELD})
    assert {"a": 1, "m": {"x": 10, "y": 2, "z": {"deep": "new"}}} == ref.get().to_dict()


def test_update_quoted_field_path_with_a_dot_in_the_name(db: Any) -> None:
    """A backquoted segment may contain a dot: it names one field, not a nested one."""
    ref = db.document("c/d")
    ref.set({"a.b": 1, "a": {"b": 2}})
    ref.update({FieldPath("a.b").to_api_repr(): 5})
    assert {"a.b": 5, "a": {"b": 2}} == ref.get().to_dict()


def test_delete_removes_the_document(db: Any) -> None:
    """After delete() the document no longer exists; deleting again is fine."""
    ref = db.document("c/d")
    ref.set({"a": 1})
    ref.delete()
    ref.delete()
    assert False is ref.get().exists


def test_create_conflicts_when_the_document_exists(db: Any) -> None:
    """create() is a set with an exists=false precondition: ALREADY_EXISTS -> Conflict."""
    ref = db.document("c/d")
    ref.create({"a": 1})
    with pytest.raises(exceptions.Conflict):
        ref.create({"a": 2})
    assert {"a": 1} == ref.get().to_dict()


def test_update_of_a_missing_document_is_not_found(db: Any) -> None:
    """update() requires the document to exist."""
    with pytest.raises(exceptions.NotFound):
        db.document("c/missing").update({"a": 1})
    assert False is db.document("c/missing").get().exists


def test_delete_with_exists_precondition(db: Any) -> None:
    """delete(option=exists=True) of a missing document fails with NotFound."""
    with pytest.raises(exceptions.NotFound):
        db.document("c/missing").delete(option=db.write_option(exists=True))


def test_update_time_precondition(db: Any) -> None:
    """last_update_time must match the stored version: a stale one is FailedPrecondition."""
    ref = db.document("c/d")
    first = ref.set({"n": 1})
    ref.update({"n": 2}, option=db.write_option(last_update_time=first.update_time))
    with pytest.raises(exceptions.FailedPrecondition):
        ref.update({"n": 3}, option=db.write_option(last_update_time=first.update_time))
    assert {"n": 2} == ref.get().to_dict()


def test_failed_write_rolls_back_the_whole_batch(db: Any) -> None:
    """A batch is atomic: one failing precondition means none of its writes happen."""
    batch = db.batch()
    batch.set(db.document("c/a"), {"a": 1})
    batch.update(db.document("c/missing"), {"a": 1})
    with pytest.raises(exceptions.NotFound):
        batch.commit()
    assert False is db.document("c/a").get().exists


def test_batch_writes_in_order_within_one_document(db: Any) -> None:
    """Later writes in one commit see earlier ones to the same document."""
    ref = db.document("c/d")
    batch = db.batch()
    batch.set(ref, {"a": 1})
    batch.update(ref, {"b": 2})
    batch.update(ref, {"a": firestore.Increment(5)})
    batch.commit()
    assert {"a": 6, "b": 2} == ref.get().to_dict()


# --- transforms ----------------------------------------------------------------------------


def test_server_timestamp_is_the_commit_time(db: Any) -> None:
    """SERVER_TIMESTAMP becomes the commit time, which is also the update time."""
    ref = db.document("c/d")
    result = ref.set({"at": firestore.SERVER_TIMESTAMP, "m": {"at": firestore.SERVER_TIMESTAMP}})
    snap = ref.get()
    assert result.update_time == snap.get("at") == snap.get("m.at") == snap.update_time


def test_increment_int_and_float(db: Any) -> None:
    """Increment adds; int + int stays int, a float anywhere makes a double; missing is 0."""
    ref = db.document("c/d")
    ref.set({"i": 1, "f": 1.5, "s": "text"})
    ref.update(
        {
            "i": firestore.Increment(2),
            "f": firestore.Increment(1),
            "j": firestore.Increment(0.5),
            "new": firestore.Increment(7),
            "s": firestore.Increment(3),
        }
    )
    data = ref.get().to_dict()
    assert {"i": 3, "f": 2.5, "j": 0.5, "new": 7, "s": 3} == data
    assert (int, float) == (type(data["i"]), type(data["f"]))


def test_increment_of_int_by_float_is_a_double(db: Any) -> None:
    """An integer field incremented by a double becomes a double."""
    ref = db.document("c/d")
    ref.set({"i": 1})
    ref.update({"i": firestore.Increment(0.5)})
    assert 1.5 == ref.get().get("i")


def test_maximum_and_minimum(db: Any) -> None:
    """Maximum/Minimum keep the larger/smaller; a missing field takes the operand."""
    ref = db.document("c/d")
    ref.set({"hi": 5, "lo": 5, "same": 3})
    ref.update(
        {
            "hi": firestore.Maximum(9),
            "lo": firestore.Minimum(2.5),
            "same": firestore.Maximum(1),
            "fresh": firestore.Minimum(4),
        }
    )
    assert {"hi": 9, "lo": 2.5, "same": 3, "fresh": 4} == ref.get().to_dict()


def test_array_union_and_remove(db: Any) -> None:
    """ArrayUnion appends missing elements only; ArrayRemove removes every equal element."""
    ref = db.document("c/d")
    ref.set({"tags": ["a", "b", "a"], "n": [1, 2, 2, 3]})
    ref.update({"tags": firestore.ArrayUnion(["b", "c", "c"]), "n": firestore.ArrayRemove([2.0])})
    assert {"tags": ["a", "b", "a", "c"], "n": [1, 3]} == ref.get().to_dict()


def test_array_transforms_on_missing_fields(db: Any) -> None:
    """ArrayUnion on a missing field creates the array; ArrayRemove leaves an empty one."""
    ref = db.document("c/d")
    ref.set({"u": firestore.ArrayUnion([1, 1]), "r": firestore.ArrayRemove([1])})
    assert {"u": [1], "r": []} == ref.get().to_dict()


def test_transform_results_are_returned(db: Any) -> None:
    """The commit response carries one transform result per transform, in order."""
    ref = db.document("c/d")
    ref.set({"n": 1, "tags": ["a"]})
    response = db._firestore_api.commit(
        request={
            "database": db._database_string,
            "writes": [
                {
                    "update": {"name": ref._document_path, "fields": {}},
                    "update_mask": {"field_paths": []},
                    "update_transforms": [
                        {"field_path": "n", "increment": {"integer_value": 4}},
                        {"field_path": "tags", "append_missing_elements": {"values": []}},
                        {"field_path": "t", "set_to_server_value": "REQUEST_TIME"},
                    ],
                }
            ],
        },
        metadata=db._rpc_metadata,
    )
    results = response.write_results[0].transform_results
    assert 5 == results[0].integer_value
    assert ["a"] == [v.string_value for v in results[1].array_value.values]
    assert response.commit_time == results[2].timestamp_value


def test_nan_maximum_is_nan(db: Any) -> None:
    """Maximum with NaN on either side gives NaN, as in Firestore."""
    ref = db.document("c/d")
    ref.set({"x": 1})
    ref.update({"x": firestore.Maximum(math.nan)})
    assert True is math.isnan(ref.get().get("x"))


# --- document semantics and times ----------------------------------------------------------


def test_create_update_and_read_times(db: Any) -> None:
    """create_time stays, update_time moves on each change, read_time is set on reads."""
    ref = db.document("c/d")
    created = ref.set({"n": 1})
    updated = ref.set({"n": 2})
    snap = ref.get()
    assert (created.update_time, updated.update_time) == (snap.create_time, snap.update_time)
    assert created.update_time < updated.update_time <= snap.read_time


def test_unchanged_set_keeps_update_time(db: Any) -> None:
    """Writing identical data is a no-op: the document keeps its update_time."""
    ref = db.document("c/d")
    first = ref.set({"n": 1, "m": {"a": [1, 2]}})
    again = ref.set({"n": 1, "m": {"a": [1, 2]}})
    assert first.update_time == again.update_time == ref.get().update_time


def test_missing_document_has_a_read_time_only(db: Any) -> None:
    """A missing document's snapshot has no create/update time but a read time."""
    snap = db.document("c/missing").get()
    assert (False, None, None) == (snap.exists, snap.create_time, snap.update_time)
    assert isinstance(snap.read_time, datetime.datetime)


def test_subcollection_under_a_missing_parent(db: Any) -> None:
    """Writing c/p/sub/x does not create c/p: a document exists only when written."""
    db.document("c/p/sub/x").set({"a": 1})
    assert False is db.document("c/p").get().exists
    assert ["x"] == [s.id for s in db.collection("c/p/sub").stream()]
    assert [] == list(db.collection("c").stream())
