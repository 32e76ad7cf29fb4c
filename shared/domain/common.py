"""Building blocks shared by the domain models: timestamps, ids and e-mail addresses."""

import hashlib
import math
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic_core.core_schema import CoreSchema, no_info_after_validator_function


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive times are taken as UTC; every stored and keyed time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def next_hour(now: datetime) -> datetime:
    """When the hour ``now`` is in ends (an hourly counting window frees)."""
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def seconds_until(when: datetime, now: datetime) -> int:
    """Whole seconds from ``now`` until ``when``, at least 1: a ``Retry-After`` of 0 would
    invite a retry the same window refuses again."""
    return max(1, math.ceil((when - now).total_seconds()))


# What an unquoted local part may hold (RFC 5322's atext, between dots), and a host name.
_ATEXT = frozenset("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~")
_HOST = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
NOT_AN_ADDRESS = "value is not a valid email address (the address alone, like jane@example.com)"


def normalize_email(value: str) -> str:
    """The one way an e-mail address is read, wherever it enters (forms, imports, the staff
    API, suppressions, unsubscribe links, sends): a plain ``local@host.tld`` with nothing
    around it, in its canonical form (trimmed, lower case), which is what leads, contacts,
    subscriptions and suppressions are keyed and compared by.

    Raises:
        ValueError: anything else. ``<jane@x.com>`` or ``"Jane" <jane@x.com>`` reach
            jane@x.com through a mail server while a comparison sees another string (an
            unsubscribed address got mail that way); so do quotes, comments, several
            addresses, blanks or control characters inside, IP literals, a host without a
            dot and non-ASCII look-alikes: none is a plain address.
    """
    address = value.strip()
    local, at, host = address.lower().rpartition("@")
    plain = address.isascii() and len(address) <= 254 and bool(at)
    if not (plain and _is_local_part(local) and _is_host(host)):
        raise ValueError(NOT_AN_ADDRESS)
    return f"{local}@{host}"


def _is_local_part(local: str) -> bool:
    atoms = local.split(".")
    return len(local) <= 64 and all(atoms) and all(c in _ATEXT for c in local if c != ".")


def _is_host(host: str) -> bool:
    labels = host.split(".")
    top = labels[-1]
    named = len(top) >= 2 and (top.isalpha() or top.startswith("xn--"))
    return len(labels) >= 2 and named and all(_is_label(label) for label in labels)


def _is_label(label: str) -> bool:
    plain = 1 <= len(label) <= 63 and all(c in _HOST for c in label)
    return plain and not label.startswith("-") and not label.endswith("-")


def mailbox_of(value: str) -> str | None:
    """The plain address a stored value names, as a mail server reads it: the value itself
    when plain, else the one address of a ``Name <address>`` form; None for anything else.
    Only for values stored before addresses were read strictly: an opt-out recorded from
    them, or a comparison with them, must meet the address the mail really went to."""
    try:
        return normalize_email(value)
    except ValueError:
        pass
    from email.utils import getaddresses

    found = getaddresses([value])
    try:
        return normalize_email(found[0][1]) if len(found) == 1 else None
    except ValueError:
        return None


def canonical_email(value: str) -> str:
    """The person behind an address: Gmail ignores dots and ``+tags`` (self-referral checks)."""
    local, _, domain = (mailbox_of(value) or value.strip().lower()).partition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


