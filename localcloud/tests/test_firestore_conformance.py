"""The local Firestore's conformance checklist: every item of its specification, exercised
through the real ``google.cloud.firestore`` clients, the sync ``Client`` and the
``AsyncClient``.

Each scenario below is written once, as a coroutine over a client, and the ``run``
fixture runs it twice: with the ``AsyncClient`` under ``asyncio.run``, and with the sync
``Client`` (whose calls return plain values; ``settle`` and ``items`` accept both). The
detailed edge cases live in the per-RPC files (test_firestore_commit.py, ..._query.py,
..._query_paging.py, ..._aggregation.py, ..._transactions.py, ..._admin.py,
..._listen.py); this file is the list, one compact scenario per item, in its order:

Commit
    set, merge=True, merge with field masks, update with field paths,
    delete, create ............................................ test_commit_writes
    preconditions exists and update_time ...................... test_commit_preconditions
    transforms: server timestamp, increment, maximum, minimum,
    array union, array remove ................................. test_commit_transforms
BatchGetDocuments
    missing documents, field masks ............................ test_batch_get_missing_and_masks
    in a transaction .......................................... test_batch_get_in_a_transaction
RunQuery
    <, <=, >, >=, ==, !=, in, not-in, array-contains(-any) .... test_query_field_filters
    unary filters: null and NaN ............................... test_query_unary_filters
    composite AND and OR ...................................... test_query_composite_filters
    order by several fields, implicit __name__ order .......... test_query_order_by_several_fields
    cursors before/after, offset, limit ....................... test_query_cursors_offset_limit
    projections ............................................... test_query_projections
    collection groups, all_descendants ........................ test_query_collection_groups
    queries (and aggregations) inside transactions ............ test_query_in_a_transaction
RunAggregationQuery
    count, sum, avg with aliases .............................. test_aggregation_count_sum_avg
    count up_to (and empty sum/avg) ........................... test_aggregation_up_to
BeginTransaction, Commit, Rollback ............................ test_transaction_begin_commit
                                                                test_transaction_rollback
    concurrent transactions on one document, exact total ...... test_concurrent_transactions_threads
                                                                test_concurrent_transactions_async
BatchWrite: one status per write .............................. test_batch_write_per_write_status
ListDocuments, incl. show_missing ............................. test_list_documents_show_missing
ListCollectionIds ............................................. test_list_collection_ids
Listen: on_snapshot (sync client only) ........................ test_listen_document
                                                                test_listen_query
"""

from __future__ import annotations

import asyncio
import inspect
import math
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore_v1 import _helpers
from google.cloud.firestore_v1.base_query import And, FieldFilter, Or
from google.cloud.firestore_v1.field_path import FieldPath

Scenario = Callable[[Any], Coroutine[Any, Any, Any]]

# --- running one scenario through both clients ---------------------------------------------


