"""The staff REST API's pure rules: list requests, opaque cursors and page windows.

Lists are ordered by one indexed field and then by the document's id, so the order is
total and stable. A cursor encodes the last row's sort value and id (plus a fingerprint of
the query it belongs to). The next page is every row after that pair, which a conjunction
of filters cannot say in one query, so it is read as two *windows* of the same shape: the
rest of the rows sharing the last value (``value <= f <= value`` and ids past the last
one), then the rows past that value. Every window is the same four bounds on the same
index, so each list needs exactly one composite index per equality-filter set.

A list takes only the parameters it names (``sort``, ``limit``, ``cursor``, its filters
and its own): any other is a 400, since ignoring it would answer as if it had matched. A
text sort (a lead's ``name_lower``) runs A to Z, and ``?q=`` narrows it to a prefix: the
windows' bounds are then the prefix and the prefix followed by the highest character.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from msgspec import Struct, field

from shared.domain.common import search_key, stable_id
from shared.errors import InvalidInput

SortKind = Literal["time", "number", "text"]
LIST_PARAMETERS = ("sort", "limit", "cursor")
SEARCH = "q"  # a prefix of a text sort field (``ResourceSpec.search``)
PAGE_DEFAULT = 25
PAGE_MAX = 100
MAX_FILTER_VALUES = 10  # Firestore's "in" takes at most 30 values; ours are small enums
# Ids are compared as strings: "" sorts before every id, U+10FFFF after any real one.
ID_MIN = ""
ID_MAX = "\U0010ffff"
_LOWEST: dict[SortKind, Any] = {
    "time": datetime(1, 1, 1, tzinfo=UTC),
    "number": -math.inf,
    "text": "",
}
_HIGHEST: dict[SortKind, Any] = {
    "time": datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    "number": math.inf,
    "text": ID_MAX,
}
_TICK = timedelta(microseconds=1)  # Firestore keeps timestamps to the microsecond


class Window(Struct, frozen=True):
    """Rows with ``low <= sort value <= high`` and ``after_id < id < before_id``."""

    low: Any
    high: Any
    after_id: str = ID_MIN
    before_id: str = ID_MAX


class Cursor(Struct, frozen=True):
    value: Any
    id: str
    fingerprint: str


class ListRequest(Struct, frozen=True):
    """One page of a list: sort field and direction, filters, size, and where to start."""

    sort: str
    kind: SortKind
    descending: bool
    limit: int
    values: dict[str, Any] = field(default_factory=dict)
    cursor: Cursor | None = None
    prefix: str | None = None  # ``?q=``: only sort values starting with it

    def fingerprint(self, scope: str) -> str:
        """What a cursor must have been made for: same list, sort, filters and search."""
        filters = json.dumps(self.values, sort_keys=True, default=str)
        searched = "" if self.prefix is None else f"q:{self.prefix}"
        return stable_id(scope, self.sort, str(self.descending), filters, searched, length=12)


class Scope(Struct, frozen=True):
    """Where a resource lives: a company, and for a lead's notes and such, the lead."""

    company_id: str
    lead_id: str = ""

    @property
    def base(self) -> str:
        company = f"companies/{self.company_id}"
        return f"{company}/leads/{self.lead_id}" if self.lead_id else company


class PageQuery(Struct, frozen=True):
    """One window of one list, as a lister function runs it."""

    company_id: str
    parent_id: str  # the lead of a lead's notes, interactions and assignments; else ""
    values: dict[str, Any]
    window: Window
    descending: bool
    limit: int


def _step(value: Any, kind: SortKind, up: bool) -> Any:
    """The next representable value above (or below) ``value``."""
    if kind == "time":
        return value + _TICK if up else value - _TICK
    if kind == "text":  # only ever ascending (parse_list_request): the next string up
        return value + "\x00"
    return math.nextafter(float(value), math.inf if up else -math.inf)


def windows(req: ListRequest) -> list[Window]:
    """The windows to read, in order, for this page."""
    lowest, highest = _LOWEST[req.kind], _HIGHEST[req.kind]
    if req.prefix is not None:
        lowest, highest = req.prefix, req.prefix + ID_MAX
    cursor = req.cursor
    if cursor is None:
        return [Window(lowest, highest)]
    v = cursor.value
    if req.descending:
        ties = Window(v, v, ID_MIN, cursor.id)
        rest = Window(lowest, _step(v, req.kind, up=False))
    else:
        ties = Window(v, v, cursor.id, ID_MAX)
        rest = Window(_step(v, req.kind, up=True), highest)
    return [ties, rest]


def encode_cursor(value: Any, doc_id: str, fingerprint: str) -> str:
    raw = value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value
    packed = json.dumps([raw, doc_id, fingerprint], separators=(",", ":"))
    return base64.urlsafe_b64encode(packed.encode()).decode().rstrip("=")


