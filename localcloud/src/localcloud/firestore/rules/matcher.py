"""Which ``allow`` statements apply to a path: match blocks, nested, with ``{name}`` and
recursive ``{name=**}`` wildcards, and the scope (bound variables, functions) of each.

A path is a sequence of items: a segment string, ``UNKNOWN`` (a document id a query
does not fix) or ``ANY_PATH`` (the unknown parents of a collection group's documents).
Only a recursive wildcard can stand for ``ANY_PATH``; a literal segment cannot match an
unknown one, so a rule for one document never grants a query.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from localcloud.firestore.rules import ast
from localcloud.firestore.rules.evaluator import Scope
from localcloud.firestore.rules.runtime import UNKNOWN, RulePath

ANY_PATH: Any = type("AnyPath", (), {"__repr__": lambda self: "ANY_PATH"})()

_COVERS = {"read": {"get", "list"}, "write": {"create", "update", "delete"}}


@dataclass(frozen=True)
class Grant:
    """An ``allow`` that applies, with the scope its condition is evaluated in."""

    allow: ast.Allow
    scope: Scope


def covers(allow: ast.Allow, method: str) -> bool:
    return any(m == method or method in _COVERS.get(m, ()) for m in allow.methods)


def grants(ruleset: ast.Ruleset, path: Sequence[object], method: str, root: Scope) -> list[Grant]:
    """Every ``allow`` for ``method`` whose match block matches the whole ``path``."""
    top = Scope({}, {f.name: f for f in ruleset.functions}, root)
    found: list[Grant] = []
    for match in ruleset.matches:
        _visit(match, path, 0, top, method, ruleset.version, found)
    return found


def _visit(
    match: ast.Match,
    path: Sequence[object],
    start: int,
    parent: Scope,
    method: str,
    version: str,
    found: list[Grant],
) -> None:
    functions = {f.name: f for f in match.functions}
    for bindings, end in _bind(match.pattern, 0, path, start, {}, version):
        scope = Scope(bindings, functions, parent)
        if end == len(path):
            found.extend(Grant(a, scope) for a in match.allows if covers(a, method))
        for child in match.matches:
            _visit(child, path, end, scope, method, version, found)


def _bind(
    pattern: tuple[ast.Segment, ...],
    k: int,
    path: Sequence[object],
    i: int,
    bindings: dict[str, object],
    version: str,
) -> Iterator[tuple[dict[str, object], int]]:
    """Every way ``pattern[k:]`` matches a prefix of ``path[i:]``: the variables bound
    and where the match ends."""
    if k == len(pattern):
        yield dict(bindings), i
        return
    segment = pattern[k]
    if segment.kind == "recursive":
        # Version 2 matches zero or more segments, version 1 one or more.
        for j in range(i + (0 if version == "2" else 1), len(path) + 1):
            bound = {**bindings, segment.text: _path_value(path[i:j])}
            yield from _bind(pattern, k + 1, path, j, bound, version)
        return
    if i >= len(path) or path[i] is ANY_PATH:
        return
    item = path[i]
    if segment.kind == "literal":
        if item == segment.text:
            yield from _bind(pattern, k + 1, path, i + 1, bindings, version)
        return
    yield from _bind(pattern, k + 1, path, i + 1, {**bindings, segment.text: item}, version)


def _path_value(consumed: Sequence[object]) -> object:
    """A recursive wildcard's value: the path it matched, unknown if any part is."""
    if all(isinstance(s, str) for s in consumed):
        return RulePath(tuple(str(s) for s in consumed))
    return UNKNOWN
