"""``firestore.indexes.json`` covers every query the code runs, and holds nothing else.

The queries' needs are derived, never listed by hand, in two ways: the services that query
are run on a store that records each query's shape at the ``DocumentStore`` port, and every
``.query(...)`` call in ``shared/`` is read with ``ast`` (so a query no test runs is still
checked). A query needs a composite index when it filters or orders on more than one field.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.domain.identity import Role, StaffIdentity
from shared.domain.referrals import ReferralStatus
from shared.ports import Write
from shared.services.activity import ActivityStore
from shared.services.periodic import JOBS
from shared.services.referral_codes import list_referrals
from shared.services.scheduling import dispatch_due_tasks
from tests.fakes import FakeClock, FakeStore, FakeTaskQueue, RecordingStore
from tests.periodic_runs import run_periodic

ROOT = Path(__file__).resolve().parents[2]
EQUALITY = {"==", "in", "array_contains", "array_contains_any"}
SYMBOLIC = "?"  # a field or collection the source names through a variable


@dataclass(frozen=True)
class Shape:
    """What decides a query's index: where, filtered how, ordered how."""

    collection: str
    collection_group: bool
    filters: tuple[tuple[str, str], ...]
    order_by: tuple[tuple[str, bool], ...]
    where: str = ""

    def needed(self) -> tuple[list[str], list[tuple[str, bool]]] | None:
        """(equality fields, then the ordered fields) of the composite index, or None."""
        equal = list(dict.fromkeys(f for f, op in self.filters if op in EQUALITY))
        ranged = list(dict.fromkeys(f for f, op in self.filters if op not in EQUALITY))
        order = list(self.order_by)
        if ranged and ranged[0] not in [f for f, _ in order]:
            order.insert(0, (ranged[0], False))  # Firestore orders by the range field first
        fields = set(equal) | set(ranged) | {f for f, _ in order}
        return (equal, order) if len(fields) > 1 else None


def covered(shape: Shape, indexes: list[dict[str, Any]]) -> bool:
    """Whether one index serves the query: its equality fields first (any order), then
    exactly the query's orderings (or all of them reversed)."""
    needed = shape.needed()
    if needed is None:
        return True
    equal, order = needed
    scope = "COLLECTION_GROUP" if shape.collection_group else "COLLECTION"
    for index in indexes:
        if (index["collectionGroup"], index["queryScope"]) != (shape.collection, scope):
            continue
        fields = [(f["fieldPath"], f.get("order") == "DESCENDING") for f in index["fields"]]
        head, tail = fields[: len(equal)], fields[len(equal) :]
        reverse = [(f, not d) for f, d in order]
        if {f for f, _ in head} == set(equal) and tail in (order, reverse):
            return True
    return False


def index_file() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "firestore.indexes.json").read_text())
    return data


# --- the queries the services run, recorded at the port --------------------------------


def recorded_shapes() -> list[Shape]:
    """Run every querying service on a recording store and keep what it asked."""
    now = FakeClock().now()
    store = RecordingStore(FakeStore())
    store.commit([Write("companies/acme", {"name": "Acme"})])
    # Yesterday's activity of every kind, so that the rollup asks every count it can.
    yesterday = now - timedelta(days=1)
    activity = {
        "leads/l1": {"created_at": yesterday, "converted_at": yesterday, "source": "web"},
        "reviews/r1": {"requested_at": yesterday, "completed_at": yesterday, "rating": 5},
        "referral_redemptions/m1": {"created_at": yesterday},
        "content/c1": {"published_at": yesterday, "type": "blog"},
    }
    marking = ActivityStore(store.inner, lambda: yesterday)
    marking.commit([Write(f"companies/acme/{path}", data) for path, data in activity.items()])
    # And something due for every other periodic job, so that each asks its company.
    due = {
        "companies/acme": {"name": "Acme", "settings": {"engagement_decay_percent": 10}},
        "companies/beta/referrals/C1": {"status": "active", "expires_at": yesterday},
        "companies/acme/social_connections/x": {"status": "active", "expires_at": now},
        "companies/acme/workflows/w": {
            "name": "Weekly",
            "steps": [{"id": "s1", "type": "add_tag", "tag": "weekly"}],
            "trigger": {"type": "schedule", "cron": "0 9 * * *"},
            "status": "active",
            "next_fire_at": yesterday,
            "schema_version": 3,
        },
    }
    store.commit([Write(path, data) for path, data in due.items()])
    for job in JOBS:
        run_periodic(store, FakeTaskQueue(), job, now)  # type: ignore[arg-type]
    dispatch_due_tasks(store, FakeTaskQueue(), now, run_key="dispatch@now")
    staff = StaffIdentity("u1", "acme", Role.ADMIN)
    for status in (None, ReferralStatus.ACTIVE):
        list_referrals(store, staff, "acme", status)
    return [
        Shape(
            q["collection"],
            q["collection_group"],
            tuple(q["filters"]),
            tuple(q["order_by"]),
            "recorded",
        )
        for q in store.queries
    ]


