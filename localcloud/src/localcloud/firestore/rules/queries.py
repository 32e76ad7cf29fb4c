"""Checking a query (a ``list``) the way Firestore does: the query is allowed only when
the rule holds for every document it could return, whatever is stored.

The rule is evaluated symbolically, once per conjunction of the query's filters (an
``or`` gives several, an ``in`` one per value): fields the conjunction fixes by equality
(``==``, ``in``, ``is null``) have that value in ``resource.data``, as does the
document id for a ``__name__`` filter; reading any other field of ``resource.data``, or
the unknown document id, makes the rule undecided, which denies the query (unless
``||`` or ``&&`` make that side irrelevant). Range and inequality filters fix nothing.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from localcloud.firestore import pb, values
from localcloud.firestore.rules.matcher import ANY_PATH
from localcloud.firestore.rules.runtime import (
    UNKNOWN,
    PartialData,
    RulePath,
    equal,
    from_firestore,
)

MAX_CONJUNCTIONS = 1000
Fixed = dict[tuple[str, ...], object]


@dataclass(frozen=True)
class Scenario:
    """What one conjunction of the filters fixes about every result."""

    fields: Fixed
    name: RulePath | None  # a ``__name__ ==`` filter fixes the document

    def resolve(self, collection: list[object]) -> tuple[list[object], dict[str, object]]:
        """The results' path (the collection's items and the id) and ``resource``. A
        ``__name__`` filter fixes the id when it names a document of this collection."""
        name = self.name
        if name is None or list(name.segments[:-1]) != collection:
            path = [*collection, UNKNOWN]
            return path, {"data": PartialData(self.fields), "id": UNKNOWN, "__name__": UNKNOWN}
        resource = {"data": PartialData(self.fields), "id": name.segments[-1], "__name__": name}
        return list(name.segments), resource


def scenarios(where: Any | None) -> list[Scenario]:
    """One scenario per conjunction of ``where`` in disjunctive normal form. Past
    ``MAX_CONJUNCTIONS`` the filters are ignored: a rule that holds for documents no
    filter constrains holds for every conjunction, and any other is undecided (denied)."""
    if where is None:
        return [Scenario({}, None)]
    try:
        found = [s for s in _dnf(where) if s is not None]
    except _TooMany:
        return [Scenario({}, None)]
    # Only contradictory conjunctions: the query returns nothing; check it unconstrained.
    return [_scenario(fixed) for fixed in found] or [Scenario({}, None)]


class _TooMany(Exception):
    pass


def _scenario(fixed: Fixed) -> Scenario:
    name = fixed.pop(("__name__",), None)
    return Scenario(fixed, name if isinstance(name, RulePath) else None)


def _bounded(conjunctions: list[Fixed | None]) -> list[Fixed | None]:
    if len(conjunctions) > MAX_CONJUNCTIONS:
        raise _TooMany
    return conjunctions


def _dnf(flt: Any) -> list[Fixed | None]:
    """Conjunctions as the values they fix; None for a contradictory one (x == 1 && x == 2)."""
    which = flt.WhichOneof("filter_type")
    if which == "composite_filter":
        parts = [_dnf(p) for p in flt.composite_filter.filters]
        if flt.composite_filter.op == pb.CompositeOp.OR:
            return _bounded([c for part in parts for c in part])
        combined = itertools.islice(itertools.product(*parts), MAX_CONJUNCTIONS + 1)
        return _bounded([_merge(choice) for choice in combined])
    if which == "field_filter":
        return _bounded(list(_field_dnf(flt.field_filter)))
    if which == "unary_filter":
        path = _segments(flt.unary_filter.field.field_path)
        if flt.unary_filter.op == pb.UnaryOp.IS_NULL:
            return [{path: None}]
        if flt.unary_filter.op == pb.UnaryOp.IS_NAN:
            return [{path: math.nan}]
    return [{}]


def _field_dnf(f: Any) -> Iterator[Fixed]:
    path = _segments(f.field.field_path)
    if f.op == pb.FieldOp.EQUAL:
        yield {path: from_firestore(f.value)}
    elif f.op == pb.FieldOp.IN:
        for v in f.value.array_value.values:
            yield {path: from_firestore(v)}
    else:
        yield {}


def _merge(choice: tuple[Fixed | None, ...]) -> Fixed | None:
    merged: Fixed = {}
    for fixed in choice:
        if fixed is None:
            return None
        for path, value in fixed.items():
            if path in merged and not equal(merged[path], value):
                return None
            merged[path] = value
    return merged


def _segments(field_path: str) -> tuple[str, ...]:
    return tuple(values.parse_field_path(field_path))


def collection_items(parent: str, sq: Any) -> list[object] | None:
    """The path items of the queried collection (``ANY_PATH`` for a collection group's
    unknown parents); None for a query no rule can grant (all collections at once)."""
    if len(sq.from_) != 1 or not sq.from_[0].collection_id:
        return None
    base: list[object] = list(parent.split("/")[2:])
    source = sq.from_[0]
    return [*base, *([ANY_PATH] if source.all_descendants else []), source.collection_id]


def describe(collection: list[object]) -> str:
    """A queried collection as a path, ``**`` standing for a collection group's parents."""
    return "/" + "/".join("**" if item is ANY_PATH else str(item) for item in collection)


def query_map(sq: Any) -> dict[str, object]:
    """``request.query``: limit (null without one), offset and orderBy."""
    order_by = [
        {"field": o.field.field_path, "direction": pb.Direction.Name(o.direction)}
        for o in sq.order_by
    ]
    limit = sq.limit.value if sq.HasField("limit") else None
    return {"limit": limit, "offset": sq.offset, "orderBy": order_by}
