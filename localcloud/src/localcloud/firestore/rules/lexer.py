"""Tokens of the rules language, produced on demand so the parser can read raw paths.

Paths (``match /a/{b=**}`` and ``/databases/$(database)/documents/x`` in expressions)
are not token sequences: the parser asks the lexer for them where they may start.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from localcloud.firestore.rules.errors import RulesSyntaxError

_TWO_CHAR = ("&&", "||", "==", "!=", "<=", ">=")
_ONE_CHAR = "{}()[],;.:?!<>+-*/%="
_NUMBER = re.compile(r"\d+(\.\d+)?([eE][+-]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPACE = re.compile(r"(\s+|//[^\n]*|/\*.*?\*/)+", re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "/": "/"}
# A literal path segment in an expression: anything up to a separator or delimiter.
_PATH_SEGMENT = re.compile(r"[^/\s(){}\[\],;$]+")


@dataclass(frozen=True)
class Token:
    """``kind`` is ident, int, float, string, op or eof; ``value`` the literal's value."""

    kind: str
    text: str
    value: object
    line: int
    column: int


class Lexer:
    """A cursor over the source: ``peek``/``next`` tokens, or read a raw path."""

    def __init__(self, source: str, name: str = "firestore.rules") -> None:
        self.source = source
        self.name = name
        self.pos = 0
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self._peeked: Token | None = None

    # --- positions -------------------------------------------------------------------

    def position(self, pos: int) -> tuple[int, int]:
        """1-based line and column of an offset."""
        line = bisect.bisect_right(self._line_starts, pos)
        return line, pos - self._line_starts[line - 1] + 1

    def error(self, message: str, pos: int | None = None) -> RulesSyntaxError:
        line, column = self.position(self.pos if pos is None else pos)
        return RulesSyntaxError(message, line, column, self.name)

    def error_at(self, token: Token, message: str) -> RulesSyntaxError:
        return RulesSyntaxError(message, token.line, token.column, self.name)

    # --- tokens ----------------------------------------------------------------------

    def peek(self) -> Token:
        if self._peeked is None:
            self._peeked = self._scan()
        return self._peeked

    def next(self) -> Token:
        token = self.peek()
        self._peeked = None
        return token

    def _skip_space(self) -> None:
        m = _SPACE.match(self.source, self.pos)
        if m:
            self.pos = m.end()
        if self.source.startswith("/*", self.pos):
            raise self.error("unterminated comment")

    def _token(self, kind: str, start: int, value: object = None) -> Token:
        line, column = self.position(start)
        return Token(kind, self.source[start : self.pos], value, line, column)

    def _scan(self) -> Token:
        self._skip_space()
        start, src = self.pos, self.source
        if start >= len(src):
            return self._token("eof", start)
        if m := _IDENT.match(src, start):
            self.pos = m.end()
            return self._token("ident", start, m.group())
        if m := _NUMBER.match(src, start):
            self.pos = m.end()
            is_float = m.group(1) is not None or m.group(2) is not None
            return self._token("float" if is_float else "int", start, _number(m.group()))
        if src[start] in "'\"":
            return self._string(start)
        if src.startswith(_TWO_CHAR, start):
            self.pos += 2
            return self._token("op", start)
        if src[start] in _ONE_CHAR:
            self.pos += 1
            return self._token("op", start)
        raise self.error(f"unexpected character {src[start]!r}")

    def _string(self, start: int) -> Token:
        quote, src, out = self.source[start], self.source, []
        i = start + 1
        while i < len(src) and src[i] != quote:
            if src[i] == "\n":
                break
            if src[i] == "\\" and i + 1 < len(src):
                i, char = self._escape(i)
                out.append(char)
                continue
            out.append(src[i])
            i += 1
        if i >= len(src) or src[i] != quote:
            raise self.error("unterminated string", start)
        self.pos = i + 1
        return self._token("string", start, "".join(out))

    def _escape(self, i: int) -> tuple[int, str]:
        """The character an escape at ``i`` (a backslash) stands for, and where it ends."""
        code = self.source[i + 1]
        if code == "u":
            digits = self.source[i + 2 : i + 6]
            if not re.fullmatch(r"[0-9a-fA-F]{4}", digits):
                raise self.error("invalid \\u escape", i)
            return i + 6, chr(int(digits, 16))
        # Regular expressions keep their own escapes (\d, \.): only known ones are replaced.
        return i + 2, _ESCAPES.get(code, "\\" + code)

    # --- raw paths -------------------------------------------------------------------

    def match_path(self) -> tuple[str, int]:
        """The pattern after ``match``: ``/seg`` items, where ``{...}`` may hold anything
        but ``}``. Returns the text and its offset."""
        if self._peeked is not None:
            raise self.error_at(self._peeked, "internal: a token was peeked before a path")
        self._skip_space()
        start, src = self.pos, self.source
        if not src.startswith("/", start):
            raise self.error("expected a path starting with '/' after 'match'")
        while self.pos < len(src) and src[self.pos] == "/":
            self.pos += 1
            if src.startswith("{", self.pos):
                end = src.find("}", self.pos)
                if end < 0:
                    raise self.error("unterminated '{' in path")
                self.pos = end + 1
            else:
                m = re.compile(r"[^/{\s]*").match(src, self.pos)
                self.pos = m.end() if m else self.pos
        return src[start : self.pos], start

    def raw_char(self) -> str:
        """The character at the cursor (no token may be peeked), '' at the end."""
        return self.source[self.pos] if self.pos < len(self.source) else ""

    def raw_advance(self, n: int) -> None:
        self.pos += n

    def path_segment(self) -> str | None:
        """A literal path segment at the cursor, or None when there is none."""
        m = _PATH_SEGMENT.match(self.source, self.pos)
        if not m:
            return None
        self.pos = m.end()
        return m.group()


def _number(text: str) -> int | float:
    if re.fullmatch(r"\d+", text):
        return int(text)
    return float(text)
