"""Values of the rules language and their semantics: types, equality and ordering, and
conversion from Firestore's protobuf values.

Python values stand for most rule values (None, bool, int, float, str, bytes, list,
dict); timestamps, durations, paths, lat/lngs, sets and map diffs have classes here.
``1 == true`` is false in rules, unlike in Python, hence ``equal``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from localcloud.firestore.rules.errors import EvalError, Undecided


@dataclass(frozen=True)
class Timestamp:
    ns: int  # since the Unix epoch, UTC


@dataclass(frozen=True)
class Duration:
    ns: int


@dataclass(frozen=True)
class LatLng:
    lat: float
    lng: float


@dataclass(frozen=True)
class RulePath:
    """A path such as ``/databases/(default)/documents/a/b``, as its segments."""

    segments: tuple[str, ...]

    def __str__(self) -> str:
        return "/" + "/".join(self.segments)


class RuleSet:
    """A set of rule values (``keys().toSet()``, ``diff().affectedKeys()``)."""

    def __init__(self, items: Iterable[object]) -> None:
        self.items: list[object] = []
        for item in items:
            if not contains(self.items, item):
                self.items.append(item)

    def __repr__(self) -> str:
        return f"RuleSet({self.items!r})"


@dataclass(frozen=True)
class MapDiff:
    """``a.diff(b)``: how map ``a`` differs from ``b`` (``b`` is the older one)."""

    new: dict[str, object]
    old: dict[str, object]


class _Unknown:
    """A value a query does not fix (a document id, an unfiltered field): using it makes
    the rule undecided for the query."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


class PartialData:
    """``resource.data`` of a query's results: only the fields the filters fix by
    equality are known (by field path segments); anything else is undecided."""

    def __init__(self, fixed: dict[tuple[str, ...], object], prefix: tuple[str, ...] = ()):
        self.fixed = fixed
        self.prefix = prefix

    def field(self, name: str) -> object:
        path = (*self.prefix, name)
        if path in self.fixed:
            return self.fixed[path]
        if any(k[: len(path)] == path for k in self.fixed):
            return PartialData(self.fixed, path)
        raise Undecided(f"the query does not constrain field '{'.'.join(path)}'")

    def has(self, name: str) -> bool:
        """``name in data``: an equality filter on a field implies the field exists."""
        self.field(name)
        return True


def known(value: object) -> object:
    """``value`` when it is a whole value; raises ``Undecided`` for a partial one."""
    if value is UNKNOWN or isinstance(value, PartialData):
        raise Undecided("the value depends on documents the query does not constrain")
    return value


_TYPE_NAMES: list[tuple[type, str]] = [
    (bool, "bool"),
    (int, "int"),
    (float, "float"),
    (str, "string"),
    (bytes, "bytes"),
    (list, "list"),
    (dict, "map"),
    (Timestamp, "timestamp"),
    (Duration, "duration"),
    (LatLng, "latlng"),
    (RulePath, "path"),
    (RuleSet, "set"),
    (MapDiff, "map_diff"),
]


def type_name(value: object) -> str:
    if value is None:
        return "null"
    for cls, name in _TYPE_NAMES:
        if isinstance(value, cls):
            return name
    known(value)
    raise EvalError(f"unsupported value {value!r}")


def is_type(value: object, name: str) -> bool:
    actual = type_name(value)
    return actual == name or (name == "number" and actual in ("int", "float"))


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def equal(a: object, b: object) -> bool:
    """Rules equality: numbers numerically, containers deeply, types otherwise strict."""
    a, b = known(a), known(b)
    if is_number(a) and is_number(b):
        return a == b
    ta, tb = type_name(a), type_name(b)
    if ta != tb:
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, RuleSet) and isinstance(b, RuleSet):
        return len(a.items) == len(b.items) and all(contains(b.items, x) for x in a.items)
    return a == b


def contains(items: Iterable[object], value: object) -> bool:
    return any(equal(item, value) for item in items)


def _cmp(x: Any, y: Any) -> int:
    return int(x > y) - int(x < y)


def compare(a: object, b: object) -> int:
    """Ordering of two values of the same kind; anything else is an error."""
    a, b = known(a), known(b)
    if is_number(a) and is_number(b):
        if math.isnan(a) or math.isnan(b):  # type: ignore[arg-type]
            raise EvalError("NaN has no order")
        return _cmp(a, b)
    if isinstance(a, Timestamp | Duration) and type(a) is type(b):
        return _cmp(a.ns, b.ns)
    if isinstance(a, str | bytes) and type(a) is type(b):
        return _cmp(a, b)
    if isinstance(a, list) and isinstance(b, list):
        for x, y in zip(a, b, strict=False):
            c = compare(x, y)
            if c:
                return c
        return _cmp(len(a), len(b))
    raise EvalError(f"cannot compare {type_name(a)} with {type_name(b)}")


def from_firestore(value: Any) -> object:
    """The rule value of a ``google.firestore.v1.Value``."""
    which = value.WhichOneof("value_type")
    if which in (None, "null_value"):
        return None
    if which == "timestamp_value":
        ts = value.timestamp_value
        return Timestamp(ts.seconds * 1_000_000_000 + ts.nanos)
    if which == "reference_value":
        return document_path(value.reference_value)
    if which == "geo_point_value":
        return LatLng(value.geo_point_value.latitude, value.geo_point_value.longitude)
    if which == "array_value":
        return [from_firestore(v) for v in value.array_value.values]
    if which == "map_value":
        return fields_to_map(value.map_value.fields)
    return getattr(value, which)


def fields_to_map(fields: Any) -> dict[str, object]:
    return {key: from_firestore(v) for key, v in fields.items()}


def document_path(name: str) -> RulePath:
    """``projects/p/databases/d/documents/a/b`` as the rules path
    ``/databases/d/documents/a/b``."""
    return RulePath(tuple(name.split("/")[2:]))


def resource(doc: Any) -> dict[str, object] | None:
    """``resource`` (and ``get()``'s result) for a stored document; None when missing."""
    if doc is None:
        return None
    path = document_path(doc.name)
    return {"data": fields_to_map(doc.fields), "id": path.segments[-1], "__name__": path}