def decode_cursor(token: str, kind: SortKind, fingerprint: str) -> Cursor:
    """The cursor in ``token``; 400 when it is damaged or was made for another query."""
    try:
        padded = token + "=" * (-len(token) % 4)
        raw, doc_id, made_for = json.loads(base64.urlsafe_b64decode(padded.encode()))
        value = _cursor_value(raw, kind)
    except (ValueError, TypeError, binascii.Error) as err:
        raise InvalidInput("The cursor is not one this API gave out.") from err
    if made_for != fingerprint or not isinstance(doc_id, str):
        raise InvalidInput("The cursor belongs to another list, sort or filter; start over.")
    return Cursor(value, doc_id, fingerprint)


def _cursor_value(raw: Any, kind: SortKind) -> Any:
    if kind == "time":
        parsed = datetime.fromisoformat(str(raw))
        if parsed.tzinfo is None:
            raise ValueError("naive time")
        return parsed
    if kind == "text":
        if not isinstance(raw, str):
            raise ValueError("not a text")
        return raw
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError("not a number")
    return raw


def parse_list_request(
    args: Mapping[str, str],
    sorts: Mapping[str, SortKind],
    filters: Mapping[str, tuple[str, ...]],
    scope: str,
    fixed: Mapping[str, Any] | None = None,
    params: Iterable[str] = (),
    search: str | None = None,
) -> ListRequest:
    """``?sort=-created_at&limit=50&cursor=...&status=new,contacted`` as a request.

    ``sorts`` lists the indexed sort fields (the first is the default, newest or highest
    first); ``filters`` the filterable fields and their allowed values (all by default);
    ``fixed`` filter values the caller does not choose (a user's own leads); ``params``
    the list's other parameters (read by its own hook); ``search`` the text sort field
    ``?q=`` searches by prefix (lowercased: the field holds ``search_key`` of the text).

    Raises:
        InvalidInput: a parameter the list does not take, an unknown sort or filter value,
            a bad limit or cursor, a search with another sort.
    """
    searches = (SEARCH,) if search else ()
    refuse_unknown_parameters(args, (*LIST_PARAMETERS, *filters, *params, *searches))
    prefix = search_key(args.get(SEARCH) or "") if search else ""
    default = search if search and prefix else f"-{next(iter(sorts))}"
    sort_arg = args.get("sort") or default
    sort = sort_arg.removeprefix("-")
    if sort not in sorts:
        raise InvalidInput(f"sort must be one of {sorted(sorts)} (prefix '-' for descending).")
    if prefix and sort_arg != search:
        raise InvalidInput(f"q searches by {search}, A to Z: sort={search}, or no sort.")
    if sorts[sort] == "text" and sort_arg.startswith("-"):
        raise InvalidInput(f"{sort} sorts A to Z only: sort={sort}.")
    values = {
        name: _filter_values(args.get(name), name, allowed) for name, allowed in filters.items()
    }
    values.update(fixed or {})
    descending, limit = sort_arg.startswith("-"), _limit(args.get("limit"))
    req = ListRequest(sort, sorts[sort], descending, limit, values, None, prefix or None)
    token = args.get("cursor")
    if not token:
        return req
    cursor = decode_cursor(token, req.kind, req.fingerprint(scope))
    return ListRequest(sort, req.kind, descending, limit, values, cursor, req.prefix)


def refuse_unknown_parameters(args: Iterable[str], allowed: Iterable[str]) -> None:
    """400 for a query parameter a request does not take, naming it and the ones it takes:
    ignored, it would get an answer that looks as if it had been applied (``?email=`` on
    a list that cannot filter by it answered with every lead)."""
    known = sorted(set(allowed))
    unknown = sorted(set(args) - set(known))
    if unknown:
        raise InvalidInput(
            f"Unknown parameter {', '.join(unknown)}: use {', '.join(known) or 'none'}.",
            {"unknown": unknown, "allowed": known},
        )


def _limit(raw: str | None) -> int:
    if raw is None:
        return PAGE_DEFAULT
    try:
        limit = int(raw)
    except ValueError as err:
        raise InvalidInput("limit must be a whole number.") from err
    if not 1 <= limit <= PAGE_MAX:
        raise InvalidInput(f"limit must be between 1 and {PAGE_MAX}.")
    return limit


def _filter_values(raw: str | None, name: str, allowed: tuple[str, ...]) -> list[str]:
    if not raw:
        return list(allowed)
    wanted = list(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))
    unknown = [v for v in wanted if v not in allowed]
    if unknown or not wanted or len(wanted) > MAX_FILTER_VALUES:
        raise InvalidInput(f"{name} takes a comma-separated list of {', '.join(allowed)}.")
    return wanted


def refuse_fixed_fields(
    body: Mapping[str, Any], editable: frozenset[str], stored: frozenset[str]
) -> None:
    """400 for any key staff may not write, saying which: a field of the stored document
    that only the system sets (``cannot be changed``) or one that does not exist."""
    fields = {
        key: "cannot be changed" if key in stored else "unknown field"
        for key in body
        if key not in editable
    }
    if fields:
        raise InvalidInput("Some fields cannot be written.", {"fields": fields})
    if not body:
        raise InvalidInput("The body names no field to write.")