Email = Annotated[
    str,
    AfterValidator(normalize_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]


# Names, subjects and URLs end in headers (a mail's Subject, a redirect's Location): a
# line break there injects a header ("Jane\r\nBcc: ...") or makes the library refuse the
# message after the data was stored. So such text is one line where it is typed: no C0 or
# C1 control character, DEL, or Unicode line or paragraph separator.
ONE_LINE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$"
URL_PATTERN = r"^[^\s\u0000-\u001f\u007f-\u009f]*$"


def _is_control(c: str) -> bool:
    return ord(c) < 32 or 127 <= ord(c) < 160 or c in "\u2028\u2029"


def search_key(text: object) -> str:
    """Text as a search compares it: blanks collapsed, case folded ("BOB  Marley" is "bob
    marley"); not text, "". Stored next to a searched field and applied to the search."""
    return " ".join(text.split()).casefold() if isinstance(text, str) else ""


def is_one_line(text: str) -> bool:
    return not any(_is_control(c) for c in text)


def one_line(text: str) -> str:
    """Text stored before it was checked, made one header line on its way out: line
    breaks and other control characters become spaces."""
    return " ".join("".join(" " if _is_control(c) else c for c in text).split())


def _single_line(text: str) -> str:
    if not is_one_line(text):
        raise ValueError("must be one line, without line breaks or control characters")
    return text


def is_header_url(text: str) -> bool:
    """Whether ``text`` can be a Location header as it is: no blanks or controls."""
    return not any(c.isspace() or _is_control(c) for c in text)


def _header_url(text: str) -> str:
    if not is_header_url(text):
        raise ValueError("not a URL: it has spaces, line breaks or control characters")
    return text


class _TextRule:
    """An ``Annotated`` marker: a check after the string's own (its length first, so that
    error reads as usual), and the pattern it keeps, in the JSON schema."""

    def __init__(self, check: Callable[[str], str], pattern: str) -> None:
        self.check, self.pattern = check, pattern

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> CoreSchema:
        return no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: Any) -> dict[str, Any]:
        return {**handler(schema), "pattern": self.pattern}


ONE_LINE = _TextRule(_single_line, ONE_LINE_PATTERN)
ShortText = Annotated[str, Field(max_length=500), ONE_LINE]
# A URL that may end in a Location header (a form's redirect, the thank-you page).
HeaderUrl = Annotated[str, Field(max_length=2000), _TextRule(_header_url, URL_PATTERN)]


def is_reserved_name(value: str) -> bool:
    """Whether Firestore reserves ``value`` as an id or field name (``__.*__``; checked
    without a regex, which each process would compile on first use)."""
    return len(value) >= 4 and value.startswith("__") and value.endswith("__")


def is_document_id(value: str) -> bool:
    """Whether Firestore accepts ``value`` as one path segment (no ``/``, not ``.`` or
    ``..``, not ``__reserved__``): ids from requests end up in document paths."""
    plain = bool(value) and "/" not in value and value not in (".", "..")
    return plain and not is_reserved_name(value)


def _valid_document_id(value: str) -> str:
    if not is_document_id(value):
        raise ValueError("not a valid id (no '/', '.', '..' or __reserved__ names)")
    return value


DocumentId = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=r"^[^/]+$"),
    AfterValidator(_valid_document_id),
]


def stable_id(*parts: str, length: int = 20) -> str:
    """A document id derived from ``parts``: the same inputs always give the same id."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def random_id(length: int = 20) -> str:
    return secrets.token_hex(length // 2)


class DeferredModel(BaseModel):
    """The base of every domain model: its validator is built on first use, not at import.

    A function's cold start imports the domain modules of its area, and most of the models
    in them are never used by that function: building each one's schema and validator at
    import was up to a third of some functions' first answer. Deferred, a model costs its
    build only when first validated or dumped. pydantic >= 2.14 rebuilds under a lock, so
    the first requests of several threads at once all get the finished validator
    (tests/unit/test_models_deferred.py builds every model and races the first use).
    """

    model_config = ConfigDict(defer_build=True)


# Modules defining models do not use ``from __future__ import annotations``: with it,
# pydantic gets each field's type as text and its first build compiles and evaluates every
# one (Settings' 36 fields alone cost 3.7 M instructions, Lead's 6.4 M; checked by
# tests/unit/test_models_deferred.py). Validators returning the model say ``Self``.

# Empty list and dict defaults are written as literals (``tags: list[str] = []``):
# pydantic copies a mutable default for each instance, and ``default_factory=list`` made
# its first build inspect ``list``'s text signature, compiling the tokenizer's regular
# expressions (about 5 ms of every cold start).


class StoredModel(DeferredModel):
    """A document as stored: unknown fields from newer code versions are kept."""

    model_config = ConfigDict(extra="allow")

    created_at: datetime | None = None
    updated_at: datetime | None = None


class RequestModel(DeferredModel):
    """A request body: strict about unknown fields' size, strips whitespace."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore", frozen=True)
