"""Every write that makes a company active on a day also marks the day (in the same commit).

``ActivityStore`` wraps the document store every function gets: a commit or transaction
whose writes make a company active (``shared.domain.activity.marks_of``) carries the
company's marker for the day as one more write, so no path that creates activity can
forget it and none pays a round trip for it. Each instance remembers the marks it has
written, so a company's marker is written about once per instance and day (and once per
new lead source), not with every lead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from shared.domain.activity import Mark, marker_writes, marks_of
from shared.ports import Aggregation, Filter, PagedStore, Snapshot, Transaction, Write

T = TypeVar("T")
# Firestore takes at most this many writes in one commit.
MAX_WRITES = 500
# Marks remembered per instance; past this the memory starts again (a marker or two more).
REMEMBERED = 50_000


class ActivityStore:
    """Implements ``shared.ports.PagedStore`` over another one, adding activity markers."""

    def __init__(self, inner: PagedStore, now: Callable[[], datetime]) -> None:
        self.inner = inner
        self.now = now
        self.written: set[Mark] = set()

    def get_all(self, paths: Sequence[str]) -> list[Snapshot]:
        return self.inner.get_all(paths)

    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[tuple[str, bool]] = (),
        limit: int | None = None,
        collection_group: bool = False,
        start_after: Snapshot | None = None,
    ) -> list[Snapshot]:
        return self.inner.query(collection, filters, order_by, limit, collection_group, start_after)

    def aggregate(
        self,
        collection: str,
        aggregations: Sequence[Aggregation],
        filters: Sequence[Filter] = (),
        collection_group: bool = False,
    ) -> list[int | float]:
        return self.inner.aggregate(collection, aggregations, filters, collection_group)

    def page(
        self,
        parent: str,
        collection_id: str,
        after: str | None,
        limit: int,
        descendants: bool = False,
    ) -> list[Snapshot]:
        return self.inner.page(parent, collection_id, after, limit, descendants)

    def count(self, collection: str) -> int:
        return self.inner.count(collection)

    def commit(self, writes: Sequence[Write]) -> None:
        marks = self.new_marks(writes)
        markers = marker_writes(marks)
        if len(writes) + len(markers) > MAX_WRITES:
            # No room beside them: the markers first (a marker too many is harmless, a
            # missing one would lose the day's metrics).
            self.inner.commit(markers)
            markers = []
        self.inner.commit([*writes, *markers])
        self.remember(marks)

    def run_transaction(self, fn: Callable[[Transaction], T]) -> T:
        attempt: list[set[Mark]] = []

        def marked(tx: Transaction) -> T:
            watched = _MarkingTransaction(tx)
            result = fn(watched)
            attempt[:] = [self.new_marks(watched.writes)]
            for write in marker_writes(attempt[0]):
                tx.write(write)
            return result

        result = self.inner.run_transaction(marked)
        self.remember(attempt[0] if attempt else set())
        return result

    def new_marks(self, writes: Sequence[Write]) -> set[Mark]:
        """The marks of ``writes`` this instance has not written yet."""
        today = self.now().date().isoformat()
        return {m for w in writes for m in marks_of(w, today)} - self.written

    def remember(self, marks: set[Mark]) -> None:
        if len(self.written) + len(marks) > REMEMBERED:
            self.written.clear()
        self.written |= marks


class _MarkingTransaction:
    """The ``Transaction`` port, noting the writes made through it."""

    def __init__(self, inner: Transaction) -> None:
        self.inner = inner
        self.writes: list[Write] = []

    def get(self, path: str) -> Snapshot:
        return self.inner.get(path)

    def get_all(self, paths: Sequence[str]) -> list[Snapshot]:
        return self.inner.get_all(paths)

    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[tuple[str, bool]] = (),
        limit: int | None = None,
    ) -> list[Snapshot]:
        return self.inner.query(collection, filters, order_by, limit)

    def write(self, write: Write) -> None:
        self.writes.append(write)
        self.inner.write(write)

    def __getattr__(self, name: str) -> Any:
        # Whatever else the wrapped transaction holds (the client's own), unchanged.
        return getattr(self.inner, name)
