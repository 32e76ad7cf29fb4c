"""Page tokens for ListQueues and ListTasks: an opaque, url-safe encoding of an offset."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TypeVar

from localcloud.tasks.errors import invalid

T = TypeVar("T")


def page(items: Sequence[T], size: int, token: str, max_size: int) -> tuple[list[T], str]:
    """One page of ``items`` and the token of the next page ("" after the last one)."""
    if size < 0:
        raise invalid("page_size must not be negative.")
    size = min(size or max_size, max_size)
    start = _offset(token)
    end = start + size
    next_token = _token(end) if end < len(items) else ""
    return list(items[start:end]), next_token


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(token: str) -> int:
    if not token:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "offset" and int(value) >= 0:
            return int(value)
    except ValueError:
        pass
    raise invalid(f"Invalid page_token: {token!r}")
