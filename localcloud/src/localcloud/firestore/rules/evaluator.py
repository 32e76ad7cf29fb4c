"""Evaluating rule expressions in a scope: path variables, function calls (with ``let``),
``get()``/``exists()`` on other documents, and the error semantics of conditions.

An error (a missing field, a wrong type, a value a query leaves open) makes a condition
not true; ``&&`` and ``||`` tolerate an error on one side when the other side decides
(``error || true`` is true, ``error && false`` is false), as in Firestore.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from localcloud.firestore.rules import ast
from localcloud.firestore.rules.builtins import GLOBALS, NAMESPACES
from localcloud.firestore.rules.errors import EvalError
from localcloud.firestore.rules.methods import call_method
from localcloud.firestore.rules.operators import binary, unary
from localcloud.firestore.rules.runtime import (
    UNKNOWN,
    PartialData,
    RulePath,
    is_type,
    known,
    type_name,
)

MAX_CALL_DEPTH = 20
MAX_DOCUMENT_READS = 20
# ``get(path)``: the document's resource map, or None when it does not exist.
Reader = Callable[[RulePath], dict[str, object] | None]


@dataclass
class Scope:
    """Variables and functions of one block (a match, a function call), innermost first."""

    variables: dict[str, object]
    functions: dict[str, ast.Function] = field(default_factory=dict)
    parent: Scope | None = None

    def lookup(self, name: str) -> object:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.variables:
                return scope.variables[name]
            scope = scope.parent
        raise EvalError(f"Variable is not bound in path template: {name}")

    def function(self, name: str) -> tuple[ast.Function, Scope] | None:
        """The function and the scope it was declared in (its body sees that scope)."""
        scope: Scope | None = self
        while scope is not None:
            if name in scope.functions:
                return scope.functions[name], scope
            scope = scope.parent
        return None


@dataclass
class Documents:
    """Reads for ``get``/``exists`` (before the request) and ``getAfter``/``existsAfter``
    (as the request's writes would leave them), cached and counted per request."""

    database: str
    before: Reader
    after: Reader | None = None
    _cache: dict[tuple[bool, RulePath], dict[str, object] | None] = field(default_factory=dict)

    def read(self, path: object, after: bool) -> dict[str, object] | None:
        path = known(path)
        if not isinstance(path, RulePath):
            raise EvalError(f"get() and exists() need a path, got {type_name(path)}")
        for segment in path.segments:
            known(segment)
        segs = path.segments
        is_document = len(segs) >= 5 and len(segs) % 2 == 1
        if not is_document or segs[0] != "databases" or segs[2] != "documents":
            raise EvalError(f"{path} is not a document path (/databases/$(database)/documents/..)")
        key = (after, path)
        if key not in self._cache:
            if len(self._cache) >= MAX_DOCUMENT_READS:
                raise EvalError("Exceeded maximum number of document access calls.")
            reader = self.after if after and self.after is not None else self.before
            self._cache[key] = reader(path)
        return self._cache[key]


class Evaluator:
    """Evaluates expressions for one request; ``condition`` is what ``allow`` checks."""

    def __init__(self, documents: Documents) -> None:
        self.documents = documents
        self._depth = 0

    def condition(self, expr: ast.Expr, scope: Scope) -> bool:
        value = known(self.eval(expr, scope))
        if not isinstance(value, bool):
            raise EvalError(f"a condition must be a bool, got {type_name(value)}").at(
                expr.line, expr.column
            )
        return value

    def eval(self, expr: ast.Expr, scope: Scope) -> object:
        try:
            return self._dispatch(expr, scope)
        except EvalError as err:
            raise err.at(expr.line, expr.column) from None
        except (ValueError, OverflowError, ZeroDivisionError, RecursionError) as err:
            raise EvalError(str(err), expr.line, expr.column) from None

    def _dispatch(self, expr: ast.Expr, scope: Scope) -> object:
        if isinstance(expr, ast.Literal):
            return expr.value
        if isinstance(expr, ast.Name):
            return self._name(expr.name, scope)
        if isinstance(expr, ast.Member):
            return self._member(self.eval(expr.target, scope), expr.name)
        if isinstance(expr, ast.Binary):
            return self._binary(expr, scope)
        if isinstance(expr, ast.Unary):
            return unary(expr.op, self.eval(expr.operand, scope))
        if isinstance(expr, ast.Call):
            return self._call(expr, scope)
        if isinstance(expr, ast.Ternary):
            chosen = expr.then if self.condition(expr.condition, scope) else expr.otherwise
            return self.eval(chosen, scope)
        if isinstance(expr, ast.TypeCheck):
            return is_type(known(self.eval(expr.operand, scope)), expr.type_name)
        if isinstance(expr, ast.Index):
            return self._index(self.eval(expr.target, scope), self.eval(expr.index, scope))
        if isinstance(expr, ast.Slice):
            return self._slice(expr, scope)
        if isinstance(expr, ast.ListLit):
            return [known(self.eval(item, scope)) for item in expr.items]
        if isinstance(expr, ast.MapLit):
            return self._map(expr, scope)
        if isinstance(expr, ast.PathLit):
            return self._path(expr, scope)
        raise EvalError(f"unsupported expression {type(expr).__name__}")

    @staticmethod
    def _name(name: str, scope: Scope) -> object:
        value = scope.lookup(name)
        return known(value) if value is UNKNOWN else value

    @staticmethod
    def _member(target: object, name: str) -> object:
        if isinstance(target, PartialData):
            return target.field(name)
        target = known(target)
        if target is None:
            raise EvalError("Null value error.")
        if not isinstance(target, dict):
            raise EvalError(f"{type_name(target)} has no property '{name}'")
        if name not in target:
            raise EvalError(f"Property {name} is undefined on object.")
        return known(target[name]) if target[name] is UNKNOWN else target[name]

    def _binary(self, expr: ast.Binary, scope: Scope) -> object:
        if expr.op not in ("&&", "||"):
            return binary(expr.op, self.eval(expr.left, scope), self.eval(expr.right, scope))
        decisive = expr.op == "||"  # the value of one side that decides the whole
        try:
            if self.condition(expr.left, scope) is decisive:
                return decisive
        except EvalError:
            if self.condition(expr.right, scope) is decisive:
                return decisive
            raise
        return self.condition(expr.right, scope)

    @staticmethod
    def _index(target: object, index: object) -> object:
        if isinstance(target, PartialData) and isinstance(index, str):
            return target.field(index)
        target, index = known(target), known(index)
        if isinstance(target, dict):
            if not isinstance(index, str) or index not in target:
                raise EvalError(f"Property {index} is undefined on object.")
            return target[index]
        if isinstance(target, list | str | RulePath) and isinstance(index, int):
            items = target.segments if isinstance(target, RulePath) else target
            if not 0 <= index < len(items):
                raise EvalError(f"Index {index} out of range.")
            return items[index]
        raise EvalError(f"cannot index {type_name(target)} with {type_name(index)}")

    def _slice(self, expr: ast.Slice, scope: Scope) -> object:
        target = known(self.eval(expr.target, scope))
        start, end = (known(self.eval(e, scope)) for e in (expr.start, expr.end))
        if not isinstance(target, list | str) or not (
            isinstance(start, int) and isinstance(end, int)
        ):
            raise EvalError("a range needs a list or string and two ints")
        return target[start:end]

    def _map(self, expr: ast.MapLit, scope: Scope) -> dict[str, object]:
        result: dict[str, object] = {}
        for key_expr, value_expr in expr.entries:
            key = known(self.eval(key_expr, scope))
            if not isinstance(key, str):
                raise EvalError("map keys are strings")
            result[key] = known(self.eval(value_expr, scope))
        return result

    def _path(self, expr: ast.PathLit, scope: Scope) -> RulePath:
        segments: list[str] = []
        for part in expr.segments:
            if isinstance(part, str):
                segments.append(part)
                continue
            value = known(self.eval(part, scope))
            if isinstance(value, RulePath):
                segments.extend(value.segments)
            elif isinstance(value, str | int) and not isinstance(value, bool):
                segments.append(str(value))
            else:
                raise EvalError(f"cannot put {type_name(value)} in a path")
        return RulePath(tuple(segments))

    # --- calls -----------------------------------------------------------------------

    def _call(self, expr: ast.Call, scope: Scope) -> object:
        func = expr.function
        if isinstance(func, ast.Name):
            return self._call_function(func.name, expr.args, scope)
        if not isinstance(func, ast.Member):
            raise EvalError("only functions and methods can be called")
        namespace = func.target.name if isinstance(func.target, ast.Name) else None
        if namespace in NAMESPACES and not _bound(namespace, scope):
            builtin = NAMESPACES[namespace].get(func.name)
            if builtin is None:
                raise EvalError(f"Function not found error: Name: [{namespace}.{func.name}].")
            return _apply(builtin, [known(self.eval(a, scope)) for a in expr.args])
        target = self.eval(func.target, scope)
        return call_method(target, func.name, [self.eval(a, scope) for a in expr.args])

    def _call_function(self, name: str, args: tuple[ast.Expr, ...], scope: Scope) -> object:
        found = scope.function(name)
        if found is None:
            return self._call_builtin(name, args, scope)
        function, declared_in = found
        if len(args) != len(function.params):
            raise EvalError(f"{name}() takes {len(function.params)} arguments, got {len(args)}")
        if self._depth >= MAX_CALL_DEPTH:
            raise EvalError("Maximum function call depth exceeded.")
        values = [self.eval(a, scope) for a in args]
        body_scope = Scope(dict(zip(function.params, values, strict=True)), {}, declared_in)
        self._depth += 1
        try:
            for let_name, let_expr in function.lets:
                body_scope.variables[let_name] = self.eval(let_expr, body_scope)
            return self.eval(function.body, body_scope)
        finally:
            self._depth -= 1

    def _call_builtin(self, name: str, args: tuple[ast.Expr, ...], scope: Scope) -> object:
        values = [known(self.eval(a, scope)) for a in args]
        if name in ("get", "exists", "getAfter", "existsAfter") and len(values) == 1:
            doc = self.documents.read(values[0], after=name.endswith("After"))
            return doc is not None if name.startswith("exists") else doc
        if name in GLOBALS:
            return _apply(GLOBALS[name], values)
        raise EvalError(f"Function not found error: Name: [{name}].")


def _bound(name: str, scope: Scope) -> bool:
    try:
        scope.lookup(name)
    except EvalError:
        return False
    return True


def _apply(builtin: Callable[..., object], values: list[object]) -> object:
    try:
        return builtin(*values)
    except TypeError as err:
        raise EvalError(f"wrong arguments: {err}") from err
