"""Binary and unary operators on rule values (``&&``/``||`` live in the evaluator, as
they decide whether their right side is evaluated at all)."""

from __future__ import annotations

import math
from collections.abc import Callable

from localcloud.firestore.rules.errors import EvalError
from localcloud.firestore.rules.runtime import (
    Duration,
    PartialData,
    RuleSet,
    Timestamp,
    compare,
    contains,
    equal,
    is_number,
    known,
    type_name,
)

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def _int_result(x: int | float) -> int | float:
    if isinstance(x, int) and not _INT_MIN <= x <= _INT_MAX:
        raise EvalError("integer overflow")
    return x


def _add(a: object, b: object) -> object:
    if is_number(a) and is_number(b):
        return _int_result(a + b)  # type: ignore[operator]
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    if isinstance(a, list) and isinstance(b, list):
        return a + b
    if isinstance(a, Timestamp) and isinstance(b, Duration):
        return Timestamp(a.ns + b.ns)
    if isinstance(a, Duration) and isinstance(b, Timestamp):
        return Timestamp(a.ns + b.ns)
    if isinstance(a, Duration) and isinstance(b, Duration):
        return Duration(a.ns + b.ns)
    raise EvalError(f"cannot add {type_name(a)} and {type_name(b)}")


def _subtract(a: object, b: object) -> object:
    if is_number(a) and is_number(b):
        return _int_result(a - b)  # type: ignore[operator]
    if isinstance(a, Timestamp) and isinstance(b, Timestamp):
        return Duration(a.ns - b.ns)
    if isinstance(a, Timestamp) and isinstance(b, Duration):
        return Timestamp(a.ns - b.ns)
    if isinstance(a, Duration) and isinstance(b, Duration):
        return Duration(a.ns - b.ns)
    raise EvalError(f"cannot subtract {type_name(b)} from {type_name(a)}")


def _numbers(op: str, a: object, b: object) -> tuple[int | float, int | float]:
    if not (is_number(a) and is_number(b)):
        raise EvalError(f"'{op}' needs numbers, got {type_name(a)} and {type_name(b)}")
    return a, b  # type: ignore[return-value]


def _multiply(a: object, b: object) -> object:
    x, y = _numbers("*", a, b)
    return _int_result(x * y)


def _truncated(x: int, y: int) -> int:
    """Integer division rounding toward zero, as in Java and C (Python floors)."""
    if y == 0:
        raise EvalError("division by zero")
    quotient = abs(x) // abs(y)
    return quotient if (x < 0) == (y < 0) else -quotient


def _divide(a: object, b: object) -> object:
    x, y = _numbers("/", a, b)
    if isinstance(x, int) and isinstance(y, int):
        return _int_result(_truncated(x, y))
    if y == 0:
        return math.copysign(math.inf, x) if x else math.nan
    return x / y


def _modulo(a: object, b: object) -> object:
    x, y = _numbers("%", a, b)
    if isinstance(x, int) and isinstance(y, int):
        return x - y * _truncated(x, y)
    return math.fmod(x, y) if y else math.nan


def member_of(item: object, collection: object) -> bool:
    """``item in collection``: list or set membership, or a map's key."""
    if isinstance(collection, PartialData):
        return isinstance(item, str) and collection.has(item)
    collection, item = known(collection), known(item)
    if isinstance(collection, list):
        return contains(collection, item)
    if isinstance(collection, RuleSet):
        return contains(collection.items, item)
    if isinstance(collection, dict):
        return isinstance(item, str) and item in collection
    raise EvalError(f"'in' needs a list, set or map, got {type_name(collection)}")


_ARITHMETIC: dict[str, Callable[[object, object], object]] = {
    "+": _add,
    "-": _subtract,
    "*": _multiply,
    "/": _divide,
    "%": _modulo,
}
_ORDER: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}


def binary(op: str, a: object, b: object) -> object:
    """Every binary operator but ``&&`` and ``||``."""
    if op == "in":
        return member_of(a, b)
    a, b = known(a), known(b)
    if op == "==":
        return equal(a, b)
    if op == "!=":
        return not equal(a, b)
    if op in _ORDER:
        return _ORDER[op](compare(a, b))
    return _ARITHMETIC[op](a, b)


def unary(op: str, value: object) -> object:
    value = known(value)
    if op == "!":
        if not isinstance(value, bool):
            raise EvalError(f"'!' needs a bool, got {type_name(value)}")
        return not value
    if isinstance(value, Duration):
        return Duration(-value.ns)
    if not is_number(value):
        raise EvalError(f"'-' needs a number, got {type_name(value)}")
    return _int_result(-value)  # type: ignore[operator]
