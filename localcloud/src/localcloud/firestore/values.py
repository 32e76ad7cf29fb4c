"""Firestore value semantics: the cross-type ordering, equality and field paths.

Ordering follows Firestore's documented order: null < booleans < numbers (NaN first,
integers and doubles compared numerically) < timestamps < strings (by UTF-8 bytes)
< bytes < references (segment by segment) < geo points < arrays < maps.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from localcloud.firestore import pb

_TYPE_RANK = {
    "null_value": 0,
    "boolean_value": 1,
    "integer_value": 2,
    "double_value": 2,
    "timestamp_value": 3,
    "string_value": 4,
    "bytes_value": 5,
    "reference_value": 6,
    "geo_point_value": 7,
    "array_value": 8,
    "map_value": 9,
}


def kind(value: Any) -> str:
    """The name of the value's type field, e.g. ``integer_value``."""
    return str(value.WhichOneof("value_type") or "null_value")


def type_rank(value: Any) -> int:
    return int(_TYPE_RANK.get(kind(value), 10))


def is_nan(value: Any) -> bool:
    return kind(value) == "double_value" and math.isnan(value.double_value)


def _cmp(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


def _compare_numbers(a: Any, b: Any) -> int:
    x = a.integer_value if kind(a) == "integer_value" else a.double_value
    y = b.integer_value if kind(b) == "integer_value" else b.double_value
    x_nan, y_nan = isinstance(x, float) and math.isnan(x), isinstance(y, float) and math.isnan(y)
    if x_nan or y_nan:
        return _cmp(not x_nan, not y_nan)  # NaN sorts before every other number
    return _cmp(x, y)


def _compare_sequences(xs: Any, ys: Any) -> int:
    for x, y in zip(xs, ys, strict=False):
        c = compare(x, y)
        if c:
            return c
    return _cmp(len(xs), len(ys))


def _compare_maps(a: Any, b: Any) -> int:
    ka, kb = sorted(a.fields, key=str.encode), sorted(b.fields, key=str.encode)
    for x, y in zip(ka, kb, strict=False):
        c = _cmp(x.encode(), y.encode()) or compare(a.fields[x], b.fields[y])
        if c:
            return c
    return _cmp(len(ka), len(kb))


def compare(a: Any, b: Any) -> int:
    """Total order of two Firestore values: negative, zero or positive."""
    ra, rb = type_rank(a), type_rank(b)
    if ra != rb:
        return _cmp(ra, rb)
    k = kind(a)
    if k == "null_value":
        return 0
    if ra == 2:
        return _compare_numbers(a, b)
    if k == "boolean_value":
        return _cmp(a.boolean_value, b.boolean_value)
    if k == "timestamp_value":
        ta, tb = a.timestamp_value, b.timestamp_value
        return _cmp((ta.seconds, ta.nanos), (tb.seconds, tb.nanos))
    if k == "string_value":
        return _cmp(a.string_value.encode(), b.string_value.encode())
    if k == "bytes_value":
        return _cmp(a.bytes_value, b.bytes_value)
    if k == "reference_value":
        return _cmp(reference_key(a.reference_value), reference_key(b.reference_value))
    if k == "geo_point_value":
        ga, gb = a.geo_point_value, b.geo_point_value
        return _cmp((ga.latitude, ga.longitude), (gb.latitude, gb.longitude))
    if k == "array_value":
        return _compare_sequences(a.array_value.values, b.array_value.values)
    return _compare_maps(a.map_value, b.map_value)


def equals(a: Any, b: Any) -> bool:
    """Equality as queries see it: numbers numerically, NaN equal to nothing."""
    if is_nan(a) or is_nan(b):
        return False
    return compare(a, b) == 0


_NUMERIC_ID = re.compile(r"__id(-?\d+)__")


def _segment_key(segment: str) -> tuple[int, int, bytes]:
    """Ids of the form ``__id<n>__`` are numeric ids: they sort first, by number. The
    client's recursive delete relies on this (it starts at ``__id-9223372036854775808__``)."""
    numeric = _NUMERIC_ID.fullmatch(segment)
    if numeric:
        return (0, int(numeric.group(1)), b"")
    return (1, 0, segment.encode())


def reference_key(name: str) -> tuple[tuple[int, int, bytes], ...]:
    """Sort key of a document name: its path segments compared one by one."""
    return tuple(_segment_key(s) for s in name.split("/"))


def reference(name: str) -> Any:
    return pb.Value(reference_value=name)


# --- field paths -------------------------------------------------------------------------


def parse_field_path(path: str) -> list[str]:
    """Split a field path like ``a.b`` or ``a.`x.y``` into segments."""
    segments: list[str] = []
    i, n = 0, len(path)
    while i < n:
        if path[i] == "`":
            j, buf = i + 1, []
            while j < n and path[j] != "`":
                if path[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(path[j])
                j += 1
            segments.append("".join(buf))
            i = j + 1
        else:
            j = path.find(".", i)
            j = n if j == -1 else j
            segments.append(path[i:j])
            i = j
        if i < n and path[i] == ".":
            i += 1
    return segments


def get_field(fields: Any, segments: list[str]) -> Any | None:
    """The value at ``segments`` inside a map's ``fields``, or None when absent."""
    current = fields
    for i, seg in enumerate(segments):
        if seg not in current:
            return None
        value = current[seg]
        if i == len(segments) - 1:
            return value
        if kind(value) != "map_value":
            return None
        current = value.map_value.fields
    return None


def set_field(fields: Any, segments: list[str], value: Any) -> None:
    current = fields
    for seg in segments[:-1]:
        if seg not in current or kind(current[seg]) != "map_value":
            current[seg].CopyFrom(pb.Value(map_value=pb.MapValue()))
        current = current[seg].map_value.fields
    current[segments[-1]].CopyFrom(value)


def delete_field(fields: Any, segments: list[str]) -> None:
    current = fields
    for seg in segments[:-1]:
        if seg not in current or kind(current[seg]) != "map_value":
            return
        current = current[seg].map_value.fields
    if segments[-1] in current:
        del current[segments[-1]]


def leaf_paths(fields: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every leaf field path of a map, maps descended (used for update masks of events)."""
    for key, value in fields.items():
        path = (*prefix, key)
        if kind(value) == "map_value" and value.map_value.fields:
            yield from leaf_paths(value.map_value.fields, path)
        else:
            yield path


def encode_field_path(segments: tuple[str, ...] | list[str]) -> str:
    return ".".join(
        s if _is_simple(s) else "`" + s.replace("\\", "\\\\").replace("`", "\\`") + "`"
        for s in segments
    )


def _is_simple(segment: str) -> bool:
    return (
        bool(segment)
        and (segment[0].isalpha() or segment[0] == "_")
        and all(c.isalnum() or c == "_" for c in segment)
    )


# --- sizes (Firestore storage size rules) ------------------------------------------------


def value_size(value: Any) -> int:
    k = kind(value)
    if k in ("null_value", "boolean_value"):
        return 1
    if k in ("integer_value", "double_value", "timestamp_value"):
        return 8
    if k == "string_value":
        return len(value.string_value.encode()) + 1
    if k == "bytes_value":
        return len(value.bytes_value)
    if k == "reference_value":
        return len(value.reference_value.encode()) + 1
    if k == "geo_point_value":
        return 16
    if k == "array_value":
        return sum(value_size(v) for v in value.array_value.values)
    return fields_size(value.map_value.fields)


def fields_size(fields: Any) -> int:
    return sum(len(k.encode()) + 1 + value_size(v) for k, v in fields.items())
