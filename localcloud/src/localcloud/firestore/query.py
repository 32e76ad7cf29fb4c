"""Evaluating structured queries and aggregations as Firestore does.

Filters, the implicit ordering (inequality fields, then ``__name__`` in the direction of
the last explicit order), cursors, offset, limit and projections.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from localcloud.firestore import pb, values
from localcloud.firestore.errors import invalid
from localcloud.firestore.names import documents_root, ns_to_ts, relative_segments
from localcloud.firestore.store import Store

NAME = "__name__"
Op = pb.FieldOp
_INEQUALITY = {
    Op.LESS_THAN,
    Op.LESS_THAN_OR_EQUAL,
    Op.GREATER_THAN,
    Op.GREATER_THAN_OR_EQUAL,
    Op.NOT_EQUAL,
    Op.NOT_IN,
}
_RANGE = {
    Op.LESS_THAN: lambda c: c < 0,
    Op.LESS_THAN_OR_EQUAL: lambda c: c <= 0,
    Op.GREATER_THAN: lambda c: c > 0,
    Op.GREATER_THAN_OR_EQUAL: lambda c: c >= 0,
}
MAX_DISJUNCTION = 30


def field_value(doc: Any, path: str) -> Any | None:
    if path == NAME:
        return values.reference(doc.name)
    return values.get_field(doc.fields, values.parse_field_path(path))


# --- filters -----------------------------------------------------------------------------


def _field_matches(doc: Any, f: Any) -> bool:
    v = field_value(doc, f.field.field_path)
    x, op = f.value, f.op
    if v is None:
        return False
    if op == Op.EQUAL:
        return values.equals(v, x)
    if op in _RANGE:
        same_class = values.type_rank(v) == values.type_rank(x)
        if not same_class or values.is_nan(v) or values.is_nan(x):
            return False
        return bool(_RANGE[op](values.compare(v, x)))
    if op == Op.NOT_EQUAL:
        return values.kind(v) != "null_value" and not values.equals(v, x)
    if op == Op.ARRAY_CONTAINS:
        return values.kind(v) == "array_value" and any(
            values.equals(e, x) for e in v.array_value.values
        )
    if op == Op.IN:
        return any(values.equals(v, e) for e in x.array_value.values)
    if op == Op.NOT_IN:
        return _not_in(v, x.array_value.values)
    if op == Op.ARRAY_CONTAINS_ANY:
        return values.kind(v) == "array_value" and any(
            values.equals(e, c) for e in v.array_value.values for c in x.array_value.values
        )
    raise invalid(f"Unsupported field filter operator {op}")


def _not_in(v: Any, listed: Any) -> bool:
    # Like ``!=``, not-in never matches a null field; and a null in the list makes the
    # filter match nothing (Firestore's own SDKs evaluate it the same way offline).
    if any(values.kind(e) == "null_value" for e in listed):
        return False
    return values.kind(v) != "null_value" and not any(values.equals(v, e) for e in listed)


def _unary_matches(doc: Any, f: Any) -> bool:
    v = field_value(doc, f.field.field_path)
    if v is None:
        return False
    is_null = values.kind(v) == "null_value"
    return {
        pb.UnaryOp.IS_NAN: values.is_nan(v),
        pb.UnaryOp.IS_NULL: is_null,
        pb.UnaryOp.IS_NOT_NAN: not values.is_nan(v) and not is_null,
        pb.UnaryOp.IS_NOT_NULL: not is_null,
    }[f.op]


def matches(doc: Any, flt: Any) -> bool:
    which = flt.WhichOneof("filter_type")
    if which == "field_filter":
        return _field_matches(doc, flt.field_filter)
    if which == "unary_filter":
        return _unary_matches(doc, flt.unary_filter)
    if which == "composite_filter":
        parts = flt.composite_filter.filters
        if flt.composite_filter.op == pb.CompositeOp.OR:
            return any(matches(doc, p) for p in parts)
        return all(matches(doc, p) for p in parts)
    return True


def _walk(flt: Any) -> list[Any]:
    """Every field and unary filter inside ``flt``."""
    which = flt.WhichOneof("filter_type")
    if which == "composite_filter":
        return [leaf for p in flt.composite_filter.filters for leaf in _walk(p)]
    return [getattr(flt, which)] if which else []


def _validate_filters(sq: Any) -> list[str]:
    """Check the filters and return the inequality fields, in field path order."""
    inequality: set[str] = set()
    for leaf in _walk(sq.where):
        if hasattr(leaf, "value"):
            if leaf.op in (Op.IN, Op.NOT_IN, Op.ARRAY_CONTAINS_ANY):
                if values.kind(leaf.value) != "array_value" or not leaf.value.array_value.values:
                    raise invalid(f"A '{Op.Name(leaf.op)}' filter needs a non-empty array")
                if len(leaf.value.array_value.values) > MAX_DISJUNCTION:
                    raise invalid(f"A disjunction may have at most {MAX_DISJUNCTION} values")
            if leaf.op in _INEQUALITY:
                inequality.add(leaf.field.field_path)
        elif leaf.op in (pb.UnaryOp.IS_NOT_NAN, pb.UnaryOp.IS_NOT_NULL):
            inequality.add(leaf.field.field_path)
    return sorted(inequality, key=values.parse_field_path)


# --- ordering ----------------------------------------------------------------------------


def effective_orders(sq: Any) -> list[tuple[str, bool]]:
    """``(field path, descending)`` pairs the results are sorted by, ``__name__`` last."""
    inequality = _validate_filters(sq)
    orders = [(o.field.field_path, o.direction == pb.Direction.DESCENDING) for o in sq.order_by]
    if orders and inequality and orders[0][0] not in inequality:
        raise invalid(
            f"Inequality filter property and first sort order must be the same: "
            f"{inequality[0]} and {orders[0][0]}"
        )
    explicit = {path for path, _ in orders}
    last_desc = orders[-1][1] if orders else False
    orders += [(path, last_desc) for path in inequality if path not in explicit]
    if NAME not in explicit:
        orders.append((NAME, last_desc))
    return orders


def _order_key(orders: list[tuple[str, bool]]) -> Callable[[Any], Any]:
    def cmp(a: Any, b: Any) -> int:
        for path, desc in orders:
            c = values.compare(field_value(a, path), field_value(b, path))
            if c:
                return -c if desc else c
        return 0

    return functools.cmp_to_key(cmp)


def _cursor_position(doc: Any, cursor: Any, orders: list[tuple[str, bool]]) -> int:
    """Compare a document with a cursor on the cursor's prefix of the orderings."""
    for (path, desc), given in zip(orders, cursor.values, strict=False):
        bound = given
        if path == NAME and values.kind(given) == "string_value":
            # A document id alone is relative to the collection being queried.
            bound = values.reference(doc.name.rsplit("/", 1)[0] + "/" + given.string_value)
        c = values.compare(field_value(doc, path), bound)
        if c:
            return -c if desc else c
    return 0


