"""Personalised messages from staff-written templates: sandboxed Jinja2 where a missing
field is an error, never a blank in a sent message.

Templates see ``company``, the recipient as ``recipient`` and as ``lead`` or ``contact``,
and a contact's ``business`` (``{{ contact.first_name }}``, ``{{ business.name }}``,
``{{ lead.custom_fields.budget }}``). Empty values are left out of the context, so they
are missing too; ``{{ contact.title | default("there") }}`` says what to write instead.
Templates are text, not code: loops, macros, calls, includes, variables (``set``,
``with``: doubling one is a memory bomb) and the arithmetic that builds huge strings are
refused, and only a list of harmless, bounded filters is offered, so a template cannot run
for long or grow without bound. What an expression shows must be a value (text, a
number, a list or group of fields), never a method or an object of the engine, so a
rendering cannot leak Python internals; Jinja's sandbox refuses ``__class__`` and the
like. A template that cannot be parsed or rendered is an error naming the problem.

What each ``{{ ... }}`` shows is marked while rendering, so the rendered body knows which
of its spans were filled in (``Rendered.filled``): only the links staff wrote in the
template are tracked, never a URL that came with a value (a visitor's name, a form field).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import missing
from msgspec import Struct

from shared.campaigns.domain.tracking import Spans
from shared.domain.leads import split_name

MAX_TEMPLATE_CHARS = 20_000
MAX_OUTPUT_CHARS = 50_000
_REFUSED = (
    nodes.For,
    nodes.Macro,
    nodes.CallBlock,
    nodes.Call,
    nodes.Import,
    nodes.FromImport,
    nodes.Include,
    nodes.Extends,
    nodes.FilterBlock,
    nodes.Block,
    nodes.Assign,
    nodes.AssignBlock,
    nodes.With,
    nodes.Mul,
    nodes.Pow,
    nodes.Mod,
    nodes.FloorDiv,
)
_FILTERS = (
    "capitalize",
    "default",
    "d",
    "first",
    "float",
    "int",
    "join",
    "last",
    "length",
    "lower",
    "round",
    "string",
    "striptags",
    "title",
    "trim",
    "truncate",
    "upper",
    "urlencode",
)


def _replace(value: Any, old: str, new: str) -> str:
    """``replace`` bounded: an empty ``old`` would insert ``new`` between every character."""
    text = str(value)
    if not old:
        return text
    result = text.replace(str(old), str(new))
    if len(result) > MAX_OUTPUT_CHARS:
        raise TemplateError("replace would make the text too long")
    return result


def _join(value: Any, separator: str = "", attribute: Any = None) -> str:
    """``join`` bounded: a long separator between the characters of a long text would
    build a string of the product of their lengths."""
    if attribute is not None:
        raise TemplateError("join takes no attribute in a message")
    items = [str(v) for v in (value if isinstance(value, list | tuple | str) else [value])]
    size = sum(map(len, items)) + len(str(separator)) * max(len(items) - 1, 0)
    if size > MAX_OUTPUT_CHARS:
        raise TemplateError("join would make the text too long")
    return str(separator).join(items)


_SHOWN = (str, int, float, bool, type(None), list, tuple, dict)


def _finalize(value: Any) -> Any:
    """What ``{{ ... }}`` shows: data only. A method (``{{ lead.items }}``) or an engine
    object (``{{ self }}``) would print its Python repr, address included."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, Undefined):
            continue  # fails with its own message when shown
        if not isinstance(item, _SHOWN) or callable(item):
            raise TemplateError("a message can only show fields and text, not methods or objects")
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return value


# Private-use characters around each value shown while rendering (removed from the
# template and from values first, so that only the renderer's own marks are read).
_OPEN, _CLOSE = "\ue000", "\ue001"
_MARKS = str.maketrans("", "", _OPEN + _CLOSE)


def _marked(value: Any) -> str:
    """What ``{{ ... }}`` shows (checked by ``_finalize``), between the marks."""
    return _OPEN + str(_finalize(value)).translate(_MARKS) + _CLOSE


def _unmark(text: str) -> tuple[str, Spans]:
    """The rendered text without the marks, and the spans the marks enclosed."""
    out: list[str] = []
    spans, size, start = [], 0, 0
    for piece in re.split(f"([{_OPEN}{_CLOSE}])", text):
        if piece == _OPEN:
            start = size
        elif piece == _CLOSE:
            spans.append((start, size))
        else:
            out.append(piece)
            size += len(piece)
    return "".join(out), tuple(spans)


class _Fields(dict[str, Any]):
    """A context map that knows its own name, so a gap reads ``contact.title``."""

    def __init__(self, path: str, data: Mapping[str, Any]) -> None:
        super().__init__(data)
        self._path = path


