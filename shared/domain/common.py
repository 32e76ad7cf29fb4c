"""Building blocks shared by the domain models: timestamps, ids and e-mail addresses."""

import hashlib
import re
import secrets
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive times are taken as UTC; every stored and keyed time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalize_email(value: str) -> str:
    """Lower case and trimmed: the key leads are deduplicated by."""
    return value.strip().lower()


def canonical_email(value: str) -> str:
    """The person behind an address: Gmail ignores dots and ``+tags`` (self-referral checks)."""
    local, _, domain = normalize_email(value).partition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def _valid_email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("value is not a valid email address")
    return value


Email = Annotated[
    str,
    AfterValidator(_valid_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]
ShortText = Annotated[str, Field(max_length=500)]


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
