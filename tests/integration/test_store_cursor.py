"""The ``DocumentStore.query`` cursor (``start_after``), on the in-memory fake and on the
local Firestore through the real client: page after page, every document once, in the
same order, with a cursor holding only the fields ordered on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.ports import DocumentStore, Filter, Snapshot, Write
from tests.fakes import FakeStore

T0 = datetime(2026, 11, 20, tzinfo=UTC)
CODES = {
    # Two codes expire at the same instant: the path breaks the tie.
    "companies/acme/referrals/A": {"status": "active", "expires_at": T0, "n": 3},
    "companies/acme/referrals/B": {"status": "active", "expires_at": T0 + timedelta(hours=2)},
    "companies/beta/referrals/C": {"status": "active", "expires_at": T0},
    "companies/beta/referrals/D": {"status": "used", "expires_at": T0},
    "companies/beta/referrals/E": {"status": "active", "expires_at": T0 + timedelta(hours=1)},
    "companies/gamma/referrals/F": {"status": "active", "expires_at": T0 + timedelta(days=9)},
}
COMPANIES = {
    "companies/acme": {"settings": {"decay": 10}},
    "companies/beta": {"settings": {"decay": 0}},
    "companies/gamma": {"settings": {"decay": 10}},
    "companies/delta": {"settings": {"decay": 5}},
}


@pytest.fixture(params=["fake", "firestore"])
def store(request: pytest.FixtureRequest) -> Iterator[DocumentStore]:
    docs = [Write(p, d) for p, d in {**CODES, **COMPANIES}.items()]
    if request.param == "fake":
        fake = FakeStore()
        fake.commit(docs)
        yield fake
        return
    from shared.adapters.firestore_store import FirestoreStore

    db: Any = request.getfixturevalue("db")
    real = FirestoreStore(db)
    real.commit(docs)
    yield real


def pages(store: DocumentStore, fields: list[str], **query: Any) -> list[list[str]]:
    """Every page of ``query`` (size 2), each next one after the last one's cursor."""
    found: list[list[str]] = []
    after: Snapshot | None = None
    while True:
        page = store.query(limit=2, start_after=after, **query)
        found.append([s.path.rsplit("/", 1)[1] for s in page])
        if len(page) < 2:
            return found
        last = page[-1]
        after = Snapshot(last.path, {f: (last.data or {})[f] for f in fields})


def test_pages_of_a_collection_group_query_with_its_range_ordered(store: DocumentStore) -> None:
    """The expiry's shape: active codes due by a time, oldest first, across companies."""
    due = [Filter("status", "==", "active"), Filter("expires_at", "<=", T0 + timedelta(hours=3))]
    assert [["A", "C"], ["E", "B"], []] == pages(
        store,
        ["expires_at"],
        collection="referrals",
        filters=due,
        order_by=[("expires_at", False)],
        collection_group=True,
    )


def test_a_range_filter_orders_the_pages_without_being_asked(store: DocumentStore) -> None:
    """No explicit order: the range field, then the path; a nested field's cursor too."""
    found = pages(
        store,
        ["settings"],
        collection="companies",
        filters=[Filter("settings.decay", ">", 0)],
    )
    assert [["delta", "acme"], ["gamma"]] == found
