"""The document store: versioned documents, atomic commits, transactions and change feed.

Every committed version is kept for an hour (see versions.py: for reads at a ``read_time``
and for read-only transactions), appended to the journal when one is configured, and published to
subscribers (Listen streams, the Eventarc bridge) in commit order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud.firestore import pb
from localcloud.firestore.errors import invalid
from localcloud.firestore.journal import Journal, read_entries
from localcloud.firestore.locking import LockTable, Transaction
from localcloud.firestore.names import database_of, now_ns, ns_to_ts, ts_to_ns
from localcloud.firestore.versions import VersionTable
from localcloud.firestore.writes import Applied, apply_write, changed_paths, target_name

MAX_WRITES_PER_COMMIT = 500


@dataclass(frozen=True)
class Change:
    """One document changed by a commit: the shape Eventarc's DocumentEventData carries."""

    name: str
    before: Any | None
    after: Any | None
    update_mask: list[str]
    commit_ns: int


@dataclass(frozen=True)
class Commit:
    database: str
    commit_ns: int
    changes: list[Change] = field(default_factory=list)


Subscriber = Callable[[Commit], None]
# Called inside a commit, before it applies, with its time and each changed document's
# (before, after); raises to refuse the commit (security rules: see rules/guard.py).
WriteCheck = Callable[[int, dict[str, tuple[Any | None, Any | None]]], None]


def update_ns(doc: Any | None) -> int | None:
    return ts_to_ns(doc.update_time) if doc is not None else None


