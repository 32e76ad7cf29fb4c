"""Local Firestore conformance, RunAggregationQuery: count, sum, avg, up_to."""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud.firestore_v1 import _helpers
from google.cloud.firestore_v1.base_query import FieldFilter


def results(aggregation_query: Any) -> dict[str, Any]:
    (row,) = aggregation_query.get()
    return {r.alias: r.value for r in row}


@pytest.fixture
def sales(db: Any) -> Any:
    """``sales`` with int amounts 10, 20, 30, a double 1.5 and a string 'n/a'."""
    batch = db.batch()
    for doc_id, data in {
        "a": {"amount": 10, "qty": 1},
        "b": {"amount": 20, "qty": 2},
        "c": {"amount": 30, "qty": 3},
        "d": {"price": 1.5, "qty": 4},
        "e": {"amount": "n/a", "price": 2.5},
    }.items():
        batch.set(db.document(f"sales/{doc_id}"), data)
    batch.commit()
    return db.collection("sales")


def test_count_sum_avg_with_aliases(sales: Any) -> None:
    """Several aggregations in one query, each under its alias; non-numbers are skipped."""
    query = sales.count(alias="n").sum("amount", alias="total").avg("amount", alias="mean")
    assert {"n": 5, "total": 60, "mean": 20.0} == results(query)


def test_sum_of_ints_stays_int_and_doubles_make_a_double(sales: Any) -> None:
    """Summing only integers gives an integer; any double makes the sum a double."""
    ints = results(sales.sum("qty", alias="q"))["q"]
    doubles = results(sales.sum("price", alias="p"))["p"]
    assert (10, int) == (ints, type(ints))
    assert (4.0, float) == (doubles, type(doubles))


def test_count_with_a_filter(sales: Any) -> None:
    """Aggregations run over the filtered query."""
    query = sales.where(filter=FieldFilter("qty", ">=", 2)).count(alias="n")
    assert {"n": 3} == results(query)


def test_default_alias(sales: Any) -> None:
    """Without an alias the client names the result itself; the server echoes it."""
    (row,) = sales.count().get()
    assert [5] == [r.value for r in row]


def aggregate_raw(db: Any, aggregations: list[dict[str, Any]]) -> dict[str, Any]:
    """RunAggregationQuery built by hand: the high-level API has no count up_to."""
    request = {
        "parent": f"{db._database_string}/documents",
        "structured_aggregation_query": {
            "structured_query": {"from_": [{"collection_id": "sales"}]},
            "aggregations": aggregations,
        },
    }
    responses = db._firestore_api.run_aggregation_query(request=request, metadata=db._rpc_metadata)
    (response,) = [r for r in responses if r.result]
    fields = response.result.aggregate_fields
    return {k: _helpers.decode_value(v, db) for k, v in fields.items()}


def test_count_up_to(sales: Any) -> None:
    """count up_to stops counting at the bound."""
    results_ = aggregate_raw(
        sales._client,
        [
            {"alias": "capped", "count": {"up_to": 2}},
            {"alias": "all", "count": {"up_to": 100}},
        ],
    )
    assert {"capped": 2, "all": 5} == results_


def test_avg_of_nothing_is_null_and_sum_of_nothing_is_zero(sales: Any) -> None:
    """With no numeric values avg is null and sum the integer 0 (the high-level client
    reads a null result as 0.0, so the raw response is checked)."""
    results_ = aggregate_raw(
        sales._client,
        [
            {"alias": "a", "avg": {"field": {"field_path": "missing"}}},
            {"alias": "s", "sum": {"field": {"field_path": "missing"}}},
        ],
    )
    assert {"a": None, "s": 0} == results_
    assert int is type(results_["s"])


def test_duplicate_aliases_are_invalid(sales: Any) -> None:
    """Two aggregations may not share an alias."""
    with pytest.raises(exceptions.InvalidArgument, match="alias"):
        aggregate_raw(sales._client, [{"alias": "x", "count": {}}, {"alias": "x", "count": {}}])


def test_aggregation_in_a_transaction(db: Any, sales: Any) -> None:
    """An aggregation may run inside a transaction and sees its snapshot."""
    transaction = db.transaction()
    transaction._begin()
    try:
        (row,) = sales.count(alias="n").get(transaction=transaction)
    finally:
        transaction._rollback()
    assert 5 == row[0].value
