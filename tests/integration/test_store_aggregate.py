"""The ``DocumentStore.aggregate`` contract, on the in-memory fake and on Firestore (the
local Firestore through the real client): the same cases must give the same answers, so
unit tests on the fake count as Firestore would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.ports import COUNT, Aggregation, DocumentStore, Filter, Write
from tests.fakes import FakeStore

DAY = datetime(2026, 11, 20, tzinfo=UTC)
SALES = {
    "companies/acme/sales/a": {"amount": 10, "at": DAY, "kind": "shop"},
    "companies/acme/sales/b": {"amount": 20, "at": DAY + timedelta(hours=5), "kind": "web"},
    "companies/acme/sales/c": {"amount": 2.5, "at": DAY + timedelta(days=1), "kind": "web"},
    "companies/acme/sales/d": {"amount": "n/a", "at": DAY, "kind": "web"},
    "companies/acme/sales/e": {"amount": True, "at": DAY, "kind": "shop"},
    "companies/globex/sales/f": {"amount": 7, "at": DAY, "kind": "web"},
}
AMOUNT = Aggregation("sum", "amount")


@pytest.fixture(params=["fake", "firestore"])
def store(request: pytest.FixtureRequest) -> Iterator[DocumentStore]:
    """The same seeded documents on either store."""
    if request.param == "fake":
        fake = FakeStore()
        fake.commit([Write(path, data) for path, data in SALES.items()])
        yield fake
        return
    from shared.adapters.firestore_store import FirestoreStore

    db: Any = request.getfixturevalue("db")
    real = FirestoreStore(db)
    real.commit([Write(path, data) for path, data in SALES.items()])
    yield real


def test_count_and_a_sum_that_skips_what_is_not_a_number(store: DocumentStore) -> None:
    """Five documents; a string and a boolean add nothing, a double makes a double."""
    total, amount = store.aggregate("companies/acme/sales", [COUNT, AMOUNT])
    assert (5, int, 32.5) == (total, type(total), amount)


def test_filters_select_what_is_counted(store: DocumentStore) -> None:
    """An equality and a day's range, as the daily rollup counts; integers sum to an int."""
    day = [Filter("at", ">=", DAY), Filter("at", "<", DAY + timedelta(days=1))]
    web = [Filter("kind", "==", "web"), *day]
    assert [4, 30] == store.aggregate("companies/acme/sales", [COUNT, AMOUNT], day)
    count, amount = store.aggregate("companies/acme/sales", [COUNT, AMOUNT], web)
    assert (2, 20, int) == (count, amount, type(amount))
    rated = [Filter("amount", "in", [10, 20, 30]), *day]
    assert [2, 30] == store.aggregate("companies/acme/sales", [COUNT, AMOUNT], rated)


def test_nothing_selected(store: DocumentStore) -> None:
    """No documents: a count and a sum of 0, both ints."""
    none = [Filter("kind", "==", "phone")]
    found = store.aggregate("companies/acme/sales", [COUNT, AMOUNT], none)
    assert ([0, 0], [int, int]) == (found, [type(v) for v in found])
    assert [0] == store.aggregate("companies/nobody/sales", [COUNT])


def test_collection_group(store: DocumentStore) -> None:
    """Every ``sales`` collection of every company."""
    assert [4, 29.5] == store.aggregate(
        "sales", [COUNT, AMOUNT], [Filter("kind", "==", "web")], True
    )


def test_one_query_holds_at_most_five_aggregations(store: DocumentStore) -> None:
    """Firestore's limit, refused before anything is sent; none at all is refused too."""
    with pytest.raises(ValueError, match="1 to 5"):
        store.aggregate("companies/acme/sales", [COUNT] * 6)
    with pytest.raises(ValueError, match="1 to 5"):
        store.aggregate("companies/acme/sales", [])
