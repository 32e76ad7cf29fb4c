"""Whole hostile requests for one function: method, query, headers and body.

Headers are drawn per kind of function: forged or broken ``Authorization`` for staff
functions, forged ``X-CloudTasks-*`` / ``X-CloudScheduler-*`` for platform-invoked ones,
broken ``ce-*`` attributes for CloudEvent ones, and junk ``Origin`` / ``X-Forwarded-For``
for everything. Valid values are mixed in so that some requests get through each check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from shared.manifest import Function, Trigger, by_name
from tests.hostile.payloads import CONTENT_TYPES, RAW_BODIES, bodies, csv_bodies
from tests.hostile.schema_strategies import Hints, operation_at, operation_bodies, operations

# Header values must be latin-1 without CR/LF for the client to send them at all.
HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=60,
)
IPS = st.one_of(st.ip_addresses().map(str), HEADER_TEXT, st.just("1.2.3.4, 5.6.7.8, junk"))
TIMES = st.one_of(
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-14:00"]),
    st.sampled_from(["0001-01-01T00:00:00+14:00", "2026-02-30T00:00:00Z", "yesterday", ""]),
    HEADER_TEXT,
)


@dataclass(frozen=True)
class HostileRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    kind: str = field(default="", compare=False)


@dataclass(frozen=True)
class Credentials:
    """Authorization values minted for the seeded company: good, foreign and broken."""

    good: Sequence[str]
    bad: Sequence[str]


def _maybe(draw: st.DrawFn, headers: dict[str, str], name: str, values: Any) -> None:
    if draw(st.booleans()):
        headers[name] = draw(values)


@st.composite
def platform_headers(
    draw: st.DrawFn, function: Function, ce_valid: dict[str, str]
) -> dict[str, str]:
    headers: dict[str, str] = {}
    if function.trigger is Trigger.TASK:
        for name in ("QueueName", "TaskName", "TaskRetryCount", "TaskExecutionCount"):
            _maybe(
                draw,
                headers,
                f"X-CloudTasks-{name}",
                HEADER_TEXT | st.integers(-5, 10**30).map(str),
            )
    elif function.trigger is Trigger.SCHEDULE:
        _maybe(draw, headers, "X-CloudScheduler-JobName", HEADER_TEXT)
        _maybe(draw, headers, "X-CloudScheduler-ScheduleTime", TIMES)
        _maybe(draw, headers, "X-CloudScheduler", st.just("true"))
    elif function.trigger is Trigger.EVENT:
        headers.update(draw(ce_headers(ce_valid)))
    return headers


@st.composite
def ce_headers(draw: st.DrawFn, valid: dict[str, str]) -> dict[str, str]:
    """A valid set of ``ce-*`` attributes with some dropped, garbled or retargeted."""
    headers = {k: v for k, v in valid.items() if k.lower() != "content-type"}
    for name in draw(st.lists(st.sampled_from(sorted(headers)), max_size=4, unique=True)):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            del headers[name]
        else:
            headers[name] = draw(
                HEADER_TEXT
                | st.sampled_from(["0.3", "2.0", "documents/companies/other/leads/x", "a/b/c"])
            )
    return headers


@st.composite
def auth_header(draw: st.DrawFn, credentials: Credentials) -> dict[str, str]:
    """Half the time a good token (to reach the body checks), else none or a bad one."""
    choice = draw(st.integers(0, 9))
    if choice < 5:
        return {"Authorization": draw(st.sampled_from(list(credentials.good)))}
    if choice < 7:
        return {"Authorization": draw(st.sampled_from(list(credentials.bad)))}
    if choice == 7:
        return {}
    prefix = draw(st.sampled_from(["", "Bearer ", "bearer ", "Basic "]))
    return {"Authorization": prefix + draw(HEADER_TEXT)}


@st.composite
def event_body(draw: st.DrawFn, valid: bytes) -> tuple[str | None, bytes]:
    """A real DocumentEventData, the same truncated or with bytes flipped, or junk."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        body = valid
    elif kind == 1:
        body = valid[: draw(st.integers(0, len(valid)))]
    elif kind == 2:
        flips = draw(st.lists(st.integers(0, max(len(valid) - 1, 0)), max_size=4))
        mutable = bytearray(valid)
        for i in flips:
            mutable[i] ^= 0xFF
        body = bytes(mutable)
    else:
        body = draw(RAW_BODIES)
    content_type = "application/protobuf"
    if draw(st.integers(0, 3)) == 3:
        content_type = draw(CONTENT_TYPES)
    return content_type, body


