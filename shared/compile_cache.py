"""What a cold start compiles, compiled once when the package is built.

Every cold start compiles the same code again from text: the regular expressions the
libraries define as they load (``re``'s compiler is pure Python), the methods of each
dataclass (``dataclasses`` writes them as source and ``exec``s it), each namedtuple's
constructor (``collections`` ``eval``s one) and each forward reference in an annotation
(``typing.ForwardRef`` compiles its text: 943 times in a staff function's cold start).
Importing Firestore and pydantic alone compiles 80 patterns and 157 dataclass methods:
165 M and 65 M instructions, 0.11x and 0.045x of a bare function's whole cold start,
measured with callgrind.

The package step (``shared/deploy/compile_cache.py``) loads every function once while
recording what was compiled, and writes the results to ``shared/compile.cache`` in the
package (``CACHE``: whichever copy of ``main.py`` loads, the root one or
``functions/main.py``, finds it there). ``install`` hands them back: a pattern's program to
``_sre.compile``, a method's, constructor's or annotation's code object to ``exec``,
``eval`` or ``ForwardRef``. An entry is the compiler's own output for exactly its key, so a
hit builds the same pattern or function the compiler would have (the tests compare them),
and anything else (a pattern the recording never saw, a cache from another interpreter, a
damaged file) compiles as usual.
"""

from __future__ import annotations

import _sre
import builtins
import collections
import dataclasses
import importlib
import marshal
import re
import sys
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import CodeType
from typing import Any

# re's compiler module (``re._compiler`` on 3.11+): ``re._compile`` calls its ``compile``.
_re_compiler: Any = importlib.import_module("re._compiler")
_ORIGINAL_RE_COMPILE = _re_compiler.compile

# A marshalled cache is valid for one interpreter version and one regex engine: marshal's
# format and the engine's program format are fixed within a CPython minor version.
HEADER = (sys.implementation.cache_tag, _sre.MAGIC, sys.version_info[:2])

RegexKey = tuple[str | bytes, int]
RegexArgs = tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]

CACHE = Path(__file__).with_name("compile.cache")

_state: dict[str, Any] = {"installed": False, "hits": 0, "misses": 0}


def _is_annotation(source: Any, filename: Any, mode: Any, rest: Any, named: Any) -> bool:
    """Whether a ``compile`` call in ``typing`` is a ForwardRef's (``typing.ForwardRef``
    compiles its text with exactly these arguments; nothing else in typing compiles)."""
    plain = isinstance(source, str) and not rest and not named
    return plain and filename == "<string>" and mode == "eval"


class Recording:
    """What was compiled while recording: regex programs, dataclass methods' code
    (``exec``'d by dataclasses), namedtuple constructors (``eval``'d by collections) and
    forward references (compiled by ``typing.ForwardRef``)."""

    def __init__(self) -> None:
        self.regexes: dict[RegexKey, RegexArgs] = {}
        self.sources: dict[str, CodeType] = {}
        self.expressions: dict[str, CodeType] = {}
        self.annotations: dict[str, CodeType] = {}

    def dumps(self) -> bytes:
        """The cache file's bytes (for ``install`` under the same interpreter)."""
        tables = (self.regexes, self.sources, self.expressions, self.annotations)
        return marshal.dumps((HEADER, *tables))


class _RecordingSre:
    """Stands in for ``_sre`` inside re's compiler: records what it passes to
    ``_sre.compile`` (the finished program), forwards everything else."""

    def __init__(self, recording: Recording, real: Any) -> None:
        self._recording, self._real = recording, real
        # The pattern and flags given to re's compiler for the program being compiled.
        self.key: RegexKey | None = None

    def compile(self, pattern: Any, flags: int, code: list[int], *rest: Any) -> Any:
        groups, groupindex, indexgroup = rest
        if self.key is not None:
            # Plain ints: the compiler's opcodes are an int subclass marshal cannot write.
            args = (int(flags), [int(c) for c in code], groups, dict(groupindex), indexgroup)
            self._recording.regexes[self.key] = args
        return self._real.compile(pattern, flags, code, *rest)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _hook(regex: Any, exec_: Any, eval_: Any, compile_: Any) -> None:
    """Put the four stand-ins where re, dataclasses, collections and typing look up
    ``_compiler.compile``, ``exec``, ``eval`` and ``compile`` (module globals shadow the
    builtins; ``uninstall`` removes them)."""
    _re_compiler.compile = regex
    dataclasses.exec = exec_  # type: ignore[attr-defined]
    collections.eval = eval_  # type: ignore[attr-defined]
    typing.compile = compile_  # type: ignore[attr-defined]


