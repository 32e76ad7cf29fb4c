"""Local Firestore conformance through the AsyncClient (run with asyncio.run in sync tests)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter


def test_async_write_read_and_query(async_db: Any) -> None:
    """set, update, get, get_all and a filtered, ordered query through the async client."""

    async def main() -> tuple[Any, ...]:
        await async_db.document("c/a").set({"n": 1})
        await async_db.document("c/b").set({"n": 2})
        await async_db.document("c/a").update({"n": firestore.Increment(10)})
        a = (await async_db.document("c/a").get()).to_dict()
        found = [s.exists async for s in async_db.get_all([async_db.document("c/x")])]
        query = async_db.collection("c").where(filter=FieldFilter("n", ">", 1)).order_by("n")
        return a, found, [s.id async for s in query.stream()]

    assert ({"n": 11}, [False], ["b", "a"]) == asyncio.run(main())


def test_async_aggregation(async_db: Any) -> None:
    """count and sum through the async client."""

    async def main() -> dict[str, Any]:
        for i in range(4):
            await async_db.document(f"c/{i}").set({"n": i})
        (row,) = await async_db.collection("c").count(alias="n").sum("n", alias="s").get()
        return {r.alias: r.value for r in row}

    assert {"n": 4, "s": 6} == asyncio.run(main())


def test_async_create_conflict(async_db: Any) -> None:
    """create() of an existing document raises Conflict in the async client too."""

    async def main() -> None:
        await async_db.document("c/a").create({"n": 1})
        await async_db.document("c/a").create({"n": 2})

    with pytest.raises(exceptions.Conflict):
        asyncio.run(main())


def test_async_transaction_rolls_back_on_error(async_db: Any) -> None:
    """An async transaction whose function raises writes nothing."""

    @firestore.async_transactional
    async def fail(transaction: Any) -> None:
        await async_db.document("c/a").get(transaction=transaction)
        transaction.set(async_db.document("c/a"), {"n": 99})
        raise RuntimeError("boom")

    async def main() -> bool:
        with pytest.raises(RuntimeError):
            await fail(async_db.transaction())
        return bool((await async_db.document("c/a").get()).exists)

    assert False is asyncio.run(main())
