"""The compile cache (shared/compile_cache.py): what it serves is what the compiler makes.

Each test records in this process, then installs the recording and compiles again with re's
own cache purged, so the second compile goes through the installed cache.
"""

from __future__ import annotations

import collections
import dataclasses
import importlib
import marshal
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import compile_cache
from shared.compile_cache import HEADER, install, recording, stats, uninstall

re_compiler: Any = importlib.import_module("re._compiler")

PATTERNS: list[tuple[str | bytes, int]] = [
    (r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$", 0),
    (r"(?P<year>\d{4})-(?P<month>\d\d)(?:-(?P<day>\d\d))?", 0),
    ("\\s+ # spaces\n | [a-z]+ # words", re.VERBOSE | re.IGNORECASE),
    (r"(?<=@)\w+(?!\.)", re.ASCII),
    (rb"[\x00-\x1f]+|\xff", 0),
    (r"ünïcødé|\N{SNOWMAN}", re.IGNORECASE),
    (r"^a.*b$", re.MULTILINE | re.DOTALL),
]


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    """No cache installed before or after, and re's own cache empty."""
    uninstall()
    re.purge()
    yield
    uninstall()
    re.purge()


def compile_all(patterns: list[tuple[str | bytes, int]]) -> list[re.Pattern[Any]]:
    re.purge()
    return [re.compile(pattern, flags) for pattern, flags in patterns]


def installed(tmp_path: Path, recorded: compile_cache.Recording) -> None:
    path = tmp_path / "compile.cache"
    path.write_bytes(recorded.dumps())
    assert install(path)


def test_cached_patterns_are_the_programs_re_compiles(tmp_path: Path) -> None:
    """Every pattern comes back equal (same pattern, flags and program: re's equality)
    and matching alike, and every one was a hit."""
    with recording() as recorded:
        expected = compile_all(PATTERNS)
    assert len(PATTERNS) == len(recorded.regexes)
    installed(tmp_path, recorded)
    served = compile_all(PATTERNS)
    assert expected == served
    assert {"hits": len(PATTERNS), "misses": 0} == stats()
    assert served[1].match("2026-12-03").groupdict() == {"year": "2026", "month": "12", "day": "03"}
    assert served[2].findall("Hello  world") == ["Hello", "  ", "world"]
    assert served[4].findall(b"a\x01\x02b\xff") == [b"\x01\x02", b"\xff"]


def test_a_pattern_not_in_the_cache_is_compiled_as_usual(tmp_path: Path) -> None:
    with recording() as recorded:
        compile_all(PATTERNS[:1])
    installed(tmp_path, recorded)
    assert re.compile(r"x(y+)z").fullmatch("xyyz").group(1) == "yy"  # type: ignore[union-attr]
    assert {"hits": 0, "misses": 1} == stats()


def test_the_same_pattern_with_other_flags_is_not_served(tmp_path: Path) -> None:
    """Flags are part of the key: IGNORECASE compiles another program."""
    with recording() as recorded:
        compile_all([("abc", 0)])
    installed(tmp_path, recorded)
    assert re.compile("abc", re.IGNORECASE).match("ABC")
    assert {"hits": 0, "misses": 1} == stats()


def test_debug_patterns_are_not_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    """re.DEBUG prints the program as it compiles, so it must never come from a cache."""
    with recording() as recorded:
        re.compile("a+b", re.DEBUG)
    assert "LITERAL" in capsys.readouterr().out
    assert {} == recorded.regexes


def make_point_class() -> Any:
    @dataclasses.dataclass(frozen=True, order=True)
    class Point:
        x: int
        y: int = 0
        tags: tuple[str, ...] = ()

    return Point


def test_dataclass_methods_come_from_the_cache(tmp_path: Path) -> None:
    """A dataclass defined again is served its methods and behaves the same: init with
    defaults, repr, equality, ordering, frozen."""
    with recording() as recorded:
        before = make_point_class()
    assert recorded.sources
    installed(tmp_path, recorded)
    point_class = make_point_class()
    assert stats()["hits"] == len(recorded.sources)
    assert stats()["misses"] == 0
    a, b = point_class(1), point_class(1, 2, ("t",))
    assert (repr(a), a == point_class(1, 0), a < b) == (
        "make_point_class.<locals>.Point(x=1, y=0, tags=())",
        True,
        True,
    )
    assert repr(before(1)) == repr(a)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.x = 5


def test_namedtuple_constructors_come_from_the_cache(tmp_path: Path) -> None:
    with recording() as recorded:
        collections.namedtuple("Pair", "left right")
    assert len(recorded.expressions) == 1
    installed(tmp_path, recorded)
    pair = collections.namedtuple("Pair", "left right")
    assert {"hits": 1, "misses": 0} == stats()
    assert (pair(1, right=2), pair._make([3, 4]).right) == ((1, 2), 4)
    with pytest.raises(TypeError):
        pair(1)


def test_forward_references_come_from_the_cache(tmp_path: Path) -> None:
    """typing compiles each ForwardRef's text; served from the cache it evaluates alike."""
    with recording() as recorded:
        typing.ForwardRef("dict[str, Decimal]")
    assert list(recorded.annotations) == ["dict[str, Decimal]"]
    installed(tmp_path, recorded)
    ref = typing.ForwardRef("dict[str, Decimal]")
    other = typing.ForwardRef("list[int]")
    assert {"hits": 1, "misses": 1} == stats()
    namespace = {"Decimal": float}
    assert dict[str, float] == eval(ref.__forward_code__, namespace)  # noqa: S307
    assert list[int] == eval(other.__forward_code__, {})  # noqa: S307
    # Any other compile in typing's namespace is left to the compiler, uncounted.
    assert eval(typing.compile("6 * 7", "<string>", "exec", dont_inherit=True)) is None  # type: ignore[attr-defined]  # noqa: S307
    assert {"hits": 1, "misses": 1} == stats()


def test_a_cache_from_another_interpreter_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "compile.cache"
    path.write_bytes(marshal.dumps((("cpython-399", 0, (3, 99)), {("a", 0): None}, {}, {}, {})))
    assert not install(path)
    assert re_compiler.compile is compile_cache._ORIGINAL_RE_COMPILE
    assert "exec" not in vars(dataclasses)
    assert "eval" not in vars(collections)
    assert "compile" not in vars(typing)


@pytest.mark.parametrize("content", [b"", b"not marshal at all", marshal.dumps(HEADER)])
def test_a_damaged_or_missing_cache_is_ignored(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "compile.cache"
    path.write_bytes(content)
    assert not install(path)
    assert not install(tmp_path / "absent.cache")
    assert re_compiler.compile is compile_cache._ORIGINAL_RE_COMPILE


def test_installing_twice_keeps_the_first(tmp_path: Path) -> None:
    with recording() as recorded:
        compile_all(PATTERNS[:2])
    installed(tmp_path, recorded)
    assert not install(tmp_path / "compile.cache")


ATOMS = st.sampled_from(["a", "b", r"\d", r"\w", ".", "[a-c]", "[^x]", r"\s", "é", "(?:ab)"])
QUANTIFIERS = st.sampled_from(["", "*", "+", "?", "{2}", "{1,3}", "*?", "+?"])


@st.composite
def regexes(draw: st.DrawFn) -> str:
    """Small regular expressions: sequences of quantified atoms, groups, alternatives."""
    parts = draw(st.lists(st.tuples(ATOMS, QUANTIFIERS).map("".join), min_size=1, max_size=6))
    text = "".join(parts)
    if draw(st.booleans()):
        text = f"(?P<g>{text})|{draw(ATOMS)}"
    return text


@settings(max_examples=60, deadline=None)
@given(
    pattern=regexes(),
    flags=st.sampled_from([0, re.IGNORECASE, re.ASCII, re.S | re.M]),
    subject=st.text(max_size=12),
)
def test_any_pattern_is_served_as_compiled(
    tmp_path_factory: Any, pattern: str, flags: int, subject: str
) -> None:
    """Property: for generated patterns, the served program equals re's and finds the same
    matches in arbitrary text."""
    uninstall()
    with recording() as recorded:
        (expected,) = compile_all([(pattern, flags)])
    installed(tmp_path_factory.mktemp("cache"), recorded)
    try:
        (served,) = compile_all([(pattern, flags)])
        assert expected == served
        assert expected.findall(subject) == served.findall(subject)
    finally:
        uninstall()
