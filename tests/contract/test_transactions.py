"""``DocumentStore.run_transaction`` and the ``Transaction`` port, alike on the fake and on
Firestore: reads then writes, committed together or not at all, run again when a read
changed before the commit, given up after ten attempts."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import AlreadyExists, Contention
from shared.ports import Filter, Increment, Write

LEADS = "companies/acme/leads"
SUMMARY = "companies/acme/stats/leads"


def test_reads_and_writes_commit_together_and_return_the_result(store: Any) -> None:
    store.commit([Write(f"{LEADS}/a", {"n": 1})])

    def move(tx: Any) -> Any:
        a, b = tx.get_all([f"{LEADS}/a", f"{LEADS}/b"])
        assert (a.data, b.data, tx.get(f"{LEADS}/b").exists) == ({"n": 1}, None, False)
        tx.write(Write(f"{LEADS}/b", {"n": a.data["n"] + 1}, "create"))
        tx.write(Write(f"{LEADS}/a", {}, "delete"))
        return "moved"

    assert store.run_transaction(move) == "moved"
    assert [s.data for s in store.get_all([f"{LEADS}/a", f"{LEADS}/b"])] == [None, {"n": 2}]


def test_queries_in_a_transaction_filter_order_and_limit(store: Any) -> None:
    store.commit(
        [Write(f"{LEADS}/{k}", {"s": "new", "n": n}) for k, n in (("a", 3), ("b", 1), ("c", 2))]
    )
    store.commit([Write(f"{LEADS}/d", {"s": "won", "n": 0})])

    def top(tx: Any) -> list[str]:
        found = tx.query(LEADS, [Filter("s", "==", "new")], [("n", True)], limit=2)
        return [s.path.rsplit("/", 1)[1] for s in found]

    assert store.run_transaction(top) == ["a", "c"]


def test_an_error_in_the_function_writes_nothing(store: Any) -> None:
    def fail(tx: Any) -> None:
        tx.get(f"{LEADS}/a")
        tx.write(Write(f"{LEADS}/a", {"n": 1}))
        raise RuntimeError("changed our mind")

    with pytest.raises(RuntimeError, match="changed our mind"):
        store.run_transaction(fail)
    assert store.get_all([f"{LEADS}/a"])[0].data is None
    store.commit([Write(f"{LEADS}/a", {"n": 2})])  # and holds on to nothing
    assert store.get_all([f"{LEADS}/a"])[0].data == {"n": 2}


def test_a_read_after_a_write_is_refused(store: Any) -> None:
    def write_then_read(tx: Any) -> None:
        tx.write(Write(f"{LEADS}/a", {"n": 1}))
        tx.get(f"{LEADS}/b")

    with pytest.raises(Exception, match="read after write"):
        store.run_transaction(write_then_read)
    assert store.get_all([f"{LEADS}/a"])[0].data is None


def test_a_query_whose_answer_changed_before_the_commit_runs_again(store: Any) -> None:
    """Someone adds a matching lead between the count and its commit: the count is taken
    again, so it holds the late lead too."""
    store.commit([Write(f"{LEADS}/early", {"s": "new"})])
    attempts: list[int] = []

    def count(tx: Any) -> int:
        attempts.append(1)
        found = tx.query(LEADS, [Filter("s", "==", "new")])
        if len(attempts) == 1:
            store.commit([Write(f"{LEADS}/late", {"s": "new"})])
        tx.write(Write(SUMMARY, {"new": len(found), "runs": Increment(1)}, "merge"))
        return len(found)

    assert (store.run_transaction(count), len(attempts)) == (2, 2)
    assert store.get_all([SUMMARY])[0].data == {"new": 2, "runs": 1}


def test_contention_on_every_attempt_gives_up_after_ten(store: Any) -> None:
    attempts: list[int] = []

    def never(tx: Any) -> None:
        attempts.append(1)
        tx.query(LEADS)
        store.commit([Write(f"{LEADS}/{len(attempts)}", {})])
        tx.write(Write(SUMMARY, {"n": 1}))

    with pytest.raises(Contention):
        store.run_transaction(never)
    assert (len(attempts), store.get_all([SUMMARY])[0].data) == (10, None)


def test_a_failed_precondition_or_create_in_a_transaction_is_not_retried(store: Any) -> None:
    store.commit([Write(f"{LEADS}/a", {"n": 1})])
    stale = store.get_all([f"{LEADS}/a"])[0].update_time
    store.commit([Write(f"{LEADS}/a", {"n": 2})])
    attempts: list[int] = []

    def guarded(tx: Any) -> None:
        attempts.append(1)
        tx.write(Write(f"{LEADS}/a", {"n": 3}, if_update_time=stale))

    def create(tx: Any) -> None:
        attempts.append(1)
        tx.write(Write(f"{LEADS}/a", {"n": 4}, "create"))

    with pytest.raises(Contention):
        store.run_transaction(guarded)
    with pytest.raises(AlreadyExists):
        store.run_transaction(create)
    assert (len(attempts), store.get_all([f"{LEADS}/a"])[0].data) == (2, {"n": 2})