def drive(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a scenario over the sync client to its end. Nothing it awaits ever suspends
    (``settle`` and ``items`` return at once for plain values), so one step finishes it."""
    try:
        coroutine.send(None)
    except StopIteration as finished:
        return finished.value
    coroutine.close()
    raise RuntimeError("a scenario over the sync client suspended")


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Callable[[Scenario], Any]:
    """``run(scenario)``: ``scenario(db)`` on a fresh project, with the sync ``Client`` or
    with the ``AsyncClient`` (one ``asyncio.run``: its channel belongs to that loop)."""
    if request.param == "sync":
        db = request.getfixturevalue("db")
        return lambda scenario: drive(scenario(db))
    async_db = request.getfixturevalue("async_db")
    return lambda scenario: asyncio.run(closing(async_db, scenario))


async def closing(async_db: Any, scenario: Scenario) -> Any:
    """``scenario(async_db)``, then the client's channel closed inside the loop it runs on
    (left open, its poller would call back into the closed loop)."""
    try:
        return await scenario(async_db)
    finally:
        await async_db._firestore_api.transport.close()


async def settle(result: Any) -> Any:
    """What a client call gives: awaited for the async client, as is for the sync one."""
    return await result if inspect.isawaitable(result) else result


async def items(result: Any) -> list[Any]:
    """The elements of a stream: a sync iterator, an async one, or an awaitable of either."""
    result = await settle(result)
    if hasattr(result, "__aiter__"):
        return [x async for x in result]
    return list(result)


async def data(ref: Any) -> Any:
    """A document's fields, None when it does not exist."""
    snap = await settle(ref.get())
    return snap.to_dict()


async def ids(query: Any) -> list[str]:
    return [snap.id for snap in await items(query.stream())]


async def seed(db: Any, docs: dict[str, dict[str, Any]]) -> None:
    """One batch writing ``{path: data}``."""
    batch = db.batch()
    for path, fields in docs.items():
        batch.set(db.document(path), fields)
    await settle(batch.commit())


def transactional(db: Any, body: Scenario) -> Callable[[Any], Any]:
    """``body`` (a coroutine function of the transaction) run by the client's own
    transaction runner, which begins, commits, retries on ABORTED and rolls back on error:
    ``firestore.async_transactional`` or ``firestore.transactional``.

    In the body, read with ``ref.get(transaction=t)`` and ``db.get_all(refs,
    transaction=t)``: the AsyncClient's own ``AsyncTransaction.get_all`` (and ``.get`` of a
    document) await an async generator and raise TypeError in google-cloud-firestore 2.34,
    a client bug that no server can change."""
    if isinstance(db, firestore.AsyncClient):
        return firestore.async_transactional(body)
    return firestore.transactional(lambda transaction: drive(body(transaction)))


def rpc(db: Any, method: str, **request: Any) -> Any:
    """A raw RPC through the client's GAPIC layer, for request fields the high-level API
    does not expose (count up_to, show_missing=false, BatchWrite's per-write statuses)."""
    return getattr(db._firestore_api, method)(request=request, metadata=db._rpc_metadata)


def counters(server: Any, project_id: str) -> dict[str, int]:
    database = f"projects/{project_id}/databases/(default)"
    return dict(server.counters.for_database(database))


# --- Commit ------------------------------------------------------------------------------


def test_commit_writes(run: Any) -> None:
    """set replaces, merge=True merges maps, merge=[paths] writes only those paths, update
    sets dotted and quoted field paths and deletes DELETE_FIELD, delete is idempotent,
    create refuses an existing document (ALREADY_EXISTS, a Conflict)."""

    async def scenario(db: Any) -> None:
        ref = db.document("c/d")
        await settle(ref.set({"a": 1, "m": {"x": 1, "y": 2}, "gone": True}))
        await settle(ref.set({"b": 2, "m": {"y": 3}}, merge=True))
        assert {"a": 1, "b": 2, "m": {"x": 1, "y": 3}, "gone": True} == await data(ref)
        await settle(ref.set({"a": 9, "b": 9, "m": {"x": 5, "y": 9}}, merge=["b", "m.x"]))
        assert {"a": 1, "b": 9, "m": {"x": 5, "y": 3}, "gone": True} == await data(ref)
        quoted = FieldPath("odd.name").to_api_repr()
        await settle(ref.update({"m.z.deep": "new", quoted: 1, "gone": firestore.DELETE_FIELD}))
        expected = {"a": 1, "b": 9, "m": {"x": 5, "y": 3, "z": {"deep": "new"}}, "odd.name": 1}
        assert expected == await data(ref)
        await settle(ref.set({"c": 3}))
        assert {"c": 3} == await data(ref)
        await settle(ref.delete())
        await settle(ref.delete())
        assert None is await data(ref)
        await settle(ref.create({"n": 1}))
        with pytest.raises(exceptions.AlreadyExists):
            await settle(ref.create({"n": 2}))
        assert {"n": 1} == await data(ref)

    run(scenario)


def test_commit_preconditions(run: Any) -> None:
    """exists=true on a missing document is NOT_FOUND (update() carries it); a stale
    update_time is FAILED_PRECONDITION; a failing precondition fails its whole batch."""

    async def scenario(db: Any) -> None:
        missing = db.document("c/missing")
        with pytest.raises(exceptions.NotFound):
            await settle(missing.update({"n": 1}))
        with pytest.raises(exceptions.NotFound):
            await settle(missing.delete(option=db.write_option(exists=True)))
        ref = db.document("c/d")
        first = await settle(ref.set({"n": 1}))
        stale = db.write_option(last_update_time=first.update_time)
        second = await settle(ref.update({"n": 2}, option=stale))
        with pytest.raises(exceptions.FailedPrecondition):
            await settle(ref.update({"n": 3}, option=stale))
        with pytest.raises(exceptions.FailedPrecondition):
            await settle(ref.delete(option=stale))
        batch = db.batch()
        batch.set(db.document("c/other"), {"n": 1})
        batch.update(ref, {"n": 4}, option=stale)
        with pytest.raises(exceptions.FailedPrecondition):
            await settle(batch.commit())
        assert ({"n": 2}, None, None) == (
            await data(ref),
            await data(db.document("c/other")),
            await data(missing),
        )
        await settle(ref.delete(option=db.write_option(last_update_time=second.update_time)))
        assert None is await data(ref)

    run(scenario)


def test_commit_transforms(run: Any) -> None:
    """All field transforms in one update, and on missing fields in a set."""

    async def scenario(db: Any) -> None:
        ref = db.document("c/d")
        await settle(
            ref.set({"i": 1, "f": 1.5, "hi": 5, "lo": 5, "t": ["a", "b", "a"], "r": [1, 2, 2, 3]})
        )
        result = await settle(
            ref.update(
                {
                    "at": firestore.SERVER_TIMESTAMP,
                    "i": firestore.Increment(2),
                    "f": firestore.Increment(1),
                    "hi": firestore.Maximum(9),
                    "lo": firestore.Minimum(2.5),
                    "t": firestore.ArrayUnion(["b", "c", "c"]),
                    "r": firestore.ArrayRemove([2.0]),
                }
            )
        )
        got = await data(ref)
        assert {
            "at": result.update_time,
            "i": 3,
            "f": 2.5,
            "hi": 9,
            "lo": 2.5,
            "t": ["a", "b", "a", "c"],
            "r": [1, 3],
        } == got
        assert (int, float) == (type(got["i"]), type(got["lo"]))
        fresh = db.document("c/fresh")
        await settle(
            fresh.set(
                {
                    "n": firestore.Increment(7),
                    "mx": firestore.Maximum(4),
                    "mn": firestore.Minimum(-1.5),
                    "u": firestore.ArrayUnion([1, 1]),
                    "r": firestore.ArrayRemove([1]),
                }
            )
        )
        assert {"n": 7, "mx": 4, "mn": -1.5, "u": [1], "r": []} == await data(fresh)

    run(scenario)


# --- BatchGetDocuments -----------------------------------------------------------------


def test_batch_get_missing_and_masks(run: Any) -> None:
    """get_all answers missing documents too (with a read time); field_paths masks."""

    async def scenario(db: Any) -> None:
        full = {"n": 1, "m": {"x": 1, "y": 2}, "z": 3}
        await seed(db, {"c/a": full})
        a, missing = db.document("c/a"), db.document("c/missing")
        snaps = await items(db.get_all([a, missing]))
        assert {"a": full, "missing": None} == {s.id: s.to_dict() for s in snaps}
        assert all(s.read_time is not None for s in snaps)
        (masked,) = await items(db.get_all([a], field_paths=["n", "m.y"]))
        assert {"n": 1, "m": {"y": 2}} == masked.to_dict()
        assert {} == (await settle(a.get(field_paths=[]))).to_dict()

    run(scenario)


def test_batch_get_in_a_transaction(run: Any) -> None:
    """get_all in a transaction reads (and locks) its documents, a missing one included."""

    async def scenario(db: Any) -> None:
        await seed(db, {"c/a": {"n": 1}, "c/b": {"n": 2}})
        refs = [db.document("c/a"), db.document("c/b"), db.document("c/total")]

        async def swap_and_total(transaction: Any) -> bool:
            snaps = {s.id: s for s in await items(db.get_all(refs, transaction=transaction))}
            transaction.update(refs[0], {"n": snaps["b"].get("n")})
            transaction.update(refs[1], {"n": snaps["a"].get("n")})
            transaction.set(refs[2], {"n": snaps["a"].get("n") + snaps["b"].get("n")})
            return bool(snaps["total"].exists)

        assert False is await settle(transactional(db, swap_and_total)(db.transaction()))
        assert [{"n": 2}, {"n": 1}, {"n": 3}] == [await data(r) for r in refs]

    run(scenario)


# --- RunQuery ----------------------------------------------------------------------------

FILTERED: dict[str, dict[str, Any]] = {
    "c/a": {"n": 1, "t": ["x", "y"]},
    "c/b": {"n": 2, "t": ["y", 1]},
    "c/c": {"n": 3, "t": "x"},
    "c/d": {"n": 2.5},
    "c/e": {"other": 1},
    "c/f": {"n": None},
}


def test_query_field_filters(run: Any) -> None:
    """Every field filter operator (on ``t`` for the array ones, ``n`` for the others);
    ints and doubles compare as numbers; a missing field never matches; != and not-in skip
    null and, as inequalities, order by their field."""
    cases = [
        ("<", 2.5, ["a", "b"]),
        ("<=", 2.5, ["a", "b", "d"]),
        (">", 2, ["d", "c"]),
        (">=", 2, ["b", "d", "c"]),
        ("==", 2.0, ["b"]),
        ("!=", 2, ["a", "d", "c"]),
        ("in", [3, 1, 9], ["a", "c"]),
        ("not-in", [1, 3], ["b", "d"]),
        ("array_contains", "x", ["a"]),
        ("array_contains", 1.0, ["b"]),
        ("array_contains_any", [1, "x"], ["a", "b"]),
    ]

    async def scenario(db: Any) -> None:
        await seed(db, FILTERED)
        c = db.collection("c")
        got = []
        for op, value, _ in cases:
            field = "t" if op.startswith("array") else "n"
            got.append((op, value, await ids(c.where(filter=FieldFilter(field, op, value)))))
        assert cases == got

    run(scenario)


NULLS: dict[str, dict[str, Any]] = {
    "c/p_str": {"v": "s"},
    "c/q_num": {"v": 1.5},
    "c/r_nan": {"v": math.nan},
    "c/s_null": {"v": None},
    "c/t_missing": {"w": 1},
}


def test_query_unary_filters(run: Any) -> None:
    """== / != None and NaN are sent as IS_NULL, IS_NOT_NULL, IS_NAN, IS_NOT_NAN; a
    missing field never matches; the negations skip null and, as inequalities, order by
    the field (NaN before numbers before strings), not by name."""
    cases = [
        ("==", None, ["s_null"]),
        ("!=", None, ["r_nan", "q_num", "p_str"]),
        ("==", math.nan, ["r_nan"]),
        ("!=", math.nan, ["q_num", "p_str"]),
    ]

    async def scenario(db: Any) -> None:
        await seed(db, NULLS)
        c = db.collection("c")
        got = [await ids(c.where(filter=FieldFilter("v", op, value))) for op, value, _ in cases]
        assert [want for *_, want in cases] == got

    run(scenario)


def test_query_composite_filters(run: Any) -> None:
    """AND, OR, and each nested in the other; OR returns each match once, in name order."""

    async def scenario(db: Any) -> None:
        await seed(db, {f"c/d{i}": {"a": i % 3, "b": i % 2} for i in range(6)})
        c = db.collection("c")
        both = And([FieldFilter("a", "==", 0), FieldFilter("b", "==", 1)])
        either = Or([FieldFilter("a", "==", 2), FieldFilter("b", "==", 1)])
        nested = Or([both, And([FieldFilter("a", "==", 1), FieldFilter("b", "==", 0)])])
        inside = And(
            [FieldFilter("a", ">", 0), Or([FieldFilter("b", "==", 0), FieldFilter("a", "==", 2)])]
        )
        assert ["d3"] == await ids(c.where(filter=both))
        assert ["d1", "d2", "d3", "d5"] == await ids(c.where(filter=either))
        assert ["d3", "d4"] == await ids(c.where(filter=nested))
        assert ["d4", "d2", "d5"] == await ids(c.where(filter=inside))  # ordered by a

    run(scenario)


def test_query_order_by_several_fields(run: Any) -> None:
    """Orders apply in turn; ties fall to __name__ in the last order's direction; a
    document without an ordered field is left out."""

    async def scenario(db: Any) -> None:
        await seed(
            db,
            {
                "c/a": {"x": 1, "y": 1},
                "c/b": {"x": 1, "y": 2},
                "c/c": {"x": 2, "y": 1},
                "c/d": {"x": 1, "y": 2},
                "c/e": {"y": 9},
            },
        )
        c = db.collection("c")
        desc = firestore.Query.DESCENDING
        assert ["a", "b", "d", "c"] == await ids(c.order_by("x").order_by("y"))
        assert ["d", "b", "a", "c"] == await ids(c.order_by("x").order_by("y", direction=desc))
        assert ["c", "a", "b", "d"] == await ids(c.order_by("x", direction=desc).order_by("y"))
        assert ["a", "b", "c", "d", "e"] == await ids(c)

    run(scenario)


SCORES: dict[str, dict[str, Any]] = {
    f"s/{k}": {"score": v} for k, v in zip("abcdef", (10, 20, 20, 30, 40, 50), strict=True)
}


def test_query_cursors_offset_limit(run: Any) -> None:
    """start_at/end_at include the cursor, start_after/end_before exclude it (the proto's
    ``before``); snapshot cursors position on (score, __name__); offset then limit."""

    async def scenario(db: Any) -> None:
        await seed(db, SCORES)
        s = db.collection("s")
        by_score = s.order_by("score")
        b = await settle(s.document("b").get())
        assert ["b", "c", "d"] == await ids(by_score.start_at({"score": 20}).end_at({"score": 30}))
        assert ["d"] == await ids(by_score.start_after({"score": 20}).end_before({"score": 40}))
        assert ["c", "d", "e", "f"] == await ids(by_score.start_after(b))
        assert ["a"] == await ids(by_score.end_before(b))
        desc = s.order_by("score", direction="DESCENDING")
        assert ["d", "c", "b"] == await ids(desc.start_at({"score": 30}).end_at({"score": 20}))
        assert ["c", "d"] == await ids(by_score.offset(2).limit(2))
        assert ["d", "e"] == await ids(by_score.start_after({"score": 20}).limit(2))
        assert ["a", "b", "c"] == await ids(s.limit(3))
        assert [] == await ids(by_score.offset(10))

    run(scenario)


def test_query_projections(run: Any) -> None:
    """select() returns only the listed fields, nested ones as their leaf; select([]) none."""

    async def scenario(db: Any) -> None:
        await seed(db, {"c/a": {"n": 1, "m": {"x": 1, "y": 2}, "z": 3}, "c/b": {"z": 4}})
        c = db.collection("c")
        projected = await items(c.select(["n", "m.x"]).stream())
        assert [{"n": 1, "m": {"x": 1}}, {}] == [s.to_dict() for s in projected]
        assert [{}, {}] == [s.to_dict() for s in await items(c.select([]).stream())]

    run(scenario)


def test_query_collection_groups(run: Any) -> None:
    """A collection group (all_descendants from the root) finds its id at any depth, in
    document-path order; all_descendants under a document searches only below it."""

    async def scenario(db: Any) -> None:
        await seed(
            db,
            {
                "items/top": {"n": 1},
                "a/1/items/mid": {"n": 2},
                "a/1/b/2/items/deep": {"n": 3},
                "a/1/other/x": {"n": 4},
                "a/1/items/mid/items/deeper": {"n": 5},
                "a/2/items/elsewhere": {"n": 6},
            },
        )
        group = db.collection_group("items")
        assert ["deep", "mid", "deeper", "elsewhere", "top"] == await ids(group)
        over_two = group.where(filter=FieldFilter("n", ">", 2)).order_by(
            "n", direction="DESCENDING"
        )
        assert ["elsewhere", "deeper", "deep"] == await ids(over_two)
        under_a1 = await items(
            rpc(
                db,
                "run_query",
                parent=f"{db._database_string}/documents/a/1",
                structured_query={"from_": [{"collection_id": "items", "all_descendants": True}]},
            )
        )
        names = [r.document.name for r in under_a1 if r.document.name]
        assert ["deep", "mid", "deeper"] == [n.rsplit("/", 1)[1] for n in names]

    run(scenario)


def test_query_in_a_transaction(run: Any) -> None:
    """A query and an aggregation run in a transaction; its writes commit with it."""

    async def scenario(db: Any) -> None:
        await seed(db, {f"c/{i}": {"n": i, "open": i != 1} for i in range(3)})
        open_docs = db.collection("c").where(filter=FieldFilter("open", "==", True))

        async def close_all(transaction: Any) -> tuple[list[str], int]:
            snaps = await items(open_docs.stream(transaction=transaction))
            (row,) = await settle(db.collection("c").count(alias="n").get(transaction=transaction))
            for snap in snaps:
                transaction.update(snap.reference, {"open": False})
            return [s.id for s in snaps], row[0].value

        assert (["0", "2"], 3) == await settle(transactional(db, close_all)(db.transaction()))
        assert [] == await ids(open_docs)

    run(scenario)


# --- RunAggregationQuery -----------------------------------------------------------------

SALES: dict[str, dict[str, Any]] = {
    "sales/a": {"amount": 10, "qty": 1},
    "sales/b": {"amount": 20, "qty": 2},
    "sales/c": {"amount": 30, "qty": 3},
    "sales/d": {"price": 1.5, "qty": 4},
    "sales/e": {"amount": "n/a", "price": 2.5},
}


def test_aggregation_count_sum_avg(run: Any) -> None:
    """count, sum and avg under their aliases; non-numbers are skipped; an int sum stays
    int, a double anywhere makes a double; a filter narrows what is aggregated."""

    async def scenario(db: Any) -> None:
        await seed(db, SALES)
        sales = db.collection("sales")

        async def results(aggregation: Any) -> dict[str, Any]:
            (row,) = await settle(aggregation.get())
            return {r.alias: r.value for r in row}

        everything = sales.count(alias="n").sum("amount", alias="total").avg("amount", alias="mean")
        assert {"n": 5, "total": 60, "mean": 20.0} == await results(everything)
        typed = await results(sales.sum("qty", alias="q").sum("price", alias="p"))
        assert ({"q": 10, "p": 4.0}, int, float) == (typed, type(typed["q"]), type(typed["p"]))
        busy = sales.where(filter=FieldFilter("qty", ">=", 2))
        filtered = busy.count(alias="n").sum("qty", alias="q").avg("price", alias="avg_price")
        assert {"n": 3, "q": 9, "avg_price": 1.5} == await results(filtered)

    run(scenario)


def test_aggregation_up_to(run: Any) -> None:
    """count up_to stops at the bound; avg of no numbers is null, their sum the integer 0
    (raw requests: the high-level API has no up_to and reads a null avg as 0.0)."""

    async def scenario(db: Any) -> None:
        await seed(db, SALES)
        responses = await items(
            rpc(
                db,
                "run_aggregation_query",
                parent=f"{db._database_string}/documents",
                structured_aggregation_query={
                    "structured_query": {"from_": [{"collection_id": "sales"}]},
                    "aggregations": [
                        {"alias": "capped", "count": {"up_to": 2}},
                        {"alias": "all", "count": {"up_to": 100}},
                        {"alias": "a", "avg": {"field": {"field_path": "missing"}}},
                        {"alias": "s", "sum": {"field": {"field_path": "missing"}}},
                    ],
                },
            )
        )
        (result,) = [r.result for r in responses if r.result]
        got = {k: _helpers.decode_value(v, db) for k, v in result.aggregate_fields.items()}
        assert {"capped": 2, "all": 5, "a": None, "s": 0} == got
        assert int is type(got["s"])

    run(scenario)


# --- BeginTransaction, Commit, Rollback ----------------------------------------------------


def test_transaction_begin_commit(run: Any, firestore_server: Any, project_id: str) -> None:
    """A transaction is BeginTransaction, its reads, one Commit; it reads a missing
    document as missing and may create it."""

    async def scenario(db: Any) -> None:
        ref = db.document("c/counter")

        async def bump(transaction: Any) -> int:
            snap = await settle(ref.get(transaction=transaction))
            n = snap.get("n") + 1 if snap.exists else 1
            transaction.set(ref, {"n": n})
            return int(n)

        before = counters(firestore_server, project_id)
        assert [1, 2] == [await settle(transactional(db, bump)(db.transaction())) for _ in "ab"]
        after = counters(firestore_server, project_id)
        rpcs = ("BeginTransaction", "BatchGetDocuments", "Commit", "Rollback")
        assert [2, 2, 2, 0] == [after.get(m, 0) - before.get(m, 0) for m in rpcs]
        assert {"n": 2} == await data(ref)

    run(scenario)


def test_transaction_rollback(run: Any, firestore_server: Any, project_id: str) -> None:
    """A transaction whose function raises is rolled back (Rollback, no Commit): none of
    its writes happen and its lock is released, so a plain write proceeds at once."""

    async def scenario(db: Any) -> None:
        ref = db.document("c/a")
        await settle(ref.set({"n": 1}))

        async def fail(transaction: Any) -> None:
            snap = await settle(ref.get(transaction=transaction))
            transaction.update(ref, {"n": snap.get("n") + 1})
            transaction.set(db.document("c/new"), {"n": 1})
            raise RuntimeError("boom")

        before = counters(firestore_server, project_id)
        with pytest.raises(RuntimeError, match="boom"):
            await settle(transactional(db, fail)(db.transaction()))
        after = counters(firestore_server, project_id)
        rpcs = ("BeginTransaction", "Commit", "Rollback")
        assert [1, 0, 1] == [after.get(m, 0) - before.get(m, 0) for m in rpcs]
        assert ({"n": 1}, None) == (await data(ref), await data(db.document("c/new")))
        await settle(ref.set({"n": 2}))
        assert {"n": 2} == await data(ref)

    run(scenario)


THREADS, INCREMENTS = 8, 25


def test_concurrent_transactions_threads(db: Any) -> None:
    """8 threads x 25 read-modify-write transactions on one document, each thread with
    its own sync Client: exactly 200, none lost to a race."""
    from google.cloud.firestore import Client

    ref = db.document("counters/one")
    ref.set({"n": 0})
    errors: list[BaseException] = []

    def worker() -> None:
        client = Client(project=db.project)
        mine = client.document("counters/one")

        @firestore.transactional
        def increment(transaction: Any) -> None:
            snap = mine.get(transaction=transaction)
            transaction.update(mine, {"n": snap.get("n") + 1})

        try:
            for _ in range(INCREMENTS):
                increment(client.transaction(max_attempts=50))
        except BaseException as err:  # reported by the assert below
            errors.append(err)
        finally:
            client.close()  # type: ignore[no-untyped-call]

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ([], THREADS * INCREMENTS) == (errors, ref.get().get("n"))


def test_concurrent_transactions_async(async_db: Any) -> None:
    """8 tasks x 25 async_transactional increments of one document, interleaved on one
    AsyncClient by asyncio.gather: exactly 200."""

    async def scenario(db: Any) -> int:
        ref = db.document("counters/one")
        await ref.set({"n": 0})

        @firestore.async_transactional
        async def increment(transaction: Any) -> None:
            snap = await ref.get(transaction=transaction)
            transaction.update(ref, {"n": snap.get("n") + 1})

        async def worker() -> None:
            for _ in range(INCREMENTS):
                await increment(db.transaction(max_attempts=50))

        await asyncio.gather(*(worker() for _ in range(THREADS)))
        return int((await ref.get()).get("n"))

    assert THREADS * INCREMENTS == asyncio.run(closing(async_db, scenario))


# --- BatchWrite, ListDocuments, ListCollectionIds ----------------------------------------


def test_batch_write_per_write_status(run: Any) -> None:
    """BatchWrite applies each write on its own and answers one status per write: OK,
    ALREADY_EXISTS (6), NOT_FOUND (5), OK, FAILED_PRECONDITION (9); failures write nothing."""

    async def scenario(db: Any) -> None:
        first = await settle(db.document("c/old").set({"n": 1}))
        await seed(db, {"c/exists": {"n": 1}, "c/old": {"n": 2}})
        root = f"{db._database_string}/documents"
        value = {"n": {"integer_value": 9}}
        writes = [
            {"update": {"name": f"{root}/c/a", "fields": value}},
            {
                "update": {"name": f"{root}/c/exists", "fields": value},
                "current_document": {"exists": False},
            },
            {
                "update": {"name": f"{root}/c/missing", "fields": value},
                "current_document": {"exists": True},
            },
            {"delete": f"{root}/c/gone"},
            {
                "update": {"name": f"{root}/c/old", "fields": value},
                "current_document": {"update_time": first.update_time},
            },
        ]
        response = await settle(rpc(db, "batch_write", database=db._database_string, writes=writes))
        assert [0, 6, 5, 0, 9] == [s.code for s in response.status]
        # a WriteResult carries update_time for a written document (not after a delete)
        written = ["update_time" in r for r in response.write_results]
        assert [True, False, False, False, False] == written
        paths = ("c/a", "c/exists", "c/missing", "c/old")
        assert [{"n": 9}, {"n": 1}, None, {"n": 2}] == [await data(db.document(p)) for p in paths]

    run(scenario)


def test_list_documents_show_missing(run: Any) -> None:
    """list_documents (the client asks show_missing) lists a missing document that has a
    live subcollection, as a document without times; without show_missing only real ones."""

    async def scenario(db: Any) -> None:
        await seed(db, {"c/real": {"n": 1}, "c/ghost/sub/x": {"n": 2}, "c/dead/sub/y": {}})
        await settle(db.document("c/dead/sub/y").delete())
        refs = await items(db.collection("c").list_documents(page_size=1))
        assert ["ghost", "real"] == [r.id for r in refs]
        assert [False, True] == [(await settle(r.get())).exists for r in refs]
        parent = f"{db._database_string}/documents"

        async def listed(show_missing: bool) -> list[tuple[str, bool]]:
            docs = await items(
                rpc(
                    db,
                    "list_documents",
                    parent=parent,
                    collection_id="c",
                    show_missing=show_missing,
                )
            )
            return [(d.name.rsplit("/", 1)[1], "create_time" in d) for d in docs]

        assert [("ghost", False), ("real", True)] == await listed(True)
        assert [("real", True)] == await listed(False)

    run(scenario)


def test_list_collection_ids(run: Any) -> None:
    """collections() at the root and under a document (missing or not) lists ids holding
    a document at any depth below, in order; an emptied collection is gone."""

    async def scenario(db: Any) -> None:
        await seed(
            db,
            {
                "b/1": {},
                "a/missing/sub/x": {},
                "b/1/s2/y/deeper/z": {},
                "b/1/s1/x": {},
                "gone/1": {},
            },
        )
        await settle(db.document("gone/1").delete())
        assert ["a", "b"] == [c.id for c in await items(db.collections())]
        assert ["s1", "s2"] == [c.id for c in await items(db.document("b/1").collections())]
        assert ["sub"] == [c.id for c in await items(db.document("a/missing").collections())]
        assert [] == await items(db.document("b/2").collections())

    run(scenario)


# --- Listen ------------------------------------------------------------------------------
# Sync client only: on_snapshot is a method of the sync Client's documents and queries
# (a background thread consumes the Listen stream); the AsyncClient has no listener API.


class Snapshots:
    """on_snapshot callback; ``next()`` is the following (document ids, changes)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[list[Any], list[tuple[str, str]]]] = queue.Queue()

    def __call__(self, docs: list[Any], changes: list[Any], read_time: Any) -> None:
        kinds = sorted((c.type.name, c.document.id) for c in changes)
        self._queue.put(([d.to_dict() for d in docs], kinds))

    def next(self) -> tuple[list[Any], list[tuple[str, str]]]:
        return self._queue.get(timeout=5)


def test_listen_document(db: Any) -> None:
    """A document watch: a missing document (no snapshot), its creation, a change, its
    deletion."""
    ref = db.document("c/a")
    snaps = Snapshots()
    watch = ref.on_snapshot(snaps)
    try:
        assert ([], []) == snaps.next()
        ref.set({"n": 1})
        assert ([{"n": 1}], [("ADDED", "a")]) == snaps.next()
        ref.update({"n": 2})
        assert ([{"n": 2}], [("MODIFIED", "a")]) == snaps.next()
        ref.delete()
        assert ([], [("REMOVED", "a")]) == snaps.next()
    finally:
        watch.unsubscribe()


def test_listen_query(db: Any) -> None:
    """A filtered, ordered query watch: the current results, then ADDED, MODIFIED, and
    REMOVED when a document stops matching."""
    db.document("c/a").set({"open": True, "n": 1})
    db.document("c/b").set({"open": False, "n": 2})
    db.document("c/sub/x/y").set({"open": True, "n": 0})  # another collection: never seen
    snaps = Snapshots()
    query = db.collection("c").where(filter=FieldFilter("open", "==", True)).order_by("n")
    watch = query.on_snapshot(snaps)
    try:
        assert ([{"open": True, "n": 1}], [("ADDED", "a")]) == snaps.next()
        db.document("c/b").update({"open": True})
        assert ([{"open": True, "n": 1}, {"open": True, "n": 2}], [("ADDED", "b")]) == snaps.next()
        db.document("c/a").update({"n": 3})
        assert ([{"open": True, "n": 2}, {"open": True, "n": 3}], [("MODIFIED", "a")]) == (
            snaps.next()
        )
        db.document("c/b").update({"open": False})
        assert ([{"open": True, "n": 3}], [("REMOVED", "b")]) == snaps.next()
    finally:
        watch.unsubscribe()
