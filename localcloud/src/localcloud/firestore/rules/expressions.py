"""Recursive-descent parsing of rule expressions, by precedence (lowest first):
``?:``, ``||``, ``&&``, ``== !=``, ``in is``, ``< <= > >=``, ``+ -``, ``* / %``, unary
``! -``, then member access, indexing and calls."""

from __future__ import annotations

from localcloud.firestore.rules import ast
from localcloud.firestore.rules.lexer import Lexer, Token

TYPE_NAMES = frozenset(
    {
        "bool",
        "bytes",
        "duration",
        "float",
        "int",
        "latlng",
        "list",
        "map",
        "map_diff",
        "null",
        "number",
        "path",
        "set",
        "string",
        "timestamp",
    }
)
_KEYWORD_LITERALS: dict[str, object] = {"true": True, "false": False, "null": None}
# Binary levels from ``||`` down to ``* / %``; ``in``/``is`` are handled at their level.
_LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",),
    ("&&",),
    ("==", "!="),
    ("in", "is"),
    ("<", "<=", ">", ">="),
    ("+", "-"),
    ("*", "/", "%"),
)


class ExpressionParser:
    """Parses expressions from a ``Lexer``; the statement parser builds on it."""

    def __init__(self, lexer: Lexer) -> None:
        self.lexer = lexer

    # --- token helpers -------------------------------------------------------------------

    def at(self, *texts: str) -> bool:
        token = self.lexer.peek()
        return token.kind in ("op", "ident") and token.text in texts

    def expect(self, text: str) -> Token:
        token = self.lexer.next()
        if token.kind not in ("op", "ident") or token.text != text:
            raise self.lexer.error_at(token, f"expected '{text}' but found {_shown(token)}")
        return token

    def identifier(self, what: str = "a name") -> Token:
        token = self.lexer.next()
        if token.kind != "ident":
            raise self.lexer.error_at(token, f"expected {what} but found {_shown(token)}")
        return token

    # --- expressions ---------------------------------------------------------------------

    def expression(self) -> ast.Expr:
        condition = self._binary(0)
        if not self.at("?"):
            return condition
        self.lexer.next()
        then = self.expression()
        self.expect(":")
        otherwise = self.expression()
        return ast.Ternary(condition.line, condition.column, condition, then, otherwise)

    def _binary(self, level: int) -> ast.Expr:
        if level == len(_LEVELS):
            return self._unary()
        left = self._binary(level + 1)
        while self.at(*_LEVELS[level]):
            op = self.lexer.next()
            if op.text == "is":
                type_name = self.identifier("a type name")
                if type_name.text not in TYPE_NAMES:
                    raise self.lexer.error_at(type_name, f"unknown type '{type_name.text}'")
                left = ast.TypeCheck(op.line, op.column, left, type_name.text)
                continue
            right = self._binary(level + 1)
            left = ast.Binary(op.line, op.column, op.text, left, right)
        return left

    def _unary(self) -> ast.Expr:
        if self.at("!", "-"):
            op = self.lexer.next()
            return ast.Unary(op.line, op.column, op.text, self._unary())
        return self._postfix(self._primary())

    def _postfix(self, expr: ast.Expr) -> ast.Expr:
        while True:
            if self.at("."):
                dot = self.lexer.next()
                name = self.identifier("a field or method name")
                expr = ast.Member(dot.line, dot.column, expr, name.text)
            elif self.at("["):
                expr = self._index(expr)
            elif self.at("("):
                paren = self.lexer.next()
                expr = ast.Call(paren.line, paren.column, expr, self._items(")"))
            else:
                return expr

    def _index(self, target: ast.Expr) -> ast.Expr:
        bracket = self.lexer.next()
        index = self.expression()
        if self.at(":"):
            self.lexer.next()
            end = self.expression()
            self.expect("]")
            return ast.Slice(bracket.line, bracket.column, target, index, end)
        self.expect("]")
        return ast.Index(bracket.line, bracket.column, target, index)

    def _items(self, closing: str) -> tuple[ast.Expr, ...]:
        items: list[ast.Expr] = []
        while not self.at(closing):
            items.append(self.expression())
            if not self.at(closing):
                self.expect(",")
        self.lexer.next()
        return tuple(items)

    def _primary(self) -> ast.Expr:
        token = self.lexer.peek()
        if token.kind in ("int", "float", "string"):
            self.lexer.next()
            return ast.Literal(token.line, token.column, token.value)
        if token.kind == "ident":
            self.lexer.next()
            if token.text in _KEYWORD_LITERALS:
                return ast.Literal(token.line, token.column, _KEYWORD_LITERALS[token.text])
            return ast.Name(token.line, token.column, token.text)
        if self.at("("):
            self.lexer.next()
            inner = self.expression()
            self.expect(")")
            return inner
        if self.at("["):
            self.lexer.next()
            return ast.ListLit(token.line, token.column, self._items("]"))
        if self.at("{"):
            return self._map()
        if self.at("/"):
            return self._path()
        raise self.lexer.error_at(token, f"expected an expression but found {_shown(token)}")

    def _map(self) -> ast.Expr:
        brace = self.lexer.next()
        entries: list[tuple[ast.Expr, ast.Expr]] = []
        while not self.at("}"):
            key = self.expression()
            self.expect(":")
            entries.append((key, self.expression()))
            if not self.at("}"):
                self.expect(",")
        self.lexer.next()
        return ast.MapLit(brace.line, brace.column, tuple(entries))

    def _path(self) -> ast.Expr:
        """``/a/$(expr)/b``: the lexer reads literal segments; ``$(`` starts an expression."""
        slash = self.lexer.next()
        segments: list[str | ast.Expr] = []
        while True:
            if self.lexer.source.startswith("$(", self.lexer.pos):
                self.lexer.raw_advance(2)
                segments.append(self.expression())
                self.expect(")")
            else:
                literal = self.lexer.path_segment()
                if literal is None:
                    raise self.lexer.error("expected a path segment after '/'")
                segments.append(literal)
            if self.lexer.raw_char() != "/":
                return ast.PathLit(slash.line, slash.column, tuple(segments))
            self.lexer.raw_advance(1)


def _shown(token: Token) -> str:
    return "the end of the file" if token.kind == "eof" else f"'{token.text}'"
