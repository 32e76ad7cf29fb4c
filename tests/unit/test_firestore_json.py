"""The typed JSON of exports (shared.adapters.firestore_json): protobuf values through
JSON text and back are the same values, type for type; damaged input is refused with
where and why."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.adapters.firestore_json import decode_fields, decode_value, encode_fields, encode_value

ROOT = "projects/p/databases/(default)/documents/"


def relative(name: str) -> str:
    return name.removeprefix(ROOT)


def absolute(path: str) -> str:
    return ROOT + path


def _value(**field: Any) -> Any:
    from google.cloud.firestore_v1.types import document

    value = document.Value.pb()()
    ((name, raw),) = field.items()
    if name == "timestamp_value":
        value.timestamp_value.seconds, value.timestamp_value.nanos = raw
    elif name == "geo_point_value":
        value.geo_point_value.latitude, value.geo_point_value.longitude = raw
    elif name == "null_value":
        value.null_value = 0
    else:
        setattr(value, name, raw)
    return value


def _container(kind: str, items: Any) -> Any:
    value = _value(null_value=None)
    if kind == "array":
        value.array_value.SetInParent()
        for item in items:
            value.array_value.values.append(item)
    else:
        value.map_value.SetInParent()
        for name, item in items.items():
            value.map_value.fields[name].CopyFrom(item)
    return value


# Firestore strings are UTF-8: no lone surrogates (protobuf refuses them before we could).
CHARACTERS = st.characters(blacklist_categories=("Cs",))
SEGMENT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/"), min_size=1, max_size=8
)
SCALARS = st.one_of(
    st.none().map(lambda _: _value(null_value=None)),
    st.booleans().map(lambda b: _value(boolean_value=b)),
    st.integers(-(2**63), 2**63 - 1).map(lambda i: _value(integer_value=i)),
    (st.floats(allow_nan=False) | st.just(math.nan)).map(lambda f: _value(double_value=f)),
    st.tuples(st.integers(-62135596800, 253402300799), st.integers(0, 999_999_999)).map(
        lambda t: _value(timestamp_value=t)
    ),
    st.text(CHARACTERS).map(lambda s: _value(string_value=s)),
    st.binary().map(lambda b: _value(bytes_value=b)),
    st.lists(SEGMENT, min_size=1, max_size=3).map(
        lambda segs: _value(
            reference_value=ROOT + "/".join(f"c{i}/{s}" for i, s in enumerate(segs))
        )
    ),
    st.tuples(st.floats(-90, 90), st.floats(-180, 180)).map(lambda p: _value(geo_point_value=p)),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: _container("array", items)),
        st.dictionaries(st.text(CHARACTERS, max_size=6), inner, max_size=4).map(
            lambda items: _container("map", items)
        ),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_any_value_survives_json_text_exactly(value: Any) -> None:
    """Encoded, written as JSON text, read and decoded: the same protobuf bytes (type,
    nanoseconds, int vs double, -0.0, NaN, empty map vs empty array, all of it), and the
    same JSON again when re-encoded."""
    encoded = encode_value(value, relative)
    back = decode_value(json.loads(json.dumps(encoded)), absolute)
    assert value.SerializeToString(deterministic=True) == back.SerializeToString(deterministic=True)
    assert encoded == encode_value(back, relative)


def test_the_encoding_names_each_type() -> None:
    fields = {
        "when": _value(timestamp_value=(1_772_366_400, 123_456_789)),
        "count": _value(integer_value=2**62),
        "ratio": _value(double_value=1.0),
        "lead": _value(reference_value=ROOT + "companies/acme/leads/l1"),
        "nothing": _value(null_value=None),
        "empty": _container("map", {}),
    }
    assert {
        "when": {"timestampValue": "2026-03-01T12:00:00.123456789Z"},
        "count": {"integerValue": str(2**62)},
        "ratio": {"doubleValue": 1.0},
        "lead": {"referenceValue": "companies/acme/leads/l1"},
        "nothing": {"nullValue": None},
        "empty": {"mapValue": {"fields": {}}},
    } == encode_fields(fields, relative)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"a": {"stringValue": 1}}, "a: bad stringValue: must be a string"),
        ({"a": {"integerValue": 5}}, "a: bad integerValue: must be a decimal string"),
        ({"a": {"integerValue": str(2**63)}}, "out of the 64-bit range"),
        ({"a": {"mapValue": {"fields": {"b": {"x": 1}}}}}, "a.b: unknown type 'x'"),
        ({"a": {"arrayValue": {"values": [{"bytesValue": "!!"}]}}}, "a[0]: bad bytesValue"),
        ({"a": {"referenceValue": "companies"}}, "must be a document path"),
        ({"a": {"timestampValue": "yesterday"}}, "a: bad timestampValue"),
        ({"a": {"stringValue": "x", "integerValue": "1"}}, "a: not a typed value"),
        ({"a": "plain"}, "a: not a typed value"),
        ([], "not a JSON object of fields"),
    ],
)
def test_damaged_input_is_refused_saying_where(fields: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        decode_fields(fields, absolute)