# --- the queries the source contains, read with ast ------------------------------------


class Unresolved(Exception):
    pass


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return SYMBOLIC + ast.unparse(node)


def _collection(node: ast.expr) -> str:
    """The collection id: the last path segment of a string or f-string."""
    if isinstance(node, ast.JoinedStr) and isinstance(node.values[-1], ast.Constant):
        tail = str(node.values[-1].value)
        return tail.rsplit("/", 1)[-1] if "/" in tail else SYMBOLIC + ast.unparse(node)
    return _name(node).rsplit("/", 1)[-1]


def _variants(node: ast.expr | None, assigned: dict[str, ast.expr]) -> list[list[ast.expr]]:
    """The possible element lists of a filters or order_by argument."""
    if node is None:
        return [[]]
    if isinstance(node, ast.List | ast.Tuple):
        return [list(node.elts)]
    if isinstance(node, ast.IfExp):
        return _variants(node.body, assigned) + _variants(node.orelse, assigned)
    if isinstance(node, ast.Name) and node.id in assigned:
        return _variants(assigned[node.id], assigned)
    raise Unresolved(ast.unparse(node))


def _filter(node: ast.expr) -> tuple[str, str]:
    if isinstance(node, ast.Call) and len(node.args) >= 2:
        return _name(node.args[0]), _name(node.args[1])
    raise Unresolved(ast.unparse(node))


def _order(node: ast.expr) -> tuple[str, bool]:
    if isinstance(node, ast.Tuple) and isinstance(node.elts[1], ast.Constant):
        return _name(node.elts[0]), bool(node.elts[1].value)
    raise Unresolved(ast.unparse(node))


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    if len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


# Where each method takes its filters, orderings and collection-group flag (an aggregation
# query has no ordering, and needs the same indexes as the query it aggregates).
POSITIONS = {"query": (1, 2, 4), "aggregate": (2, None, 3)}


def _shapes_of(call: ast.Call, assigned: dict[str, ast.expr], where: str) -> list[Shape]:
    filters, order_by, group_at = POSITIONS[getattr(call.func, "attr", "query")]
    group = _argument(call, group_at, "collection_group")
    is_group = isinstance(group, ast.Constant) and bool(group.value)
    collection = _collection(call.args[0])
    orders = _argument(call, order_by, "order_by") if order_by is not None else None
    return [
        Shape(collection, is_group, tuple(map(_filter, fs)), tuple(map(_order, os)), where)
        for fs in _variants(_argument(call, filters, "filters"), assigned)
        for os in _variants(orders, assigned)
    ]


def _passes_on(call: ast.Call, params: set[str]) -> bool:
    """A call handing its own function's ``filters`` parameter on, as wrappers do."""
    if getattr(call.func, "attr", "") not in POSITIONS:
        return False
    at = POSITIONS[getattr(call.func, "attr", "")][0]
    filters = _argument(call, at, "filters")
    return isinstance(filters, ast.Name) and filters.id in params


