"""How the task dispatcher's cost grows with stored tasks.

For 1,000, 10,000 and 100,000 stored tasks (``--quick`` stops at 10,000), seeded through
BulkWriter into a fresh project of the local Firestore and spread over one company per
hundred tasks: a fixed 50 are pending and due, the rest completed or due later.
``dispatch_due_tasks`` (an indexed query on status and scheduled_for with a limit) is
timed and its documents counted against the naive way (read every task, filter here).
The periodic functions whose work follows the companies are the tenants section's.

Documents read are what Firestore bills: every document a query returns, at least one per
query. The local Firestore has no indexes and scans a collection to answer a query, so its
time grows with the stored tasks where production's would not; the documents read do not.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.report import Table, ms
from bench.stack import BenchStack
from shared.ports import DocumentStore, Filter, Snapshot, TaskRequest

DUE = 50
SIZES = (1_000, 10_000, 100_000)


class CountingStore:
    """A ``DocumentStore`` that counts the documents its reads return (billed reads)."""

    def __init__(self, inner: DocumentStore) -> None:
        self.inner, self.read = inner, 0

    def get_all(self, paths: Sequence[str]) -> list[Snapshot]:
        self.read += len(paths)
        return self.inner.get_all(paths)

    def query(self, collection: str, filters: Sequence[Filter] = (), **kw: Any) -> list[Snapshot]:
        found = self.inner.query(collection, filters, **kw)
        self.read += max(1, len(found))
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class NullQueue:
    """Cloud Tasks left out: only Firestore's share of a dispatch is measured."""

    def enqueue(self, task: TaskRequest) -> bool:
        return True

    def cancel(self, name: str) -> bool:
        return True


def seed(client: Any, size: int, now: datetime) -> float:
    """``size`` tasks over ``size // 100`` companies through BulkWriter; seconds taken."""
    from google.cloud.firestore_v1.bulk_writer import BulkWriterOptions

    started = time.perf_counter()
    # The local Firestore needs no ramp-up (production's 500/50/5 rule would apply there).
    options = BulkWriterOptions(initial_ops_per_second=50_000, max_ops_per_second=50_000)
    writer = client.bulk_writer(options=options)
    companies = max(1, size // 100)
    for c in range(companies):
        writer.create(client.document(f"companies/co{c}"), {"name": f"Company {c}"})
    for n in range(size):
        status, when = _task_state(n, now)
        ref = client.document(f"companies/co{n % companies}/scheduled_tasks/t{n}")
        writer.create(ref, {"type": "noop", "status": status, "scheduled_for": when, "data": {}})
    writer.close()
    return time.perf_counter() - started


def _task_state(n: int, now: datetime) -> tuple[str, datetime]:
    if n < DUE:
        return "pending", now - timedelta(minutes=5)
    if n % 2:
        return "completed", now - timedelta(days=1)
    return "pending", now + timedelta(days=1)


def dispatch(stack: BenchStack, project: str, now: datetime) -> dict[str, Any]:
    """The bundle's dispatch: seconds, documents read, RPCs, due tasks found."""
    from shared.adapters.firestore_store import FirestoreStore
    from shared.services.scheduling import dispatch_due_tasks

    store = CountingStore(FirestoreStore(stack.client(project)))
    with stack.round_trips(project) as rpcs:
        started = time.perf_counter()
        result = dispatch_due_tasks(store, NullQueue(), now, run_key=f"bench@{now}")  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "read": store.read, "rpcs": sum(rpcs.values()), "due": result.due}


def naive_dispatch(stack: BenchStack, project: str, now: datetime) -> dict[str, Any]:
    """Every task of every company streamed, the due ones picked out here."""
    client = stack.client(project)
    with stack.round_trips(project) as rpcs:
        started = time.perf_counter()
        tasks = [d.to_dict() for d in client.collection_group("scheduled_tasks").stream()]
        due = [t for t in tasks if t["status"] == "pending" and t["scheduled_for"] <= now]
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "read": len(tasks), "rpcs": sum(rpcs.values()), "due": len(due)}


def measure(stack: BenchStack, size: int) -> dict[str, Any]:
    project, now = f"{stack.project}-t{size}", datetime.now(UTC)
    seeded = seed(stack.client(project), size, now)
    figures: dict[str, Any] = {"size": size, "seed_seconds": seeded}
    figures["ours"] = dispatch(stack, project, now)
    figures["naive"] = naive_dispatch(stack, project, now)
    stack.firestore.store.clear(f"projects/{project}/databases/(default)")
    return figures


def run_section(stack: BenchStack, args: argparse.Namespace) -> list[Table]:
    sizes = SIZES[:2] if args.quick else SIZES
    table = Table(
        "Periodic functions against stored tasks and companies",
        [
            "stored tasks",
            "companies",
            "dispatch: docs read",
            "RPCs",
            "time",
            "naive: docs read",
            "time",
            "seeding",
        ],
    )
    for size in sizes:
        f = measure(stack, size)
        ours, naive = f["ours"], f["naive"]
        table.add(
            [
                f"{size:,}",
                f"{max(1, size // 100):,}",
                ours["read"],
                ours["rpcs"],
                ms(ours["seconds"]),
                f"{naive['read']:,}",
                ms(naive["seconds"]),
                f"{f['seed_seconds']:.0f} s",
            ],
            **f,
        )
    table.notes.append(
        f"{DUE} tasks are due at every size. Dispatch reads the due tasks (plus its run "
        "marker), whatever is stored; the naive dispatch reads every task. Times are the "
        "local Firestore's, which scans where Firestore uses indexes. The other periodic "
        "functions, whose work follows the companies, are in the tenants section."
    )
    return [table]
