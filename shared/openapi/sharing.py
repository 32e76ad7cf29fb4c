"""Moves what operations repeat into ``components`` and writes the document compactly.

Most of openapi.json's operations repeat the same parameters (``companyId``, the form key,
the list parameters) and the same error answers (400, 401, 403...): written out in each
one, they were 1,007 response objects of which 60 differ. ``share`` keeps one copy of each
parameter and of each response with a body in ``components`` and has the operations point
at it with ``$ref``; ``inline`` is its inverse, for readers that want every operation
spelled out. ``dumps`` puts any value that fits in 100 columns on one line.
"""

from __future__ import annotations

import copy
import json
from http import HTTPStatus
from typing import Any

PARAMETERS = "#/components/parameters/"
RESPONSES = "#/components/responses/"
WIDTH = 100


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


class _Shelf:
    """Each distinct object once, under a name; the first of a base name gets it plain,
    later different objects get a suffix (the operation that first used them)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.items: dict[str, Any] = {}
        self._names: dict[str, str] = {}

    def ref(self, value: Any, base: str, suffix: str) -> dict[str, str]:
        key = _key(value)
        if key not in self._names:
            name = base if base not in self.items else f"{base}.{suffix}"
            self._names[key] = name
            self.items[name] = value
        return {"$ref": self.prefix + self._names[key]}


def _response_name(status: str, response: dict[str, Any]) -> str:
    phrase = HTTPStatus(int(status)).phrase.title().replace(" ", "").replace("-", "")
    return phrase + ("OrPage" if "text/html" in response.get("content", {}) else "")


def share(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every operation's parameters and responses with a body (the
    errors) moved to ``components``, in order of first use."""
    shared = copy.deepcopy(document)
    parameters, responses = _Shelf(PARAMETERS), _Shelf(RESPONSES)
    for operations in shared["paths"].values():
        for operation in operations.values():
            op_id = operation["operationId"]
            operation["parameters"] = [
                parameters.ref(p, f"{p['in']}.{p['name']}", op_id)
                for p in operation.get("parameters", [])
            ]
            operation["responses"] = {
                status: responses.ref(r, _response_name(status, r), op_id) if "content" in r else r
                for status, r in operation["responses"].items()
            }
    components = shared["components"]
    components["parameters"] = parameters.items
    components["responses"] = responses.items
    return shared


def inline(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the operations' parameter and response ``$ref``s replaced by
    what they name (schemas stay referenced: they may be recursive)."""
    spelled = copy.deepcopy(document)
    components = spelled.get("components", {})

    def resolve(value: Any) -> Any:
        ref = value.get("$ref", "") if isinstance(value, dict) else ""
        for prefix, kind in ((PARAMETERS, "parameters"), (RESPONSES, "responses")):
            if ref.startswith(prefix):
                return copy.deepcopy(components[kind][ref.removeprefix(prefix)])
        return value

    for operations in spelled["paths"].values():
        for operation in operations.values():
            operation["parameters"] = [resolve(p) for p in operation.get("parameters", [])]
            operation["responses"] = {s: resolve(r) for s, r in operation["responses"].items()}
    return spelled


def dumps(value: Any, indent: int = 0, taken: int = 0) -> str:
    """JSON indented by two spaces, with each value that fits on the rest of its line
    (``taken`` columns are used by its key) kept on one line."""
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, dict | list) or not value or indent + taken + len(flat) <= WIDTH:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            name = json.dumps(key, ensure_ascii=False) + ": "
            lines.append(pad + name + dumps(item, indent + 2, len(name)))
        return "{\n" + ",\n".join(lines) + "\n" + " " * indent + "}"
    lines = [pad + dumps(item, indent + 2) for item in value]
    return "[\n" + ",\n".join(lines) + "\n" + " " * indent + "]"
