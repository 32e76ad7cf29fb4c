"""The rules engine without a server: parsing (with error positions), operators and
methods, functions with ``let``, error tolerance of ``&&``/``||``, wildcards."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.firestore.rules import Rules, RulesSyntaxError
from localcloud.firestore.rules.errors import EvalError
from localcloud.firestore.rules.evaluator import Documents, Evaluator, Scope
from localcloud.firestore.rules.expressions import ExpressionParser
from localcloud.firestore.rules.lexer import Lexer
from localcloud.firestore.rules.runtime import RulePath, RuleSet, Timestamp

NOW = Timestamp(1_700_000_000 * 10**9)


def evaluate(source: str, docs: dict[str, dict[str, Any]] | None = None, **names: Any) -> Any:
    """The value of one expression, with ``names`` bound and ``docs`` for get()."""
    expr = ExpressionParser(Lexer(source)).expression()
    stored = docs or {}

    def read(path: RulePath) -> dict[str, object] | None:
        key = "/".join(path.segments[3:])
        return {"data": stored[key], "id": key.rsplit("/", 1)[-1]} if key in stored else None

    scope = Scope({"request": {"time": NOW}, **names})
    value = Evaluator(Documents("db", read)).eval(expr, scope)
    return sorted(value.items) if isinstance(value, RuleSet) else value


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3),
        ("-7 / 2", -3),
        ("-7 % 3", -1),
        ("7.0 / 2", 3.5),
        ("'a' + 'b'", "ab"),
        ("[1] + [2]", [1, 2]),
        ("1 == 1.0", True),
        ("1 == true", False),
        ("[1, {'a': 2}] == [1.0, {'a': 2}]", True),
        ("3 > 2 == true", True),
        ("1 + 2 in [3]", True),
        ("!(1 < 2) || 2 <= 2", True),
        ("true ? 'yes' : 'no'", "yes"),
        ("'b' > 'a' && 'a' < 'ab'", True),
        ("2 in [1, 2]", True),
        ("'a' in {'a': 1}", True),
        ("'b' in {'a': 1}", False),
        ("1 != 2", True),
    ],
)
def test_operators(source: str, expected: Any) -> None:
    """Arithmetic (integer division truncates), strict typed equality, precedence."""
    assert expected == evaluate(source)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 is int && 1.5 is float && 1 is number && 1.5 is number", True),
        ("'x' is string && true is bool && null is null && [1] is list && {} is map", True),
        ("request.time is timestamp && duration.value(1, 's') is duration", True),
        ("/databases/x/documents/a/b is path && [1].toSet() is set", True),
        ("1 is string || 'x' is int || 1 is float", False),
    ],
)
def test_type_checks(source: str, expected: bool) -> None:
    """``is`` with every type name rules use."""
    assert expected == evaluate(source)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("'abc'.size()", 3),
        ("'abc'.matches('a.c')", True),
        ("'abc'.matches('b')", False),
        ("'a@b.com'.matches('^[^@]+@[^@]+$')", True),
        ("'a,b'.split(',')", ["a", "b"]),
        ("'AbC'.lower() + 'x'.upper()", "abcX"),
        ("'abc'[1] + 'abcd'[1:3]", "bbc"),
        ("[1, 2, 3].hasAll([1, 2]) && ![1, 2].hasAny([3])", True),
        ("['a', 'b'].hasOnly(['a', 'b', 'c']) && !['a', 'd'].hasOnly(['a'])", True),
        ("[1, 2, 3][1:3]", [2, 3]),
        ("[1, 2, 2].toSet().size()", 2),
        ("['a', 'b'].join('-')", "a-b"),
        ("[1, 2, 3].removeAll([2])", [1, 3]),
        ("{'a': 1, 'b': 2}.keys()", ["a", "b"]),
        ("{'a': 1}.values()", [1]),
        ("{'a': 1}.size()", 1),
        ("{'a': 1}.get('b', 0)", 0),
        ("{'a': {'b': 1}}.get(['a', 'b'], 0)", 1),
        ("{'a': 1, 'b': 2}.diff({'a': 1, 'c': 3}).affectedKeys()", ["b", "c"]),
        ("{'a': 1, 'b': 2}.diff({'a': 0, 'c': 3}).addedKeys()", ["b"]),
        ("{'a': 1, 'b': 2}.diff({'a': 0, 'c': 3}).removedKeys()", ["c"]),
        ("{'a': 1, 'b': 2}.diff({'a': 0, 'b': 2}).changedKeys()", ["a"]),
        ("{'a': 1, 'b': 2}.diff({'a': 0, 'b': 2}).unchangedKeys()", ["b"]),
        ("['a', 'b'].toSet().union(['c'].toSet()).size()", 3),
        ("['a', 'b'].toSet().difference(['a']) == ['b'].toSet()", True),
    ],
)
def test_methods(source: str, expected: Any) -> None:
    """String, list, map, set and map-diff methods (sets shown sorted)."""
    assert expected == evaluate(source)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("duration.value(1, 'd') == duration.value(24, 'h')", True),
        ("duration.value(90, 's').seconds()", 90),
        ("request.time + duration.value(1, 's') > request.time", True),
        ("request.time - duration.value(1, 'h') < request.time", True),
        ("(request.time - timestamp.value(0)).seconds()", 1_700_000_000),
        ("timestamp.date(2024, 3, 5).toMillis()", 1_709_596_800_000),
        ("timestamp.date(2024, 3, 5).month() * 100 + timestamp.date(2024, 3, 5).day()", 305),
        ("request.time.year()", 2023),
        ("math.abs(-3) + math.floor(1.5) + math.ceil(1.5)", 6),
        ("int('42') + int(1.9)", 43),
        ("string(1) + string(true) + string(null)", "1truenull"),
        ("float(1) is float", True),
    ],
)
def test_time_and_builtins(source: str, expected: Any) -> None:
    """Timestamps, durations and the global functions."""
    assert expected == evaluate(source)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("missing.field == 1 || true", True),
        ("true || missing.field == 1", True),
        ("{}.nope == 1 && false", False),
        ("false && {}.nope == 1", False),
        ("('a' + 1 == 'a1') || 1 == 1", True),
    ],
)
def test_errors_are_tolerated_where_the_other_side_decides(source: str, expected: bool) -> None:
    """``error || true`` is true and ``error && false`` false, as in Firestore."""
    assert expected == evaluate(source)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{}.nope == 1 || false", "Property nope is undefined on object."),
        ("{'a': 1}.b", "Property b is undefined on object."),
        ("null.x", "Null value error."),
        ("'a' + 1", "cannot add string and int"),
        ("1 / 0", "division by zero"),
        ("'a' < 1", "cannot compare string with int"),
        ("[1].nope()", "Function not found error: Name: [nope] on list."),
        ("1 && true", "a condition must be a bool, got int"),
    ],
)
def test_errors(source: str, message: str) -> None:
    """Undefined fields, null values, wrong types: errors with the rules' messages."""
    with pytest.raises(EvalError) as raised:
        evaluate(source)
    assert message == raised.value.message


