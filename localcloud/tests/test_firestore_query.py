"""Local Firestore conformance, RunQuery: filters, ordering, cursors, limits, projections."""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import And, FieldFilter, Or


def ids(query: Any) -> list[str]:
    return [snap.id for snap in query.stream()]


def seed(db: Any, docs: Mapping[str, Any], collection: str = "c") -> Any:
    batch = db.batch()
    for doc_id, data in docs.items():
        batch.set(db.document(f"{collection}/{doc_id}"), data)
    batch.commit()
    return db.collection(collection)


NUMBERS = {"a": {"n": 1}, "b": {"n": 2}, "c": {"n": 3}, "d": {"n": 2.5}, "e": {"other": 1}}


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("<", 2.5, ["a", "b"]),
        ("<=", 2.5, ["a", "b", "d"]),
        (">", 2, ["d", "c"]),
        (">=", 2, ["b", "d", "c"]),
        ("==", 2, ["b"]),
        ("==", 2.0, ["b"]),
        ("!=", 2, ["a", "d", "c"]),
        ("in", [1, 3, 9], ["a", "c"]),
        ("not-in", [1, 3], ["b", "d"]),
    ],
)
def test_comparison_operators(db: Any, op: str, value: Any, expected: list[str]) -> None:
    """Each operator, with ints and doubles compared numerically; missing fields never match."""
    c = seed(db, NUMBERS)
    assert expected == ids(c.where(filter=FieldFilter("n", op, value)))


def test_range_filters_do_not_cross_types(db: Any) -> None:
    """``n > 1`` matches only numbers, not strings or booleans that sort after numbers."""
    c = seed(db, {"num": {"n": 5}, "str": {"n": "5"}, "bool": {"n": True}, "null": {"n": None}})
    assert ["num"] == ids(c.where(filter=FieldFilter("n", ">", 1)))
    assert ["str"] == ids(c.where(filter=FieldFilter("n", ">=", "")))


def test_array_contains_and_array_contains_any(db: Any) -> None:
    """array_contains matches one element; array_contains_any matches any listed one."""
    c = seed(db, {"a": {"t": ["x", "y"]}, "b": {"t": ["y", 1]}, "c": {"t": "x"}, "d": {}})
    assert ["a"] == ids(c.where(filter=FieldFilter("t", "array_contains", "x")))
    assert ["b"] == ids(c.where(filter=FieldFilter("t", "array_contains", 1.0)))
    assert ["a", "b"] == ids(c.where(filter=FieldFilter("t", "array_contains_any", ["x", 1])))


def test_not_equal_and_not_in_exclude_missing_and_null(db: Any) -> None:
    """``!=`` and not-in skip documents without the field, and null values."""
    c = seed(db, {"a": {"n": 1}, "b": {"n": 2}, "c": {"n": None}, "d": {"x": 1}})
    assert ["b"] == ids(c.where(filter=FieldFilter("n", "!=", 1)))
    assert ["b"] == ids(c.where(filter=FieldFilter("n", "not-in", [1])))


def test_not_in_with_null_matches_nothing(db: Any) -> None:
    """A not-in list holding null matches no document, as in Firestore."""
    c = seed(db, {"a": {"n": 1}, "b": {"n": 2}})
    assert [] == ids(c.where(filter=FieldFilter("n", "not-in", [None, 1])))


def test_in_with_null_and_arrays(db: Any) -> None:
    """``in`` compares whole values: null and arrays match exactly."""
    c = seed(db, {"a": {"n": None}, "b": {"n": [1, 2]}, "c": {"n": [1]}, "d": {"n": 1}})
    assert ["a", "b"] == ids(c.where(filter=FieldFilter("n", "in", [None, [1, 2]])))


@pytest.mark.parametrize("op", ["in", "not-in", "array_contains_any"])
def test_disjunction_with_an_empty_list_is_invalid(db: Any, op: str) -> None:
    """in, not-in and array_contains_any need a non-empty list."""
    c = seed(db, NUMBERS)
    with pytest.raises(exceptions.InvalidArgument, match="non-empty array"):
        ids(c.where(filter=FieldFilter("n", op, [])))


def test_disjunction_of_more_than_30_values_is_invalid(db: Any) -> None:
    """An in filter may list 30 values, not 31."""
    c = seed(db, NUMBERS)
    assert ["a"] == ids(c.where(filter=FieldFilter("n", "in", [1, *range(100, 129)])))
    with pytest.raises(exceptions.InvalidArgument, match="at most 30"):
        ids(c.where(filter=FieldFilter("n", "in", list(range(31)))))