class Store:
    """All databases of one local Firestore. Thread-safe; one condition guards everything."""

    def __init__(self, data_dir: Path | None = None, import_dir: Path | None = None) -> None:
        self.cond = threading.Condition(threading.RLock())
        self.versions = VersionTable()
        self._lock_tables: dict[str, LockTable] = {}
        self._subscribers: list[Subscriber] = []
        self._last_ns = 0
        for directory in (d for d in (import_dir, data_dir) if d is not None):
            self._last_ns = max(self._last_ns, self.versions.load(read_entries(directory)))
        self.journal = Journal(data_dir) if data_dir is not None else None
        if self.journal is not None:
            self.journal.compact(self.latest_documents())

    # --- time ------------------------------------------------------------------------

    def read_time(self) -> int:
        """A read time that sees every acknowledged commit (microsecond precision)."""
        with self.cond:
            self._last_ns = max(self._last_ns, now_ns() // 1000 * 1000)
            return self._last_ns

    def _next_commit_ns(self) -> int:
        self._last_ns = max(self._last_ns + 1000, now_ns() // 1000 * 1000)
        return self._last_ns

    # --- reading ---------------------------------------------------------------------

    def get(self, name: str, read_ns: int | None = None) -> Any | None:
        """The document at ``read_ns`` (latest when None), or None when missing then."""
        return self.versions.get(name, read_ns)

    def collection(self, path: str, read_ns: int | None = None) -> Iterator[Any]:
        return self.versions.collection(path, read_ns)

    def collection_paths(self, prefix: str) -> list[str]:
        """Paths of collections that have ever held a document below ``prefix``."""
        return self.versions.collection_paths(prefix)

    def latest_documents(self, database: str | None = None) -> Iterator[Any]:
        return self.versions.latest(database + "/" if database is not None else "")

    # --- transactions ----------------------------------------------------------------

    def locks(self, database: str) -> LockTable:
        table = self._lock_tables.get(database)
        if table is None:
            table = self._lock_tables[database] = LockTable(self.cond)
        return table

    def begin(self, database: str, options: Any) -> Transaction:
        with self.cond:
            mode = options.WhichOneof("mode") if options is not None else None
            if mode == "read_only":
                ro = options.read_only
                read_ns = ts_to_ns(ro.read_time) if ro.HasField("read_time") else self.read_time()
                return self.locks(database).begin(True, read_ns, None)
            retry = options.read_write.retry_transaction if mode == "read_write" else b""
            return self.locks(database).begin(False, None, retry or None)

    def transaction(self, database: str, txn_id: bytes) -> Transaction:
        with self.cond:
            return self.locks(database).get(txn_id)

    def rollback(self, database: str, txn_id: bytes) -> None:
        with self.cond:
            table = self.locks(database)
            try:
                table.end(table.get(txn_id))
            except Exception:  # noqa: BLE001 - rolling back a finished transaction is harmless
                pass

    def read(self, names: list[str], txn: Transaction | None, read_ns: int | None) -> list[Any]:
        """Documents (or None) for ``names``; a read-write transaction locks them first."""
        with self.cond:
            if txn is None or txn.read_only:
                at = read_ns if read_ns is not None else (txn.read_time_ns if txn else None)
                return [self.get(n, at) for n in names]
            self.locks(database_of(names[0])).acquire(txn, names, fail_if_wounded=False)
            docs = [self.get(n) for n in names]
            for name, doc in zip(names, docs, strict=True):
                txn.reads.setdefault(name, update_ns(doc))
            return docs

    def query_in_transaction(self, txn: Transaction, run: Callable[[], list[Any]]) -> list[Any]:
        """Run a query inside a read-write transaction, locking what it returns."""
        with self.cond:
            if txn.read_only:
                return run()
            while True:
                docs = run()
                signature = [(d.name, update_ns(d)) for d in docs]
                if docs:
                    database = database_of(docs[0].name)
                    self.locks(database).acquire(txn, [d.name for d in docs], False)
                again = run()
                if [(d.name, update_ns(d)) for d in again] == signature:
                    break
            txn.queries.append((run, signature))
            for name, ut in signature:
                txn.reads.setdefault(name, ut)
            return again

    def _validate(self, txn: Transaction) -> None:
        from localcloud.firestore.errors import aborted

        for name, seen in txn.reads.items():
            if update_ns(self.get(name)) != seen:
                raise aborted(f"Transaction read {name}, which another commit changed; retry.")
        for run, signature in txn.queries:
            if [(d.name, update_ns(d)) for d in run()] != signature:
                raise aborted("A query read in the transaction has new results; retry.")

    # --- writing ---------------------------------------------------------------------

    def commit(
        self,
        database: str,
        writes: list[Any],
        txn_id: bytes | None = None,
        check: WriteCheck | None = None,
    ) -> tuple[int, list[Any]]:
        """Apply ``writes`` atomically; returns the commit time and one WriteResult each."""
        if len(writes) > MAX_WRITES_PER_COMMIT:
            raise invalid(f"A commit may hold at most {MAX_WRITES_PER_COMMIT} writes")
        with self.cond:
            table = self.locks(database)
            txn = table.get(txn_id) if txn_id else None
            try:
                # The client ends a read-only transaction with an empty commit: that is fine.
                if txn is not None and txn.read_only and writes:
                    raise invalid("Cannot modify entities in a read-only transaction.")
                names = [target_name(w) for w in writes]
                if any(database_of(n) != database for n in names):
                    raise invalid("Every write must name a document of the request's database")
                table.acquire(txn, names, fail_if_wounded=True)
                if txn is not None:
                    self._validate(txn)
                return self._apply(database, writes, check)
            finally:
                if txn is not None:
                    table.end(txn)

    def _apply(
        self, database: str, writes: list[Any], check: WriteCheck | None = None
    ) -> tuple[int, list[Any]]:
        commit_ns = self._next_commit_ns()
        working: dict[str, Any | None] = {}
        applied: list[Applied] = []
        for w in writes:
            name = target_name(w)
            before = working[name] if name in working else self.get(name)
            applied.append(apply_write(w, before, commit_ns))
            working[name] = applied[-1].after
        if check is not None:
            check(commit_ns, {name: (self.get(name), after) for name, after in working.items()})
        finals = {
            name: self._stamp(self.get(name), after, commit_ns) for name, after in working.items()
        }
        changes = [
            Change(name, self.get(name), after, changed_paths(self.get(name), after), commit_ns)
            for name, after in finals.items()
            if after is not self.get(name)
        ]
        if self.journal is not None and changes:
            self.journal.append([(c.name, c.after) for c in changes])
        for c in changes:
            self.versions.put(c.name, c.after, commit_ns)
        if changes:
            self._publish(Commit(database, commit_ns, changes))
        return commit_ns, [self._result(a, finals[a.name]) for a in applied]

    @staticmethod
    def _stamp(before: Any | None, after: Any | None, commit_ns: int) -> Any | None:
        """Set create/update times; an unchanged document keeps its version (no change)."""
        if after is None:
            return None
        if before is not None and before.fields == after.fields:
            return before
        stamped = pb.Document()
        stamped.CopyFrom(after)
        if before is None:
            ns_to_ts(commit_ns, stamped.create_time)
        else:
            stamped.create_time.CopyFrom(before.create_time)
        ns_to_ts(commit_ns, stamped.update_time)
        return stamped

    @staticmethod
    def _result(applied: Applied, final: Any | None) -> Any:
        result = pb.WriteResult(transform_results=applied.transform_results)
        if final is not None:
            result.update_time.CopyFrom(final.update_time)
        return result

    def clear(self, database: str) -> None:
        """Delete every document of ``database`` (the emulator's reset endpoint)."""
        with self.cond:
            self.versions.clear(database + "/")
            if self.journal is not None:
                self.journal.compact(self.latest_documents())

    # --- change feed -----------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` with every commit, in order, until the returned function is
        called. Subscribers run under the store lock, so they must only enqueue."""
        with self.cond:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self.cond:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def _publish(self, commit: Commit) -> None:
        for subscriber in list(self._subscribers):
            subscriber(commit)

    def close(self) -> None:
        if self.journal is not None:
            with self.cond:
                self.journal.compact(self.latest_documents())
                self.journal.close()