def test_error_position_is_the_innermost_expression() -> None:
    """An error points at the expression that failed, for the denial message."""
    with pytest.raises(EvalError) as raised:
        evaluate("1 == 1 &&\n  {'a': 1}.b == 2")
    assert (2, 11) == (raised.value.line, raised.value.column)


@pytest.mark.parametrize(
    ("source", "position", "message"),
    [
        (
            "service cloud.firestore {\n  match /a/{b} {\n    allow read: if true\n  }\n}",
            (4, 3),
            "expected ';' but found '}'",
        ),
        (
            "service cloud.firestore {\n  match /a {\n    allow reed: if true;\n  }\n}",
            (3, 11),
            "unknown method 'reed'",
        ),
        (
            "service cloud.firestore {\n  match /a/{b=*} {\n  }\n}",
            (2, 12),
            "invalid wildcard '{b=*}': use {name} or {name=**}",
        ),
        (
            "service cloud.firestore {\n  match /a {\n    allow read: if 'open;\n  }\n}",
            (3, 20),
            "unterminated string",
        ),
        (
            "service cloud.firestore {\n  match /a {\n    allow read: if 1 +;\n  }\n}",
            (3, 23),
            "expected an expression but found ';'",
        ),
        (
            "service cloud.firestore {\n  match /a {\n    allow read: if x is strin;\n",
            (3, 25),
            "unknown type 'strin'",
        ),
        ("rules_version = '3';", (1, 17), "rules_version must be '1' or '2'"),
        (
            "service cloud.firestore {\n  match /a {}\n",
            (3, 1),
            "expected a statement or '}' but found the end of the file",
        ),
    ],
)
def test_syntax_errors_name_line_and_column(
    source: str, position: tuple[int, int], message: str
) -> None:
    """Every syntax error reports where it is, as ``file:line:column: message``."""
    with pytest.raises(RulesSyntaxError) as raised:
        Rules.parse(source, "test.rules")
    assert (position, message) == ((raised.value.line, raised.value.column), raised.value.message)
    assert f"test.rules:{position[0]}:{position[1]}: {message}" == str(raised.value)


def test_comments_and_both_quote_styles_parse() -> None:
    """Line and block comments are skipped; strings take either quote and escapes."""
    rules = Rules.parse(
        '// head\nrules_version = "2"; /* block\n comment */\n'
        "service cloud.firestore { match /a/{b} { allow get: if b == 'it\\'s'; } }"
    )
    assert ("2", 1) == (rules.ruleset.version, len(rules.ruleset.matches))