def _within_cursors(doc: Any, sq: Any, orders: list[tuple[str, bool]]) -> bool:
    if sq.HasField("start_at"):
        c = _cursor_position(doc, sq.start_at, orders)
        if c < 0 or (c == 0 and not sq.start_at.before):
            return False
    if sq.HasField("end_at"):
        c = _cursor_position(doc, sq.end_at, orders)
        if c > 0 or (c == 0 and sq.end_at.before):
            return False
    return True


# --- running -----------------------------------------------------------------------------


def _candidates(store: Store, parent: str, sq: Any, read_ns: int | None) -> list[Any]:
    if len(sq.from_) != 1:
        raise invalid("A query must select from exactly one collection")
    source = sq.from_[0]
    if not source.all_descendants:
        return list(store.collection(f"{parent}/{source.collection_id}", read_ns))
    docs: list[Any] = []
    for path in store.collection_paths(parent + "/"):
        if not source.collection_id or path.rsplit("/", 1)[1] == source.collection_id:
            docs.extend(store.collection(path, read_ns))
    return docs


def _project(doc: Any, sq: Any) -> Any:
    if not sq.HasField("select"):
        return doc
    return project(doc, [ref.field_path for ref in sq.select.fields])


def project(doc: Any, field_paths: list[str]) -> Any:
    """A copy of ``doc`` holding only ``field_paths`` (a projection or a document mask)."""
    out = pb.Document(name=doc.name)
    out.create_time.CopyFrom(doc.create_time)
    out.update_time.CopyFrom(doc.update_time)
    for path in field_paths:
        if path == NAME:
            continue
        segments = values.parse_field_path(path)
        v = values.get_field(doc.fields, segments)
        if v is not None:
            values.set_field(out.fields, segments, v)
    return out


