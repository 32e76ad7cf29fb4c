"""Hypothesis strategies generated from the published OpenAPI document (``openapi.json``).

A small JSON Schema interpreter (the subset pydantic emits: ``$ref``, ``anyOf``/``oneOf``,
``enum``, ``const``, strings with length, pattern and format, numbers with bounds, arrays,
objects with required and optional properties) turns each operation's request body schema
into a strategy of *valid* bodies. ``hints`` maps property names to values known to exist
in the seeded database (the form key, a lead id), so that valid bodies reach the services
instead of stopping at "unknown key".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from shared.openapi.sharing import inline

OPENAPI = Path(__file__).resolve().parents[2] / "openapi.json"
Hints = Mapping[str, Sequence[Any]]


@cache
def document() -> dict[str, Any]:
    """The checked-in OpenAPI document (test_openapi proves it is current), with the
    parameters and answers its operations share by ``$ref`` written into each of them."""
    loaded: dict[str, Any] = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return inline(loaded)


def operation(function: str, method: str = "post") -> dict[str, Any]:
    """The operation, or {} for a function openapi.json does not describe yet (the
    hostile tests still cover it; test_openapi says the file is stale)."""
    found: dict[str, Any] = document()["paths"].get(f"/{function}", {}).get(method, {})
    return found


def body_schemas(function: str, method: str = "post") -> list[dict[str, Any]]:
    """The JSON body schemas of one operation (several for ``oneOf`` bodies)."""
    return operation_bodies(operation(function, method))


def operation_bodies(op: dict[str, Any], kind: str = "application/json") -> list[dict[str, Any]]:
    """The body schemas of ``op`` for one content type (several for ``oneOf`` bodies)."""
    content = op.get("requestBody", {}).get("content", {})
    schema = content.get(kind, {}).get("schema")
    if schema is None:
        return []
    schema = resolve(schema)
    return [resolve(s) for s in schema.get("oneOf", [schema])]


@cache
def operations(function: str) -> tuple[tuple[str, str, str], ...]:
    """(path under the function, method, operation id) of every operation of
    ``function``: ``("/companies/{companyId}/leads", "post", ...)``, ``("/", "get", ...)``."""
    prefix = f"/{function}"
    return tuple(
        (path.removeprefix(prefix) or "/", method, op["operationId"])
        for path, ops in document()["paths"].items()
        if path == prefix or path.startswith(f"{prefix}/")
        for method, op in ops.items()
    )


def operation_at(function: str, path: str, method: str) -> dict[str, Any]:
    """The operation at ``path`` (under the function) and ``method``, or {}."""
    full = f"/{function}{path}".rstrip("/") if path != "/" else f"/{function}"
    found: dict[str, Any] = document()["paths"].get(full, {}).get(method, {})
    return found


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with a top-level ``$ref`` followed and ``allOf`` merged (a model plus
    the fields a create requires)."""
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for each in schema["allOf"]:
            part = resolve(each)
            required = {*merged.get("required", []), *part.get("required", [])}
            merged.update(part)
            merged["required"] = sorted(required)
        return merged
    ref = schema.get("$ref")
    if ref is None:
        return schema
    name = ref.rsplit("/", 1)[1]
    resolved: dict[str, Any] = document()["components"]["schemas"][name]
    return resolve(resolved)


def from_schema(schema: dict[str, Any], hints: Hints, name: str = "") -> st.SearchStrategy[Any]:
    """Values valid for ``schema``; a hinted property draws only its known values (they
    lead past the first lookup) when ``hints`` is a ``Strict`` mapping, else both."""
    base = _from_schema(resolve(schema), hints)
    if name not in hints:
        return base
    known = st.sampled_from(list(hints[name]))
    return known if isinstance(hints, Strict) else st.one_of(known, base)


class Strict(dict[str, Sequence[Any]]):
    """Hints that replace the generated values instead of joining them."""


def _from_schema(schema: dict[str, Any], hints: Hints) -> st.SearchStrategy[Any]:
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema["oneOf"]
        return st.one_of(*(from_schema(s, hints) for s in options))
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "object":
        return _object(schema, hints)
    if kind == "array":
        items = from_schema(schema.get("items", {}), hints)
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=4)
    if kind == "string":
        return _string(schema)
    return _scalar(kind, schema)


def _scalar(kind: Any, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        low, high = schema.get("minimum"), schema.get("maximum")
        return st.floats(low, high, allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return st.none()  # an untyped schema: null is as valid a JSON value as any


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), min(schema.get("maxLength", 40), 40)
    fmt = schema.get("format")
    if fmt == "email":  # what the service accepts (st.emails() also makes RFC oddities)
        atom, label = r"[a-z0-9_+-]{1,10}", r"[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?"
        return st.from_regex(rf"{atom}(\.{atom})?@{label}\.[a-z]{{2,6}}", fullmatch=True)
    if fmt == "date-time":
        return st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
    if "pattern" in schema:
        regex = st.from_regex(schema["pattern"], fullmatch=True)
        return regex.filter(lambda s: low <= len(s) <= schema.get("maxLength", 10**6))
    return st.text(min_size=low, max_size=max(low, high))


def _object(schema: dict[str, Any], hints: Hints) -> st.SearchStrategy[dict[str, Any]]:
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    fixed = {k: from_schema(v, hints, k) for k, v in props.items() if k in required}
    optional = {k: from_schema(v, hints, k) for k, v in props.items() if k not in required}
    extra = schema.get("additionalProperties")
    if not props and isinstance(extra, dict):
        return st.dictionaries(
            st.text(min_size=1, max_size=12), from_schema(extra, hints), max_size=3
        )
    return st.fixed_dictionaries(fixed, optional=optional)
