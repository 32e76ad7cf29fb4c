"""Firestore values as typed JSON: the encoding of ``growthkit company export``.

Values are encoded from the protobuf ``Value`` Firestore returns, before the client turns
them into Python objects (which would guess: a map with a ``__type__`` key becomes a
vector, a datetime loses its nanoseconds), and decoded back to the same protobuf. Each
value is a JSON object with one key naming its type, the names of Firestore's REST API:

    null       {"nullValue": null}
    boolean    {"booleanValue": true}
    integer    {"integerValue": "42"}          64 bits, a decimal string (JSON numbers
                                               are exact only up to 2**53)
    double     {"doubleValue": 4.5}            or "NaN", "Infinity", "-Infinity"; -0.0 kept
    timestamp  {"timestampValue": "2026-03-01T12:00:00.123456789Z"}   RFC 3339, UTC, with
                                               0, 3, 6 or 9 fraction digits as needed
    string     {"stringValue": "text"}
    bytes      {"bytesValue": "aGVsbG8="}      standard base64
    reference  {"referenceValue": "companies/acme/leads/l1"}   the document's path in its
                                               database (REST gives the full resource name;
                                               a path can be restored in another project)
    geo point  {"geoPointValue": {"latitude": 48.85, "longitude": 2.35}}
    array      {"arrayValue": {"values": [<value>, ...]}}
    map        {"mapValue": {"fields": {"<name>": <value>, ...}}}

A document's fields are ``{"<name>": <value>, ...}``. Decoding refuses anything else with a
``ValueError`` saying where, so a damaged export is found before anything is written.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Mapping
from typing import Any

Json = dict[str, Any]
_SPECIAL_DOUBLES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_INT64 = (-(2**63), 2**63 - 1)


def _value_class() -> Any:
    from google.cloud.firestore_v1.types import document

    return document.Value.pb()


def encode_fields(fields: Mapping[str, Any], relative: Callable[[str], str]) -> Json:
    """A document's protobuf fields as typed JSON; ``relative`` turns a reference's
    resource name into its path in the database."""
    return {name: encode_value(value, relative) for name, value in fields.items()}


def encode_value(value: Any, relative: Callable[[str], str]) -> Json:
    """One protobuf ``Value`` as typed JSON (the table in the module's docstring)."""
    kind = value.WhichOneof("value_type")
    encoder = _ENCODERS.get(kind)
    if encoder is None:
        raise ValueError(f"a Firestore value of a type this export does not know ({kind})")
    name, encode = encoder
    return {name: encode(value, relative)}


def _encode_array(value: Any, relative: Callable[[str], str]) -> Json:
    return {"values": [encode_value(v, relative) for v in value.array_value.values]}


def _encode_geo_point(value: Any, _relative: Callable[[str], str]) -> Json:
    point = value.geo_point_value
    return {"latitude": point.latitude, "longitude": point.longitude}


_Encoder = Callable[[Any, Callable[[str], str]], Any]
_ENCODERS: dict[str, tuple[str, _Encoder]] = {
    "null_value": ("nullValue", lambda v, r: None),
    "boolean_value": ("booleanValue", lambda v, r: v.boolean_value),
    "integer_value": ("integerValue", lambda v, r: str(v.integer_value)),
    "double_value": ("doubleValue", lambda v, r: _double(v.double_value)),
    "timestamp_value": ("timestampValue", lambda v, r: v.timestamp_value.ToJsonString()),
    "string_value": ("stringValue", lambda v, r: v.string_value),
    "bytes_value": ("bytesValue", lambda v, r: base64.b64encode(v.bytes_value).decode("ascii")),
    "reference_value": ("referenceValue", lambda v, r: r(v.reference_value)),
    "geo_point_value": ("geoPointValue", _encode_geo_point),
    "array_value": ("arrayValue", _encode_array),
    "map_value": ("mapValue", lambda v, r: {"fields": encode_fields(v.map_value.fields, r)}),
}


def _double(number: float) -> float | str:
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return number


def decode_fields(fields: Any, absolute: Callable[[str], str], where: str = "") -> dict[str, Any]:
    """Typed JSON fields back to protobuf ``Value``s, by name; ``absolute`` turns a
    reference's path into the resource name of the database written to.

    Raises:
        ValueError: anything but typed JSON (``where`` and the field name say where).
    """
    if not isinstance(fields, dict):
        raise ValueError(f"{where or 'fields'}: not a JSON object of fields")
    return {name: decode_value(v, absolute, f"{where}{name}") for name, v in fields.items()}


def decode_value(encoded: Any, absolute: Callable[[str], str], where: str = "value") -> Any:
    """One typed JSON value back to a protobuf ``Value``.

    Raises:
        ValueError: not exactly one known type key, or a value its type refuses.
    """
    if not isinstance(encoded, dict) or len(encoded) != 1:
        raise ValueError(f"{where}: not a typed value such as {{'stringValue': 'x'}}")
    ((kind, raw),) = encoded.items()
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise ValueError(f"{where}: unknown type {kind!r}")
    value = _value_class()()
    try:
        decoder(value, raw, absolute, where)
    except (TypeError, ValueError, OverflowError, binascii.Error) as err:
        raise ValueError(f"{where}: bad {kind}: {err}") from err
    return value


def _decode_null(value: Any, raw: Any, _absolute: Any, _where: str) -> None:
    if raw is not None:
        raise ValueError("must be null")
    value.null_value = 0


def _decode_boolean(value: Any, raw: Any, _absolute: Any, _where: str) -> None:
    if not isinstance(raw, bool):
        raise ValueError("must be true or false")
    value.boolean_value = raw


def _decode_integer(value: Any, raw: Any, _absolute: Any, _where: str) -> None:
    if not isinstance(raw, str) or not raw.lstrip("-").isdigit() or not raw.isascii():
        raise ValueError("must be a decimal string")
    number = int(raw)
    if not _INT64[0] <= number <= _INT64[1]:
        raise ValueError("out of the 64-bit range")
    value.integer_value = number


def _decode_double(value: Any, raw: Any, _absolute: Any, _where: str) -> None:
    if isinstance(raw, str) and raw in _SPECIAL_DOUBLES:
        value.double_value = _SPECIAL_DOUBLES[raw]
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        value.double_value = float(raw)
    else:
        raise ValueError("must be a number, 'NaN', 'Infinity' or '-Infinity'")


def _decode_timestamp(value: Any, raw: Any, _absolute: Any, _where: str) -> None:
    if not isinstance(raw, str):
        raise ValueError("must be an RFC 3339 string")
    value.timestamp_value.FromJsonString(raw)


def _decode_string(value: Any, raw: Any, _absolute: Any, _where: str) -> None:
    if not isinstance(raw, str):
        raise ValueError("must be a string")
    value.string_value = raw


def _decode_bytes(value: Any, raw: Any, _absolute: Any, _where: str) -> None:
    if not isinstance(raw, str):
        raise ValueError("must be a base64 string")
    value.bytes_value = base64.b64decode(raw, validate=True)


def _decode_reference(value: Any, raw: Any, absolute: Callable[[str], str], _where: str) -> None:
    segments = raw.split("/") if isinstance(raw, str) else []
    if len(segments) < 2 or len(segments) % 2 or not all(segments):
        raise ValueError("must be a document path such as companies/acme")
    value.reference_value = absolute(raw)


def _decode_geo_point(value: Any, raw: Any, _absolute: Any, _where: str) -> None:
    if not isinstance(raw, dict) or set(raw) != {"latitude", "longitude"}:
        raise ValueError("must be {'latitude': ..., 'longitude': ...}")
    if not all(isinstance(raw[k], int | float) and not isinstance(raw[k], bool) for k in raw):
        raise ValueError("latitude and longitude must be numbers")
    value.geo_point_value.latitude = float(raw["latitude"])
    value.geo_point_value.longitude = float(raw["longitude"])


def _decode_array(value: Any, raw: Any, absolute: Callable[[str], str], where: str) -> None:
    if not isinstance(raw, dict) or set(raw) - {"values"}:
        raise ValueError("must be {'values': [...]}")
    items = raw.get("values", [])
    if not isinstance(items, list):
        raise ValueError("values must be a list")
    value.array_value.SetInParent()  # an empty array is still an array
    for i, item in enumerate(items):
        value.array_value.values.append(decode_value(item, absolute, f"{where}[{i}]"))


def _decode_map(value: Any, raw: Any, absolute: Callable[[str], str], where: str) -> None:
    if not isinstance(raw, dict) or set(raw) - {"fields"}:
        raise ValueError("must be {'fields': {...}}")
    value.map_value.SetInParent()  # an empty map is still a map
    for name, item in decode_fields(raw.get("fields", {}), absolute, f"{where}.").items():
        value.map_value.fields[name].CopyFrom(item)


_DECODERS: dict[str, Callable[[Any, Any, Any, str], None]] = {
    "nullValue": _decode_null,
    "booleanValue": _decode_boolean,
    "integerValue": _decode_integer,
    "doubleValue": _decode_double,
    "timestampValue": _decode_timestamp,
    "stringValue": _decode_string,
    "bytesValue": _decode_bytes,
    "referenceValue": _decode_reference,
    "geoPointValue": _decode_geo_point,
    "arrayValue": _decode_array,
    "mapValue": _decode_map,
}
