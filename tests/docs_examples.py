"""The HTTP exchanges the docs show (``docs/examples/<guide>/*.http``), parsed and checked.

Each file is one exchange as it goes over the wire under ``make serve``: the request
(``POST /lead_intake?key=... HTTP/1.1``, headers, a blank line, the body), then the answer
from its ``HTTP/1.1 <status>`` line on (headers the docs care about, a blank line, the
body). In the answer, ``<...>`` stands for any value and ``<name>`` for a value kept under
that name: the first time it is taken from the answer, later answers must repeat it and
later requests send it (a referral code made by one call and redeemed by the next). A JSON
object with a ``"..."`` key may have more keys than shown, a JSON list ending in ``"..."``
more items, and a line ``...`` in a text body stands for any lines. Requests may say
``$TOKEN`` (the demo admin's ID token), ``$MANAGER_TOKEN`` or ``$USER_TOKEN``, and
``<next_week>`` (a Tuesday 09:00 within the next two weeks: bookings and schedules must
lie ahead whenever the tests run) or ``<today>``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
_STATUS_LINE = re.compile(r"^HTTP/1\.1 (\d{3})\b.*$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"<(\.\.\.|[a-z][a-z0-9_]*)>")


@dataclass
class Message:
    """The request's start line or the answer's status, its headers and its body."""

    start: str
    headers: dict[str, str]
    body: str


@dataclass
class Exchange:
    path: Path
    request: Message
    response: Message

    @property
    def status(self) -> int:
        return int(self.response.start.split()[1])


def _message(text: str) -> Message:
    head, _, body = text.strip("\n").partition("\n\n")
    start, *lines = head.splitlines()
    headers = dict(line.split(": ", 1) for line in lines)
    return Message(start, headers, body.strip("\n"))


def parse(path: Path) -> Exchange:
    """The exchange in ``path``; the answer starts at the first ``HTTP/1.1`` line."""
    text = path.read_text(encoding="utf-8")
    found = _STATUS_LINE.search(text)
    assert found, f"{path}: no 'HTTP/1.1 <status>' line"
    return Exchange(path, _message(text[: found.start()]), _message(text[found.start() :]))


def scenarios() -> list[Path]:
    """The guides' example folders: each one runs in order on a fresh project."""
    return sorted(p for p in EXAMPLES.iterdir() if p.is_dir())


@dataclass
class Matcher:
    """Compares answers with the documented ones, keeping the ``<name>`` values."""

    kept: dict[str, str] = field(default_factory=dict)

    def fill(self, text: str) -> str:
        """``text`` with every kept ``<name>`` replaced by its value."""
        return _PLACEHOLDER.sub(lambda m: self.kept.get(m.group(1), m.group(0)), text)

    def text(self, expected: str, actual: str) -> bool:
        """Whether ``actual`` is ``expected`` with its placeholders and ``...`` lines."""
        parts, names = [], []
        for line_no, line in enumerate(expected.split("\n")):
            sep = "\n" if line_no else ""
            if line == "...":
                parts.append(f"(?:{sep}.*)?")
                continue
            parts.append(re.escape(sep))
            parts.append(self._line_pattern(line, names))
        found = re.fullmatch("".join(parts), actual, re.DOTALL)
        if found is None:
            return False
        return self._keep(found.groups(), names)

    def _line_pattern(self, line: str, names: list[str]) -> str:
        pattern, last = [], 0
        for m in _PLACEHOLDER.finditer(line):
            pattern.append(re.escape(line[last : m.start()]))
            name = m.group(1)
            if name == "...":
                pattern.append(".*?")
            elif name in self.kept:
                pattern.append(re.escape(self.kept[name]))
            else:
                names.append(name)
                pattern.append("(.*?)")
            last = m.end()
        pattern.append(re.escape(line[last:]))
        return "".join(pattern)

    def _keep(self, values: tuple[str | Any, ...], names: list[str]) -> bool:
        for name, value in zip(names, values, strict=True):
            if self.kept.setdefault(name, value) != value:
                return False  # one name twice in an answer, with two values
        return True

    def json(self, expected: Any, actual: Any) -> bool:
        """Whether the JSON value ``actual`` is what ``expected`` documents."""
        if isinstance(expected, dict):
            return self._object(expected, actual)
        if isinstance(expected, list):
            return self._list(expected, actual)
        if isinstance(expected, str) and _PLACEHOLDER.search(expected):
            shown = actual if isinstance(actual, str) else json.dumps(actual)
            return self.text(expected, shown)
        return type(expected) is type(actual) and expected == actual

    def _object(self, expected: dict[str, Any], actual: Any) -> bool:
        if not isinstance(actual, dict):
            return False
        shown = {k: v for k, v in expected.items() if k != "..."}
        if set(shown) - set(actual) or ("..." not in expected and set(actual) - set(shown)):
            return False
        return all(self.json(v, actual[k]) for k, v in shown.items())

    def _list(self, expected: list[Any], actual: Any) -> bool:
        if not isinstance(actual, list):
            return False
        more = bool(expected) and expected[-1] == "..."
        shown = expected[:-1] if more else expected
        if len(actual) < len(shown) or (not more and len(actual) != len(shown)):
            return False
        return all(self.json(e, a) for e, a in zip(shown, actual, strict=False))