@st.composite
def hostile_requests(
    draw: st.DrawFn,
    name: str,
    hints: Hints,
    credentials: Credentials,
    delivery: tuple[dict[str, str], bytes] | None = None,
) -> HostileRequest:
    """One request to function ``name``; ``delivery`` is a real CloudEvent's headers and
    body, for event functions."""
    function = by_name(name)
    ce_valid, valid_event = delivery or ({}, b"")
    template, method = draw(st.sampled_from(operations(name) or (("/", "post", ""),)))[:2]
    op = operation_at(name, template, method)
    if function.trigger is Trigger.EVENT:
        content_type, body = draw(event_body(valid_event))
    elif operation_bodies(op, "text/csv") and draw(st.booleans()):
        content_type, body = draw(csv_bodies())
    else:
        schemas = [
            *operation_bodies(op),
            *operation_bodies(op, "application/x-www-form-urlencoded"),
        ]
        content_type, body = draw(bodies(draw(st.sampled_from(schemas or [None])), hints))
    headers = draw(platform_headers(function, ce_valid))
    headers.update(draw(auth_header(credentials)))
    origins = st.sampled_from(list(hints.get("origin", ["x"])))
    _maybe(draw, headers, "Origin", origins | HEADER_TEXT)
    _maybe(draw, headers, "X-Forwarded-For", IPS)
    if content_type is not None:
        headers["Content-Type"] = content_type
    # Mostly the operation's own method (to get past routing), sometimes any other.
    methods = [method.upper()] * 18 + ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
    path = draw(fill_path(template, hints))
    return HostileRequest(
        draw(st.sampled_from(methods)), path + draw(query(hints, op)), headers, body
    )


# Path segments that break naive routing: traversal, encoded slashes, dunder names.
JUNK_SEGMENTS = st.sampled_from(
    ["..", ".", "%2e%2e", "a%2Fb", "__proto__", "__class__", "x" * 300, "%00", "%ff", "me", ""]
)


@st.composite
def fill_path(draw: st.DrawFn, template: str, hints: Hints) -> str:
    """``template``'s ``{name}`` parameters filled with known ids (by name, falling back
    to ``id``), sometimes with junk; sometimes a segment dropped or one added."""
    parts = []
    for part in template.split("/"):
        if not (part.startswith("{") and part.endswith("}")):
            parts.append(part)
            continue
        known = [*hints.get(part[1:-1], []), *hints.get("id", [])]
        value = draw(st.sampled_from(known) if known else HEADER_TEXT)
        if draw(st.integers(0, 9)) == 9:  # hypothesis favours 0: keep that the usual case
            value = draw(JUNK_SEGMENTS | HEADER_TEXT.map(lambda t: quote(t, safe="")))
        parts.append(quote(str(value), safe="%"))
    choice = draw(st.integers(0, 19))
    if choice == 19 and len(parts) > 2:
        parts.pop()
    elif choice == 18:
        parts.append(draw(JUNK_SEGMENTS))
    return "/" + "/".join(parts).lstrip("/")  # "//x" would name a host, not a path


@st.composite
def query(draw: st.DrawFn, hints: Hints, op: dict[str, Any] | None = None) -> str:
    """The operation's query parameters (known values, their enums or junk) and others."""
    described = {
        p["name"]: p.get("schema", {})
        for p in (op or {}).get("parameters", [])
        if p["in"] == "query"
    }
    names = sorted({*described, "key", "status", "company_id", "x", ""})
    values = [*hints.get("form_key", []), *hints.get("status", [])]
    params: dict[str, str] = {}
    for name in draw(st.lists(st.sampled_from(names), max_size=4, unique=True)):
        known = [*hints.get(name, []), *described.get(name, {}).get("enum", [])]
        pool = st.sampled_from(known or values)
        params[name] = str(draw(HEADER_TEXT if draw(st.integers(0, 3)) == 3 else pool))
    for name, schema in described.items():  # a required parameter, mostly present
        if schema and name not in params and draw(st.integers(0, 3)) < 3:
            known = hints.get(name, [])
            if known:
                params[name] = str(draw(st.sampled_from(list(known))))
    return "?" + "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in params.items())