class _Missing(StrictUndefined):
    """Fails on any use, saying which field is missing."""

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        owner = self._undefined_obj
        if owner is missing:
            return f"{self._undefined_name} is missing"
        if isinstance(owner, _Fields):
            return f"{owner._path}.{self._undefined_name} is missing"
        return super()._undefined_message


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=_Missing, autoescape=False, finalize=_marked)
    env.filters = {name: env.filters[name] for name in _FILTERS}
    env.filters["replace"] = _replace
    env.filters["join"] = _join
    env.globals = {}
    return env


_ENV = _environment()


class TemplateProblem(Exception):
    """A template that cannot be rendered for a recipient: each error by message part."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def template_error(source: str) -> str | None:
    """What is wrong with a template's text (syntax, a refused construct), or None."""
    if len(source) > MAX_TEMPLATE_CHARS:
        return f"a template is at most {MAX_TEMPLATE_CHARS} characters"
    try:
        tree = _ENV.parse(source)
    except TemplateError as err:
        return f"line {getattr(err, 'lineno', '?')}: {err.message or err}"
    except RecursionError:
        return "the template is nested too deeply"
    except ValueError as err:  # a number literal past Python's 4300 digits
        return f"the template cannot be read: {err}"
    for node in tree.find_all(_REFUSED):
        return f"line {node.lineno}: {type(node).__name__.lower()} is not allowed in a message"
    for node in tree.find_all(nodes.Filter):
        if node.name not in _ENV.filters:
            return f"line {node.lineno}: unknown filter {node.name!r}"
    return None


def _render(source: str, context: Mapping[str, Any]) -> tuple[str, Spans]:
    problem = template_error(source)
    if problem is not None:
        raise TemplateError(problem)
    text, filled = _unmark(_ENV.from_string(source.translate(_MARKS)).render(context))
    if len(text) > MAX_OUTPUT_CHARS:
        raise TemplateError(f"the message would be over {MAX_OUTPUT_CHARS} characters")
    return text, filled


class Rendered(Struct, frozen=True):
    """A message for one recipient; ``filled``: the spans of ``body`` shown by
    expressions (values), not written in the template."""

    subject: str
    body: str
    filled: Spans = ()


def render_message(subject: str, body: str, context: Mapping[str, Any]) -> Rendered:
    """Both parts rendered for one recipient.

    Raises:
        TemplateProblem: a part names a missing field or cannot be rendered (each part's
            error, e.g. ``{"body": "'contact' has no attribute 'title'"}``).
    """
    out: dict[str, tuple[str, Spans]] = {}
    errors: dict[str, str] = {}
    for part, source in (("subject", subject), ("body", body)):
        try:
            out[part] = _render(source, context)
        except SecurityError:  # its message names the engine's classes
            errors[part] = "only fields can be used: names starting with _ are not allowed"
        except TemplateError as err:
            errors[part] = err.message or str(err)
        except Exception as err:  # noqa: BLE001  # the template's own fault, whatever it is
            # (a division by zero, truncate(-5)'s assertion, a recursion): named, not a 500.
            errors[part] = f"{type(err).__name__}: {err}"
    if errors:
        raise TemplateProblem(errors)
    return Rendered(out["subject"][0].strip(), *out["body"])


def _present(value: Any, path: str) -> Any:
    """``value`` without its empty parts (None, blank strings, empty maps and lists)."""
    if isinstance(value, Mapping):
        kept = {str(k): _present(v, f"{path}.{k}") for k, v in value.items()}
        return _Fields(path, {k: v for k, v in kept.items() if v not in (None, "", [], {})})
    if isinstance(value, str):
        return value.strip() or None
    return value


def context_fields(data: Mapping[str, Any], path: str) -> Any:
    """``data`` as a template sees it under ``path``: empty values left out (so they are
    missing, and ``default`` applies), a missing field named ``{path}.{field}``."""
    return _present(data, path)


def _person(data: Mapping[str, Any]) -> dict[str, Any]:
    """A lead or contact, with ``first_name``/``last_name`` split from ``name`` if absent."""
    person = dict(data)
    name = str(person.get("name") or "").strip()
    first, last = split_name(name)
    if name and not person.get("first_name"):
        person["first_name"] = first
    if name and not person.get("last_name") and last:
        person["last_name"] = last
    if not name and person.get("first_name"):
        person["name"] = " ".join(
            str(p) for p in (person.get("first_name"), person.get("last_name")) if p
        )
    return person


def lead_context(lead: Mapping[str, Any], company: Mapping[str, Any]) -> dict[str, Any]:
    person = _present(_person(lead), "lead")
    return {"lead": person, "recipient": person, "company": _present(company, "company")}


def contact_context(
    contact: Mapping[str, Any], business: Mapping[str, Any], company: Mapping[str, Any]
) -> dict[str, Any]:
    person = _present(_person(contact), "contact")
    return {
        "contact": person,
        "recipient": person,
        "business": _present(business, "business"),
        "company": _present(company, "company"),
    }