def check_parent(database: str, parent: str) -> None:
    """A parent is the database's documents root or one of its documents."""
    root = documents_root(database)
    if parent == root:
        return
    if not parent.startswith(root + "/"):
        raise invalid(f"Parent {parent!r} is not inside database {database!r}")
    if len(relative_segments(parent)) % 2:
        raise invalid(f"Parent {parent!r} is a collection, not a document")


def run_query(store: Store, parent: str, sq: Any, read_ns: int | None = None) -> list[Any]:
    """The documents ``sq`` returns under ``parent``, in order, projected."""
    orders = effective_orders(sq)
    if len(sq.start_at.values) > len(orders) or len(sq.end_at.values) > len(orders):
        raise invalid("Too many cursor values: a cursor has more values than the query's order")
    with store.cond:
        docs = _candidates(store, parent, sq, read_ns)
    explicit = [path for path, _ in orders if path != NAME]
    docs = [d for d in docs if all(field_value(d, p) is not None for p in explicit)]
    docs = [d for d in docs if matches(d, sq.where)] if sq.HasField("where") else docs
    docs.sort(key=_order_key(orders))
    docs = [d for d in docs if _within_cursors(d, sq, orders)]
    docs = docs[sq.offset :]
    if sq.HasField("limit"):
        if sq.limit.value < 0:
            raise invalid("limit must be non-negative")
        docs = docs[: sq.limit.value]
    return [_project(d, sq) for d in docs]


# --- aggregations ------------------------------------------------------------------------


def aggregate(docs: list[Any], aggregation: Any) -> Any:
    which = aggregation.WhichOneof("operator")
    if which == "count":
        n = len(docs)
        if aggregation.count.HasField("up_to"):
            if aggregation.count.up_to.value < 1:
                raise invalid("count up_to must be at least 1")
            n = min(n, aggregation.count.up_to.value)
        return pb.Value(integer_value=n)
    path = getattr(aggregation, which).field.field_path
    found = [field_value(d, path) for d in docs]
    numbers = [v for v in found if v is not None and values.type_rank(v) == 2]
    as_python = [
        v.integer_value if values.kind(v) == "integer_value" else v.double_value for v in numbers
    ]
    if which == "sum":
        total = sum(as_python)
        if all(isinstance(x, int) for x in as_python) and -(2**63) <= total < 2**63:
            return pb.Value(integer_value=int(total))
        return pb.Value(double_value=float(total))
    if not as_python:
        return pb.Value(null_value=0)
    return pb.Value(double_value=math.fsum(as_python) / len(as_python))


def run_aggregation(docs: list[Any], saq: Any, read_ns: int) -> Any:
    result = pb.AggregationResult()
    for i, aggregation in enumerate(saq.aggregations):
        alias = aggregation.alias or f"field_{i + 1}"
        result.aggregate_fields[alias].CopyFrom(aggregate(docs, aggregation))
    response = pb.RunAggregationQueryResponse(result=result)
    ns_to_ts(read_ns, response.read_time)
    return response
