"""Methods of rule values: ``s.matches(re)``, ``l.hasAll(x)``, ``m.diff(n).affectedKeys()``,
``t.toMillis()`` and the rest, dispatched on the receiver's type."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from localcloud.firestore.rules.errors import EvalError
from localcloud.firestore.rules.runtime import (
    Duration,
    MapDiff,
    PartialData,
    RuleSet,
    Timestamp,
    contains,
    equal,
    known,
    type_name,
)

Method = Callable[..., object]


def _items(value: object) -> list[object]:
    """The elements of a list or set argument."""
    value = known(value)
    if isinstance(value, list):
        return value
    if isinstance(value, RuleSet):
        return value.items
    raise EvalError(f"expected a list or set, got {type_name(value)}")


def _collection_methods(items: list[object]) -> dict[str, Method]:
    """What lists and sets share."""
    return {
        "size": lambda: len(items),
        "hasAll": lambda other: all(contains(items, x) for x in _items(other)),
        "hasAny": lambda other: any(contains(items, x) for x in _items(other)),
        "hasOnly": lambda other: all(contains(_items(other), x) for x in items),
    }


def _list_methods(items: list[object]) -> dict[str, Method]:
    def join(separator: str) -> str:
        if not all(isinstance(x, str) for x in items):
            raise EvalError("join() needs a list of strings")
        return separator.join(str(x) for x in items)

    return {
        **_collection_methods(items),
        "join": join,
        "concat": lambda other: items + _items(other),
        "removeAll": lambda other: [x for x in items if not contains(_items(other), x)],
        "toSet": lambda: RuleSet(items),
    }


def _set_methods(items: list[object]) -> dict[str, Method]:
    return {
        **_collection_methods(items),
        "difference": lambda other: RuleSet(x for x in items if not contains(_items(other), x)),
        "intersection": lambda other: RuleSet(x for x in items if contains(_items(other), x)),
        "union": lambda other: RuleSet([*items, *_items(other)]),
    }


def map_get(data: object, key: object, default: object) -> object:
    """``m.get(key, default)``; a list key is a path into nested maps."""
    path = key if isinstance(key, list) else [key]
    current: object = data
    for part in path:
        if not isinstance(part, str):
            raise EvalError("map keys are strings")
        if isinstance(current, PartialData):
            current = current.field(part)
            continue
        if not isinstance(current, dict) or part not in current:
            return default
        current = current[part]
    return current


def _map_methods(data: dict[str, object]) -> dict[str, Method]:
    def diff(other: object) -> MapDiff:
        if not isinstance(known(other), dict):
            raise EvalError("diff() needs a map")
        return MapDiff(data, other)  # type: ignore[arg-type]

    return {
        "size": lambda: len(data),
        "keys": lambda: list(data),
        "values": lambda: list(data.values()),
        "get": lambda key, default: map_get(data, key, default),
        "diff": diff,
    }


def _diff_methods(d: MapDiff) -> dict[str, Method]:
    def changed() -> RuleSet:
        return RuleSet(k for k in d.new if k in d.old and not equal(d.new[k], d.old[k]))

    def unchanged() -> RuleSet:
        return RuleSet(k for k in d.new if k in d.old and equal(d.new[k], d.old[k]))

    added = RuleSet(k for k in d.new if k not in d.old)
    removed = RuleSet(k for k in d.old if k not in d.new)
    return {
        "addedKeys": lambda: added,
        "removedKeys": lambda: removed,
        "changedKeys": changed,
        "unchangedKeys": unchanged,
        "affectedKeys": lambda: RuleSet([*added.items, *removed.items, *changed().items]),
    }


def _string_methods(s: str) -> dict[str, Method]:
    def matches(pattern: str) -> bool:
        try:
            return re.fullmatch(pattern, s) is not None
        except re.error as err:
            raise EvalError(f"invalid regular expression {pattern!r}: {err}") from err

    return {
        "size": lambda: len(s),
        "matches": matches,
        "lower": s.lower,
        "upper": s.upper,
        "trim": s.strip,
        "split": lambda pattern: re.split(pattern, s),
        "replace": lambda pattern, sub: re.sub(pattern, sub, s),
        "toUtf8": s.encode,
    }


def _utc(t: Timestamp) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=t.ns // 1000)


def _timestamp_methods(t: Timestamp) -> dict[str, Method]:
    when = _utc(t)
    midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
    since_midnight = t.ns - (t.ns // 86_400_000_000_000) * 86_400_000_000_000
    return {
        "date": lambda: Timestamp(int(midnight.timestamp()) * 1_000_000_000),
        "year": lambda: when.year,
        "month": lambda: when.month,
        "day": lambda: when.day,
        "hours": lambda: when.hour,
        "minutes": lambda: when.minute,
        "seconds": lambda: when.second,
        "nanos": lambda: t.ns % 1_000_000_000,
        "toMillis": lambda: t.ns // 1_000_000,
        "dayOfWeek": when.isoweekday,
        "dayOfYear": lambda: when.timetuple().tm_yday,
        "time": lambda: Duration(since_midnight),
    }


def _duration_methods(d: Duration) -> dict[str, Method]:
    seconds = int(d.ns / 1_000_000_000)
    return {"seconds": lambda: seconds, "nanos": lambda: d.ns - seconds * 1_000_000_000}


def _bytes_methods(b: bytes) -> dict[str, Method]:
    return {
        "size": lambda: len(b),
        "toBase64": lambda: base64.b64encode(b).decode(),
        "toHexString": lambda: b.hex().upper(),
    }


def _methods_of(target: object) -> dict[str, Method]:
    table: list[tuple[type, Callable[[Any], dict[str, Method]]]] = [
        (str, _string_methods),
        (list, _list_methods),
        (dict, _map_methods),
        (RuleSet, lambda s: _set_methods(s.items)),
        (MapDiff, _diff_methods),
        (Timestamp, _timestamp_methods),
        (Duration, _duration_methods),
        (bytes, _bytes_methods),
    ]
    for cls, methods in table:
        if isinstance(target, cls):
            return methods(target)
    return {}


def call_method(target: object, name: str, args: list[object]) -> object:
    """``target.name(*args)``; an unknown method or wrong arguments is an error."""
    if isinstance(target, PartialData) and name == "get" and len(args) == 2:
        return map_get(target, args[0], args[1])
    target = known(target)
    if target is None:
        raise EvalError("Null value error.")
    method = _methods_of(target).get(name)
    if method is None:
        raise EvalError(f"Function not found error: Name: [{name}] on {type_name(target)}.")
    try:
        return method(*[known(a) for a in args])
    except TypeError as err:
        raise EvalError(f"wrong arguments for {type_name(target)}.{name}(): {err}") from err
