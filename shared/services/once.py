"""Exactly-once effects for triggers: duplicate markers and optimistic retries.

Eventarc delivers at least once, so a trigger records that it handled an event in a
create-only marker, ``companies/{c}/processed_events/{function}-{event id}``, in the same
commit as its effect: a second delivery finds the marker in its batched read (or, when both
run at once, fails to create it) and does nothing. These helpers import nothing of the
domain, so every trigger area (scoring, workflows, campaigns, the generic triggers) can use
them without loading the others' models on its cold start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from shared.errors import AlreadyExists, Contention
from shared.events import DocumentEvent
from shared.ports import DocumentStore, Write

log = logging.getLogger("growthkit.triggers")

T = TypeVar("T")
# Eventarc retries for at most a day; markers can go (a TTL policy on expires_at) after.
MARKER_TTL = timedelta(days=7)
ATTEMPTS = 3


def marker_path(company_id: str, function: str, event_id: str) -> str:
    return f"companies/{company_id}/processed_events/{function}-{event_id.replace('/', '_')}"


def marker_write(path: str, function: str, event: DocumentEvent, now: datetime) -> Write:
    data = {
        "function": function,
        "event_id": event.id,
        "document": event.document,
        "processed_at": now,
        "expires_at": now + MARKER_TTL,
    }
    return Write(path, data, "create")


def commit_once(store: DocumentStore, writes: Sequence[Write], what: str) -> bool:
    """Commit writes that include a marker; False when a concurrent duplicate won."""
    try:
        store.commit(writes)
    except AlreadyExists:
        log.info("duplicate delivery of %s: the other one committed first", what)
        return False
    return True


def retrying(attempt: Callable[[], T]) -> T:
    """Run an optimistic read-then-write attempt again when its precondition fails."""
    for _ in range(ATTEMPTS - 1):
        try:
            return attempt()
        except Contention:
            log.info("document changed between read and write; trying again")
    return attempt()


def became(event: DocumentEvent, field: str, value: str) -> bool:
    """Whether this event changed ``field`` to ``value``."""
    return event.changed(field) and (event.after or {}).get(field) == value
