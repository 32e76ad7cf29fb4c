"""``DocumentStore.query`` (each operator, order, limit, collection groups) and
``PagedStore.page``/``count``, alike on the fake and on Firestore: a missing field
matches nothing, values of another type neither equal nor order against the operand, an
inequality orders by its field, and ties fall to the document name."""

from __future__ import annotations

from typing import Any

import pytest

from shared.ports import Filter, Write

LEADS = "companies/acme/leads"
# One of each kind of value Firestore orders: null < booleans < numbers < strings < arrays.
MIXED = {
    "null": {"v": None},
    "none": {},
    "true": {"v": True},
    "zero": {"v": 0},
    "one": {"v": 1},
    "half": {"v": 2.5},
    "text": {"v": "s"},
    "list": {"v": [1, 2]},
}


def ids(snaps: list[Any]) -> list[str]:
    return [s.path.rsplit("/", 1)[1] for s in snaps]


@pytest.fixture
def mixed(store: Any) -> Any:
    store.commit([Write(f"{LEADS}/{k}", v) for k, v in MIXED.items()])
    return store


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("==", 1, ["one"]),
        ("==", 1.0, ["one"]),  # numbers equal across int and float, booleans are no number
        ("==", None, ["null"]),  # null, not a missing field
        ("!=", 1, ["true", "zero", "half", "text", "list"]),  # ordered by the field
        ("!=", None, ["true", "zero", "one", "half", "text", "list"]),
        ("<", 2, ["zero", "one"]),
        ("<=", 1, ["zero", "one"]),
        (">", 0, ["one", "half"]),
        (">=", "a", ["text"]),
        ("<", True, []),
        ("in", [1, None, "s"], ["null", "one", "text"]),
        ("not-in", [1, "s"], ["true", "zero", "half", "list"]),
        ("array_contains", 2, ["list"]),
    ],
)
def test_each_operator(mixed: Any, op: Any, value: Any, expected: list[str]) -> None:
    assert ids(mixed.query(LEADS, [Filter("v", op, value)])) == expected


@pytest.mark.parametrize(
    ("value", "error"),
    [([], "non-empty array"), (list(range(31)), "at most 30 values")],
)
def test_in_takes_one_to_thirty_values(mixed: Any, value: list[int], error: str) -> None:
    with pytest.raises(Exception, match=error):
        mixed.query(LEADS, [Filter("v", "in", value)])


def test_filters_combine_and_read_nested_fields(store: Any) -> None:
    people = {"a": ("new", 5), "b": ("new", 1), "c": ("won", 9), "d": ("new", 7)}
    store.commit(
        [Write(f"{LEADS}/{k}", {"s": {"status": s}, "score": n}) for k, (s, n) in people.items()]
    )
    found = store.query(LEADS, [Filter("s.status", "==", "new"), Filter("score", ">", 2)])
    assert ids(found) == ["a", "d"]


def test_order_by_leaves_out_documents_without_the_field(mixed: Any) -> None:
    everything = ["null", "true", "zero", "one", "half", "text", "list"]
    assert ids(mixed.query(LEADS, order_by=[("v", False)])) == everything
    assert ids(mixed.query(LEADS, order_by=[("v", True)])) == everything[::-1]


def test_order_by_several_fields_ties_fall_to_the_name(store: Any) -> None:
    rows = {"a": (1, "x"), "b": (2, "x"), "c": (1, "y"), "d": (1, "x"), "e": (2, "y")}
    store.commit([Write(f"{LEADS}/{k}", {"n": n, "t": t}) for k, (n, t) in rows.items()])
    # a and d tie: the name breaks it in the last order's direction (descending here)
    assert ids(store.query(LEADS, order_by=[("n", False), ("t", True)])) == list("cdaeb")
    assert ids(store.query(LEADS, order_by=[("n", True)])) == list("ebdca")
    assert ids(store.query(LEADS)) == list("abcde")


def test_limit_counts_after_filtering_and_ordering(mixed: Any) -> None:
    found = mixed.query(LEADS, [Filter("v", ">=", 0)], [("v", True)], limit=2)
    assert ids(found) == ["half", "one"]
    assert ids(mixed.query(LEADS, limit=3)) == ["half", "list", "none"]


def test_a_collection_group_is_every_collection_of_that_id(store: Any) -> None:
    """At any depth, the root's included, in path order segment by segment."""
    paths = [
        "companies/a-b/leads/2",
        "companies/a/leads/1",
        "companies/a/leads/1/leads/4",
        "companies/a/notes/3",
        "leads/top",
    ]
    store.commit([Write(p, {"t": 1}) for p in paths])
    found = store.query("leads", [Filter("t", "==", 1)], collection_group=True)
    assert [s.path for s in found] == [
        "companies/a/leads/1",
        "companies/a/leads/1/leads/4",
        "companies/a-b/leads/2",
        "leads/top",
    ]
    assert [s.path for s in store.query("companies/a/leads")] == ["companies/a/leads/1"]


def test_pages_walk_a_collection_in_path_order(store: Any) -> None:
    paths = [f"companies/c{i}" for i in (3, 1, 2)] + ["companies/c1/leads/x"]
    store.commit([Write(p, {"p": p}) for p in paths])
    first = store.page("", "companies", None, 2)
    rest = store.page("", "companies", first[-1].path, 2)
    assert [s.path for s in first + rest] == ["companies/c1", "companies/c2", "companies/c3"]
    assert store.page("", "companies", "companies/c3", 2) == []


def test_pages_of_descendants_cover_every_depth_below_the_parent(store: Any) -> None:
    paths = ["companies/a/leads/1", "companies/a/x/y/leads/2", "companies/b/leads/3"]
    store.commit([Write(p, {}) for p in paths])
    found = store.page("companies/a", "leads", None, 10, descendants=True)
    assert [s.path for s in found] == paths[:2]
    after = store.page("companies/a", "leads", "companies/a/leads/1", 10, descendants=True)
    assert [s.path for s in after] == paths[1:2]


def test_count_is_the_collections_own_documents(store: Any) -> None:
    store.commit([Write(f"{LEADS}/{i}", {}) for i in range(3)] + [Write(f"{LEADS}/0/n/1", {})])
    assert (store.count(LEADS), store.count("companies/acme/none")) == (3, 0)
