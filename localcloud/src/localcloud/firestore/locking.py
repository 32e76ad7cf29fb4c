"""Transactions and their document locks, with wound-wait deadlock avoidance.

Firestore's server SDK transactions are pessimistic: a read in a read-write transaction
locks the document until commit or rollback. Here a lock is exclusive and, as in
Firestore, conflicts are settled by age (wound-wait): an older transaction that needs a
lock held by a younger one that is itself waiting for a lock (the only way a deadlock can
form) wounds it: the younger one loses its locks and its commit fails with ABORTED, so the
client retries it. Otherwise the requester waits for the holder to commit or roll back. A
retried transaction keeps the age of its first attempt (``retry_transaction``), so it
cannot starve.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from localcloud.firestore.errors import aborted, invalid

IDLE_EXPIRY_SECONDS = 60.0
_ages = itertools.count(1)


@dataclass(eq=False)
class Transaction:
    id: bytes
    age: int
    read_only: bool
    read_time_ns: int | None
    reads: dict[str, int | None] = field(default_factory=dict)
    queries: list[tuple[Callable[[], Any], Any]] = field(default_factory=list)
    locks: set[str] = field(default_factory=set)
    wounded: bool = False
    waiting: bool = False
    last_used: float = field(default_factory=time.monotonic)


class LockTable:
    """The live transactions of one database and the locks they hold."""

    def __init__(self, condition: threading.Condition) -> None:
        self._cond = condition
        self._owners: dict[str, Transaction] = {}
        self._live: dict[bytes, Transaction] = {}
        self._retired_ages: dict[bytes, int] = {}

    def begin(
        self, read_only: bool, read_time_ns: int | None, retry_of: bytes | None
    ) -> Transaction:
        age = self._retired_ages.get(retry_of) if retry_of else None
        txn = Transaction(uuid.uuid4().bytes, age or next(_ages), read_only, read_time_ns)
        self._live[txn.id] = txn
        return txn

    def get(self, txn_id: bytes) -> Transaction:
        txn = self._live.get(txn_id)
        if txn is None:
            raise invalid("The referenced transaction has expired or is no longer valid.")
        txn.last_used = time.monotonic()
        return txn

    def end(self, txn: Transaction) -> None:
        """Forget a transaction, keeping its age for a retry (bounded memory)."""
        self._release(txn)
        self._live.pop(txn.id, None)
        self._retired_ages[txn.id] = txn.age
        while len(self._retired_ages) > 10_000:
            self._retired_ages.pop(next(iter(self._retired_ages)))

    def acquire(self, txn: Transaction | None, names: Iterable[str], fail_if_wounded: bool) -> None:
        """Lock ``names`` for ``txn`` (None: a plain write, which only waits). Caller holds the
        condition."""
        wanted = set(names)
        while True:
            if txn is not None and txn.wounded:
                if fail_if_wounded:
                    raise aborted("Transaction lock lost to an older transaction; retry it.")
                return
            self._expire_idle()
            holders = {h for n in wanted if (h := self._owners.get(n)) is not None and h is not txn}
            if not holders:
                break
            if txn is not None:
                for holder in holders:
                    if holder.waiting and holder.age > txn.age:
                        self._wound(holder)
                if not any(self._owners.get(n, txn) is not txn for n in wanted):
                    break
                txn.waiting = True
            try:
                self._cond.wait(timeout=0.2)
            finally:
                if txn is not None:
                    txn.waiting = False
        if txn is not None:
            for name in wanted:
                self._owners[name] = txn
            txn.locks |= wanted

    def _wound(self, txn: Transaction) -> None:
        txn.wounded = True
        self._release(txn)

    def _release(self, txn: Transaction) -> None:
        for name in txn.locks:
            if self._owners.get(name) is txn:
                del self._owners[name]
        txn.locks.clear()
        self._cond.notify_all()

    def _expire_idle(self) -> None:
        cutoff = time.monotonic() - IDLE_EXPIRY_SECONDS
        for txn in [t for t in self._live.values() if t.last_used < cutoff]:
            self._wound(txn)
            self._live.pop(txn.id, None)
