"""The syntax tree of a rules file: expressions and the statements that hold them.

Every node keeps the line and column where it starts, for error messages.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Node:
    line: int
    column: int


# --- expressions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Expr(Node):
    pass


@dataclass(frozen=True)
class Literal(Expr):
    value: object


@dataclass(frozen=True)
class Name(Expr):
    name: str


@dataclass(frozen=True)
class Member(Expr):
    target: Expr
    name: str


@dataclass(frozen=True)
class Index(Expr):
    target: Expr
    index: Expr


@dataclass(frozen=True)
class Slice(Expr):
    target: Expr
    start: Expr
    end: Expr


@dataclass(frozen=True)
class Call(Expr):
    """``f(args)`` (``function`` is a Name) or ``x.m(args)`` (a Member)."""

    function: Expr
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Unary(Expr):
    op: str
    operand: Expr


@dataclass(frozen=True)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class TypeCheck(Expr):
    """``operand is type_name``."""

    operand: Expr
    type_name: str


@dataclass(frozen=True)
class Ternary(Expr):
    condition: Expr
    then: Expr
    otherwise: Expr


@dataclass(frozen=True)
class ListLit(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class MapLit(Expr):
    entries: tuple[tuple[Expr, Expr], ...]


@dataclass(frozen=True)
class PathLit(Expr):
    """``/databases/$(database)/documents/x``: literal segments and ``$(expr)`` ones."""

    segments: tuple[str | Expr, ...]


# --- statements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Function(Node):
    name: str
    params: tuple[str, ...]
    lets: tuple[tuple[str, Expr], ...]
    body: Expr


@dataclass(frozen=True)
class Allow(Node):
    """``allow read, update: if condition;`` (no condition: always)."""

    methods: tuple[str, ...]
    condition: Expr | None


@dataclass(frozen=True)
class Segment:
    """One item of a match pattern: a literal, ``{name}`` or ``{name=**}``."""

    kind: str  # "literal", "single" or "recursive"
    text: str


@dataclass(frozen=True)
class Match(Node):
    pattern: tuple[Segment, ...]
    functions: tuple[Function, ...]
    allows: tuple[Allow, ...]
    matches: tuple[Match, ...]


@dataclass(frozen=True)
class Ruleset(Node):
    version: str
    functions: tuple[Function, ...]
    matches: tuple[Match, ...]
