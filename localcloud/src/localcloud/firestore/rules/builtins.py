"""Global functions and namespaces of the rules language: ``int()``, ``string()``,
``path()``, ``math.*``, ``duration.*``, ``timestamp.*``, ``latlng.value()``.

``get()``/``exists()`` read documents, so the evaluator provides those.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

from localcloud.firestore.rules.errors import EvalError
from localcloud.firestore.rules.runtime import (
    Duration,
    LatLng,
    RulePath,
    Timestamp,
    is_number,
    type_name,
)

Builtin = Callable[..., object]

_UNITS_NS = {
    "w": 7 * 86_400 * 10**9,
    "d": 86_400 * 10**9,
    "h": 3_600 * 10**9,
    "m": 60 * 10**9,
    "s": 10**9,
    "ms": 10**6,
    "us": 10**3,
    "ns": 1,
}


def _number(x: object) -> float | int:
    if not is_number(x):
        raise EvalError(f"expected a number, got {type_name(x)}")
    return x  # type: ignore[return-value]


def _to_int(x: object) -> int:
    if isinstance(x, str):
        try:
            return int(x)
        except ValueError as err:
            raise EvalError(f"cannot convert {x!r} to int") from err
    number = _number(x)
    if isinstance(number, float) and not math.isfinite(number):
        raise EvalError("cannot convert a non-finite float to int")
    return int(number)


def _to_float(x: object) -> float:
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError as err:
            raise EvalError(f"cannot convert {x!r} to float") from err
    return float(_number(x))


def _to_string(x: object) -> str:
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int | float | str):
        return str(x)
    if isinstance(x, RulePath):
        return str(x)
    raise EvalError(f"cannot convert {type_name(x)} to string")


def _to_path(x: object) -> RulePath:
    if not isinstance(x, str):
        raise EvalError("path() needs a string")
    return RulePath(tuple(s for s in x.split("/") if s))


def _duration_value(magnitude: object, unit: object) -> Duration:
    if not isinstance(unit, str) or unit not in _UNITS_NS:
        raise EvalError(f"unknown duration unit {unit!r}: use one of {sorted(_UNITS_NS)}")
    return Duration(int(_number(magnitude) * _UNITS_NS[unit]))


def _duration_time(hours: object, minutes: object, seconds: object, nanos: object) -> Duration:
    parts = zip((hours, minutes, seconds, nanos), ("h", "m", "s", "ns"), strict=True)
    return Duration(sum(_to_int(v) * _UNITS_NS[u] for v, u in parts))


def _timestamp_date(year: object, month: object, day: object) -> Timestamp:
    try:
        date = dt.datetime(_to_int(year), _to_int(month), _to_int(day), tzinfo=dt.UTC)
    except ValueError as err:
        raise EvalError(f"invalid date: {err}") from err
    return Timestamp(int(date.timestamp()) * 1_000_000_000)


def _abs(x: object) -> object:
    if isinstance(x, Duration):
        return Duration(abs(x.ns))
    return abs(_number(x))


GLOBALS: dict[str, Builtin] = {
    "int": _to_int,
    "float": _to_float,
    "string": _to_string,
    "path": _to_path,
    "debug": lambda x: x,
}

NAMESPACES: dict[str, dict[str, Builtin]] = {
    "math": {
        "abs": _abs,
        "ceil": lambda x: math.ceil(_number(x)),
        "floor": lambda x: math.floor(_number(x)),
        "round": lambda x: math.floor(_number(x) + 0.5),
        "sqrt": lambda x: math.sqrt(_number(x)),
        "pow": lambda x, y: float(_number(x)) ** _number(y),
        "isInfinite": lambda x: math.isinf(_number(x)),
        "isNaN": lambda x: math.isnan(_number(x)),
    },
    "duration": {"value": _duration_value, "time": _duration_time, "abs": _abs},
    "timestamp": {
        "date": _timestamp_date,
        "value": lambda millis: Timestamp(_to_int(millis) * 1_000_000),
    },
    "latlng": {"value": lambda lat, lng: LatLng(float(_number(lat)), float(_number(lng)))},
}
