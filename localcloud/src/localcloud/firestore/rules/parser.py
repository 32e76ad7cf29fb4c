"""Parsing a rules file: ``rules_version``, ``service cloud.firestore``, ``match`` blocks
with ``allow`` statements and ``function`` declarations (with ``let`` bindings)."""

from __future__ import annotations

import re

from localcloud.firestore.rules import ast
from localcloud.firestore.rules.expressions import ExpressionParser
from localcloud.firestore.rules.lexer import Lexer

METHODS = frozenset({"read", "get", "list", "write", "create", "update", "delete"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class RulesParser(ExpressionParser):
    """``RulesParser(source).ruleset()``; raises ``RulesSyntaxError`` with a position."""

    def __init__(self, source: str, name: str = "firestore.rules") -> None:
        super().__init__(Lexer(source, name))

    def ruleset(self) -> ast.Ruleset:
        first = self.lexer.peek()
        version = "1"
        if self.at("rules_version"):
            self.lexer.next()
            self.expect("=")
            token = self.lexer.next()
            if token.kind != "string" or token.value not in ("1", "2"):
                raise self.lexer.error_at(token, "rules_version must be '1' or '2'")
            version = str(token.value)
            self.expect(";")
        self.expect("service")
        service = self._dotted_name()
        if service != "cloud.firestore":
            raise self.lexer.error_at(first, f"unsupported service '{service}'")
        self.expect("{")
        functions, _, matches = self._body(allow_rules=False)
        end = self.lexer.next()
        if end.kind != "eof":
            raise self.lexer.error_at(end, f"unexpected '{end.text}' after the service block")
        return ast.Ruleset(first.line, first.column, version, functions, matches)

    def _dotted_name(self) -> str:
        parts = [self.identifier("a service name").text]
        while self.at("."):
            self.lexer.next()
            parts.append(self.identifier("a service name").text)
        return ".".join(parts)

    def _body(
        self, allow_rules: bool
    ) -> tuple[tuple[ast.Function, ...], tuple[ast.Allow, ...], tuple[ast.Match, ...]]:
        """Statements up to and including the closing brace of a block."""
        functions: list[ast.Function] = []
        allows: list[ast.Allow] = []
        matches: list[ast.Match] = []
        while not self.at("}"):
            token = self.lexer.peek()
            if self.at("function"):
                functions.append(self._function())
            elif self.at("match"):
                matches.append(self._match())
            elif self.at("allow") and allow_rules:
                allows.append(self._allow())
            else:
                found = "the end of the file" if token.kind == "eof" else f"'{token.text}'"
                raise self.lexer.error_at(token, f"expected a statement or '}}' but found {found}")
        self.lexer.next()
        return tuple(functions), tuple(allows), tuple(matches)

    def _match(self) -> ast.Match:
        keyword = self.lexer.next()
        text, offset = self.lexer.match_path()
        pattern = self._pattern(text, offset)
        self.expect("{")
        functions, allows, matches = self._body(allow_rules=True)
        return ast.Match(keyword.line, keyword.column, pattern, functions, allows, matches)

    def _pattern(self, text: str, offset: int) -> tuple[ast.Segment, ...]:
        segments: list[ast.Segment] = []
        pos = offset
        for raw in text.split("/")[1:]:
            pos += 1
            segments.append(self._segment(raw, pos))
            pos += len(raw)
        recursive = [i for i, s in enumerate(segments) if s.kind == "recursive"]
        if len(recursive) > 1:
            raise self.lexer.error("a path may hold only one recursive wildcard", offset)
        return tuple(segments)

    def _segment(self, raw: str, pos: int) -> ast.Segment:
        if not raw:
            raise self.lexer.error("empty path segment", pos)
        if not raw.startswith("{"):
            if "}" in raw:
                raise self.lexer.error(f"invalid path segment '{raw}'", pos)
            return ast.Segment("literal", raw)
        inner = raw[1:-1] if raw.endswith("}") else ""
        name, equals, stars = inner.partition("=")
        if not _NAME.fullmatch(name) or (equals and stars != "**"):
            raise self.lexer.error(f"invalid wildcard '{raw}': use {{name}} or {{name=**}}", pos)
        return ast.Segment("recursive" if equals else "single", name)

    def _allow(self) -> ast.Allow:
        keyword = self.lexer.next()
        methods = [self._method()]
        while self.at(","):
            self.lexer.next()
            methods.append(self._method())
        condition = None
        if self.at(":"):
            self.lexer.next()
            self.expect("if")
            condition = self.expression()
        self.expect(";")
        return ast.Allow(keyword.line, keyword.column, tuple(methods), condition)

    def _method(self) -> str:
        token = self.identifier("a method (read, get, list, write, create, update, delete)")
        if token.text not in METHODS:
            raise self.lexer.error_at(token, f"unknown method '{token.text}'")
        return token.text

    def _function(self) -> ast.Function:
        keyword = self.lexer.next()
        name = self.identifier("a function name").text
        self.expect("(")
        params: list[str] = []
        while not self.at(")"):
            params.append(self.identifier("a parameter name").text)
            if not self.at(")"):
                self.expect(",")
        self.lexer.next()
        self.expect("{")
        lets: list[tuple[str, ast.Expr]] = []
        while self.at("let"):
            self.lexer.next()
            let_name = self.identifier("a variable name").text
            self.expect("=")
            lets.append((let_name, self.expression()))
            self.expect(";")
        self.expect("return")
        body = self.expression()
        if self.at(";"):
            self.lexer.next()
        self.expect("}")
        return ast.Function(keyword.line, keyword.column, name, tuple(params), tuple(lets), body)


def parse(source: str, name: str = "firestore.rules") -> ast.Ruleset:
    """The syntax tree of ``source``; raises ``RulesSyntaxError`` (line and column)."""
    return RulesParser(source, name).ruleset()