def _recorded(table: dict[str, CodeType], mode: str, run: Any) -> Any:
    """``exec`` or ``eval`` (``run``) that also records the code of each text it runs."""

    def run_source(source: Any, globals_: Any = None, locals_: Any = None) -> Any:
        if isinstance(source, str):
            table[source] = builtins.compile(source, "<string>", mode)
        return run(source, globals_, locals_)

    return run_source


def _served(table: dict[str, CodeType], run: Any) -> Any:
    """``exec`` or ``eval`` (``run``) that runs a text's cached code when there is one."""

    def run_source(source: Any, globals_: Any = None, locals_: Any = None) -> Any:
        code = table.get(source) if isinstance(source, str) else None
        _state["hits" if code is not None else "misses"] += 1
        return run(source if code is None else code, globals_, locals_)

    return run_source


@contextmanager
def recording() -> Iterator[Recording]:
    """Record every regex, dataclass method, namedtuple constructor and forward reference
    compiled inside the block."""
    done = Recording()
    real_sre = _re_compiler._sre
    recorder = _RecordingSre(done, real_sre)

    def compile_regex(pattern: Any, flags: int = 0) -> Any:
        # re.DEBUG prints the program as it compiles: never served from a cache.
        cacheable = isinstance(pattern, str | bytes) and not int(flags) & re.DEBUG
        recorder.key = (pattern, int(flags)) if cacheable else None
        try:
            return _ORIGINAL_RE_COMPILE(pattern, flags)
        finally:
            recorder.key = None

    def compile_annotation(source: Any, filename: Any, mode: Any, *rest: Any, **named: Any) -> Any:
        code = builtins.compile(source, filename, mode, *rest, **named)
        if _is_annotation(source, filename, mode, rest, named):
            done.annotations[source] = code
        return code

    _re_compiler._sre = recorder
    exec_, eval_ = _recorded(done.sources, "exec", exec), _recorded(done.expressions, "eval", eval)
    _hook(compile_regex, exec_, eval_, compile_annotation)
    try:
        yield done
    finally:
        _re_compiler._sre = real_sre
        uninstall()


def install(path: Path = CACHE) -> bool:
    """Serve compiles from the cache at ``path``; False (nothing changed) when there is no
    usable cache for this interpreter."""
    try:
        header, regexes, sources, expressions, annotations = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return False
    tables = (regexes, sources, expressions, annotations)
    usable = all(isinstance(table, dict) for table in tables)
    if header != HEADER or not usable or _state["installed"]:
        return False

    def compile_regex(pattern: Any, flags: int = 0) -> Any:
        args = regexes.get((pattern, int(flags)), None)
        if args is None:
            _state["misses"] += 1
            return _ORIGINAL_RE_COMPILE(pattern, flags)
        _state["hits"] += 1
        return _sre.compile(pattern, *args)

    def compile_annotation(source: Any, filename: Any, mode: Any, *rest: Any, **named: Any) -> Any:
        if _is_annotation(source, filename, mode, rest, named):
            code = annotations.get(source)
            _state["hits" if code is not None else "misses"] += 1
            if code is not None:
                return code  # code objects are immutable: one serves every ForwardRef
        return builtins.compile(source, filename, mode, *rest, **named)

    _hook(compile_regex, _served(sources, exec), _served(expressions, eval), compile_annotation)
    _state["installed"] = True
    return True


def uninstall() -> None:
    """Compile everything as usual again (tests)."""
    _re_compiler.compile = _ORIGINAL_RE_COMPILE
    for module, name in ((dataclasses, "exec"), (collections, "eval"), (typing, "compile")):
        vars(module).pop(name, None)  # the builtin again
    _state.update(installed=False, hits=0, misses=0)


def stats() -> dict[str, int]:
    """Compiles served from the cache and compiled as usual since ``install``."""
    return {"hits": _state["hits"], "misses": _state["misses"]}
