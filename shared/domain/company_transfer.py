"""Moving a company's exported documents to another company id (pure, on typed JSON).

An export holds the documents of ``companies/{old}``; restored as ``companies/{new}``,
what names the company changes with it:

- every document path, and every reference to a document of the company;
- string values of ``company_id`` (or ``companyId``) fields, at any depth, that are the
  old id, and strings holding a path inside the company (``companies/{old}/...``);
- in the company document: its ``id`` and its form keys (``public_form_key`` and the
  retired ones): a key starts with the company id, which is how intake finds the company.

Everything else is kept as it is, including ids derived from the old id by hashing (a
replayed form submission is then stored anew instead of being recognised).
"""

from typing import Any

Json = dict[str, Any]
COMPANY_ID_FIELDS = frozenset({"company_id", "companyId"})


def company_of(path: str) -> str | None:
    """The company a document path lies in (``companies/{id}`` or below it)."""
    segments = path.split("/")
    return segments[1] if len(segments) >= 2 and segments[0] == "companies" else None


def moved_path(path: str, old: str, new: str) -> str:
    """``path`` with the company's prefix renamed (other paths unchanged)."""
    prefix = f"companies/{old}"
    if path == prefix or path.startswith(prefix + "/"):
        return f"companies/{new}{path[len(prefix) :]}"
    return path


def rehome(path: str, fields: Json, old: str, new: str) -> tuple[str, Json]:
    """A document of ``companies/{old}`` as a document of ``companies/{new}``."""
    if old == new:
        return path, fields
    moved = {name: _moved(name, value, old, new) for name, value in fields.items()}
    if path == f"companies/{old}":
        moved = _company_fields(moved, old, new)
    return moved_path(path, old, new), moved


def _moved(name: str, value: Json, old: str, new: str) -> Json:
    ((kind, raw),) = value.items()
    if kind == "referenceValue":
        return {kind: moved_path(raw, old, new)}
    if kind == "stringValue":
        if name in COMPANY_ID_FIELDS and raw == old:
            return {kind: new}
        return {kind: moved_path(raw, old, new) if raw.startswith("companies/") else raw}
    if kind == "mapValue":
        fields = raw.get("fields", {})
        return {kind: {"fields": {k: _moved(k, v, old, new) for k, v in fields.items()}}}
    if kind == "arrayValue":
        # Elements take their field's name: a list of company ids is still company ids.
        return {kind: {"values": [_moved(name, v, old, new) for v in raw.get("values", [])]}}
    return value


def _company_fields(fields: Json, old: str, new: str) -> Json:
    """The company document's own id and form keys."""
    out = dict(fields)
    if out.get("id") == {"stringValue": old}:
        out["id"] = {"stringValue": new}
    if "public_form_key" in out:
        out["public_form_key"] = _moved_key(out["public_form_key"], old, new)
    retired = out.get("retired_form_keys", {}).get("arrayValue", {}).get("values", [])
    for entry in retired:
        inner = entry.get("mapValue", {}).get("fields", {})
        if "key" in inner:
            inner["key"] = _moved_key(inner["key"], old, new)
    return out


def _moved_key(value: Json, old: str, new: str) -> Json:
    key = value.get("stringValue")
    if isinstance(key, str) and key.startswith(f"{old}."):
        return {"stringValue": f"{new}.{key[len(old) + 1 :]}"}
    return value