NULLS = {
    "null": {"v": None},
    "nan": {"v": math.nan},
    "num": {"v": 1.5},
    "str": {"v": "s"},
    "missing": {"w": 1},
}


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("==", None, ["null"]),
        ("!=", None, ["nan", "num", "str"]),
        ("==", math.nan, ["nan"]),
        ("!=", math.nan, ["num", "str"]),
    ],
)
def test_unary_filters(db: Any, op: str, value: Any, expected: list[str]) -> None:
    """== / != None and NaN become IS_NULL, IS_NOT_NULL, IS_NAN, IS_NOT_NAN."""
    c = seed(db, NULLS)
    assert expected == ids(c.where(filter=FieldFilter("v", op, value)))


def test_composite_and_or(db: Any) -> None:
    """And and Or nest; Or of two fields returns each match once."""
    c = seed(db, {f"d{i}": {"a": i % 3, "b": i % 2} for i in range(6)})
    both = And([FieldFilter("a", "==", 0), FieldFilter("b", "==", 1)])
    either = Or([FieldFilter("a", "==", 2), FieldFilter("b", "==", 1)])
    nested = Or([both, And([FieldFilter("a", "==", 1), FieldFilter("b", "==", 0)])])
    assert ["d3"] == ids(c.where(filter=both))
    assert ["d1", "d2", "d3", "d5"] == ids(c.where(filter=either))
    assert ["d3", "d4"] == ids(c.where(filter=nested))


def test_order_by_several_fields_with_implicit_name_order(db: Any) -> None:
    """Ties on the ordered fields are broken by document name, in the last direction."""
    c = seed(
        db,
        {
            "a": {"x": 1, "y": 1},
            "b": {"x": 1, "y": 2},
            "c": {"x": 2, "y": 1},
            "d": {"x": 1, "y": 2},
            "e": {"y": 9},
        },
    )
    assert ["a", "b", "d", "c"] == ids(c.order_by("x").order_by("y"))
    desc = c.order_by("x").order_by("y", direction=firestore.Query.DESCENDING)
    assert ["d", "b", "a", "c"] == ids(desc)
    assert ["c", "a", "b", "d"] == ids(c.order_by("x", direction="DESCENDING").order_by("y"))


def test_default_order_is_by_name(db: Any) -> None:
    """Without order_by results come in document-id order (UTF-8 bytes)."""
    c = seed(db, {"b": {}, "B": {}, "a": {}, "é": {}, "z": {}})
    assert ["B", "a", "b", "z", "é"] == ids(c)


def test_inequality_orders_by_that_field(db: Any) -> None:
    """An inequality filter orders the results by its field first."""
    c = seed(db, {"a": {"n": 3}, "b": {"n": 1}, "c": {"n": 2}})
    assert ["b", "c", "a"] == ids(c.where(filter=FieldFilter("n", ">", 0)))


def test_inequality_with_another_first_order_is_invalid(db: Any) -> None:
    """An inequality on one field with a first order_by on another -> InvalidArgument."""
    c = seed(db, NUMBERS)
    query = c.where(filter=FieldFilter("n", ">", 1)).order_by("other")
    with pytest.raises(exceptions.InvalidArgument, match="first sort order"):
        ids(query)


def test_cross_type_ordering(db: Any) -> None:
    """null < bool < NaN < numbers < timestamps < strings < bytes < refs < geo < arrays < maps."""
    when = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    ordered = [
        None,
        False,
        True,
        math.nan,
        -math.inf,
        -1,
        0.5,
        1,
        1.5,
        when,
        "",
        "a",
        "b",
        b"\x00",
        db.document("a/b"),
        db.document("a/b/c/d"),
        db.document("b/a"),
        firestore.GeoPoint(-10, 5),
        firestore.GeoPoint(10, 0),
        [],
        [1, 2],
        [2],
        {},
        {"a": 1},
        {"a": 2},
        {"b": 0},
    ]
    c = seed(db, {f"d{i:02}": {"v": v} for i, v in enumerate(reversed(ordered))})
    expected = [f"d{len(ordered) - 1 - i:02}" for i in range(len(ordered))]
    assert expected == ids(c.order_by("v"))
    assert expected[::-1] == ids(c.order_by("v", direction="DESCENDING"))