def source_shapes() -> list[Shape]:
    """Every ``.query(...)`` and ``.aggregate(...)`` call in ``shared/``, per possible
    filters and orderings."""
    shapes: list[Shape] = []
    for path in sorted((ROOT / "shared").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for func in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            assigned = {
                t.id: n.value
                for n in ast.walk(func)
                if isinstance(n, ast.Assign)
                for t in n.targets
                if isinstance(t, ast.Name)
            }
            params = {a.arg for a in func.args.args + func.args.kwonlyargs}
            for call in ast.walk(func):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
                    continue
                if _passes_on(call, params):
                    continue  # a store wrapping another: its callers' queries are checked
                if call.func.attr in POSITIONS and call.args:
                    where = f"{path.relative_to(ROOT)}:{call.lineno}"
                    shapes += _shapes_of(call, assigned, where)
    return shapes


# --- the checks --------------------------------------------------------------------------


def test_the_derivation_finds_the_known_queries() -> None:
    """Both derivations see the collection-group queries of dispatch and expiry, and the
    rollup's aggregation of rated reviews."""
    wanted = {("scheduled_tasks", True), ("referrals", True), ("reviews", False)}
    for shapes in (recorded_shapes(), source_shapes()):
        assert wanted <= {(s.collection, s.collection_group) for s in shapes if s.needed()}


def test_every_query_is_covered() -> None:
    """Each query needing a composite index finds it in firestore.indexes.json."""
    indexes = index_file()["indexes"]
    shapes = recorded_shapes() + source_shapes()
    missing = [s for s in shapes if not covered(s, indexes)]
    assert [] == missing


def test_no_composite_query_depends_on_a_variable() -> None:
    """A field or collection named by a variable cannot be checked: composite queries
    must name them literally."""
    unclear = [s for s in source_shapes() if s.needed() and SYMBOLIC in repr(s)]
    assert [] == unclear


def test_every_index_is_used() -> None:
    """No index is kept for a query that no longer exists (each one costs writes)."""
    shapes = recorded_shapes() + source_shapes()
    unused = [
        index
        for index in index_file()["indexes"]
        if not any(covered(s, [index]) and s.needed() for s in shapes)
    ]
    assert [] == unused


def test_exempted_fields_are_not_queried() -> None:
    """A field override without indexes (TTL fields) must not be filtered or ordered on."""
    exempt = {
        (o["collectionGroup"], o["fieldPath"])
        for o in index_file()["fieldOverrides"]
        if o.get("indexes") == []
    }
    used = {
        (s.collection, f)
        for s in recorded_shapes() + source_shapes()
        for f in [f for f, _ in s.filters] + [f for f, _ in s.order_by]
    }
    assert set() == exempt & used


@pytest.mark.parametrize(
    ("shape", "needs"),
    [
        (Shape("t", False, (("a", "=="),), ()), False),
        (Shape("t", False, (("a", ">="), ("a", "<")), ()), False),
        (Shape("t", False, (("a", ">="),), (("a", True),)), False),
        (
            Shape(
                "t",
                False,
                (
                    ("a", "=="),
                    ("b", "=="),
                ),
                (),
            ),
            True,
        ),
        (Shape("t", False, (("a", "=="),), (("b", True),)), True),
        (Shape("t", False, (("a", "<"),), (("b", False),)), True),
    ],
)
def test_which_queries_need_a_composite_index(shape: Shape, needs: bool) -> None:
    """More than one field filtered or ordered on needs a composite index."""
    assert needs == (shape.needed() is not None)


def test_index_file_format() -> None:
    """The Firebase CLI format: scopes, orders and field overrides as it expects them."""
    data = index_file()
    assert {"indexes", "fieldOverrides"} == set(data)
    for index in data["indexes"]:
        assert index["queryScope"] in ("COLLECTION", "COLLECTION_GROUP")
        assert all(
            f.get("order") in ("ASCENDING", "DESCENDING") or f.get("arrayConfig") == "CONTAINS"
            for f in index["fields"]
        )
