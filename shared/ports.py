"""Ports: what services need from the outside world, as small protocols.

Documents are addressed by their path relative to the database root
(``companies/c1/leads/l1``). Writes may carry transforms (``Increment``, ``SERVER_TIME``,
``ArrayUnion``) and a precondition, so services can do optimistic read-then-write in two
round trips without a transaction where that is enough.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from msgspec import Struct

T = TypeVar("T")
Data = dict[str, Any]
WriteMode = Literal["create", "set", "merge", "update", "delete"]
Operator = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not-in", "array_contains"]
AggregateKind = Literal["count", "sum"]
# Firestore answers at most this many aggregations in one query.
MAX_AGGREGATIONS = 5


class Increment(Struct, frozen=True):
    amount: int | float


class ArrayUnion(Struct, frozen=True):
    values: tuple[Any, ...]


class _ServerTime:
    def __repr__(self) -> str:
        return "SERVER_TIME"


SERVER_TIME: Any = _ServerTime()


class Snapshot(Struct, frozen=True):
    path: str
    data: Data | None
    update_time: datetime | None = None

    @property
    def exists(self) -> bool:
        return self.data is not None


class Write(Struct, frozen=True):
    path: str
    data: Data
    mode: WriteMode = "set"
    # Only commit if the document still has this update time (None: no such check).
    if_update_time: datetime | None = None


class Filter(Struct, frozen=True):
    field: str
    op: Operator
    value: Any


class Aggregation(Struct, frozen=True):
    """``count`` of a query's documents, or ``sum`` of a field over them (documents whose
    field is missing or not a number add nothing). No average: the client reads an average
    of nothing as 0.0, so divide a sum by a count instead."""

    kind: AggregateKind
    field: str = ""


COUNT = Aggregation("count")


class Transaction(Protocol):
    def get(self, path: str) -> Snapshot: ...
    def get_all(self, paths: Sequence[str]) -> list[Snapshot]: ...
    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[tuple[str, bool]] = (),
        limit: int | None = None,
    ) -> list[Snapshot]: ...
    def write(self, write: Write) -> None: ...


class DocumentStore(Protocol):
    def get_all(self, paths: Sequence[str]) -> list[Snapshot]: ...
    def commit(self, writes: Sequence[Write]) -> None:
        """Apply atomically; raises ``Contention`` when a precondition fails and
        ``AlreadyExists`` when a create finds the document."""
        ...

    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[tuple[str, bool]] = (),
        limit: int | None = None,
        collection_group: bool = False,
        start_after: Snapshot | None = None,
    ) -> list[Snapshot]:
        """The documents the filters select, in order: ``order_by``, then the fields of
        range filters not ordered on, then the document path (ascending, as Firestore
        orders them). ``start_after``: only those after that document in this order (a
        page's last document; its ``data`` needs only the fields ordered on)."""
        ...

    def aggregate(
        self,
        collection: str,
        aggregations: Sequence[Aggregation],
        filters: Sequence[Filter] = (),
        collection_group: bool = False,
    ) -> list[int | float]:
        """Each aggregation's value over the documents the filters select, in order: one
        aggregation query (at most ``MAX_AGGREGATIONS``), counted from the indexes without
        reading the documents (Firestore bills one read per 1,000 index entries, at least
        one). A count is an int; a sum of no numbers is 0."""
        ...

    def run_transaction(self, fn: Callable[[Transaction], T]) -> T:
        """Run ``fn`` in a serialisable transaction, retried on contention."""
        ...


class PagedStore(DocumentStore, Protocol):
    """A store that also walks whole collections, a page at a time (operator commands and
    migrations: work that must not hold a company's data in memory)."""

    def page(
        self,
        parent: str,
        collection_id: str,
        after: str | None,
        limit: int,
        descendants: bool = False,
    ) -> list[Snapshot]:
        """Up to ``limit`` documents of ``{parent}/{collection_id}`` in path order, after
        the document path ``after`` (None: from the start). ``parent`` is a document path,
        or "" for the root. With ``descendants``, every collection named ``collection_id``
        at any depth below ``parent``."""
        ...

    def count(self, collection: str) -> int:
        """How many documents ``collection`` holds (one aggregation, not a read of each)."""
        ...


class TaskRequest(Struct, frozen=True):
    """A Cloud Task to create: ``name`` makes it idempotent (ALREADY_EXISTS is success).
    It posts ``payload`` to the function ``target`` (a periodic function's continuation
    names itself; every other task goes to ``run_task``)."""

    name: str
    payload: Data
    schedule_time: datetime | None = None
    target: str = "run_task"


class TaskQueue(Protocol):
    def enqueue(self, task: TaskRequest) -> bool:
        """Create the task; False when a task with that name already exists."""
        ...

    def cancel(self, name: str) -> bool: ...


# The header naming the send a marketing e-mail belongs to (a signed reference: see
# shared.campaigns.domain.email_events); the messengers make it the Message-ID's local part too, so
# providers' events and replies (In-Reply-To) name it.
SEND_HEADER = "X-GrowthKit-Send"


class OutboundMessage(Struct, frozen=True):
    channel: Literal["email", "sms"]
    to: str
    subject: str
    body: str
    idempotency_key: str
    headers: tuple[tuple[str, str], ...] = ()
    # An HTML alternative to ``body`` (e-mail only; marketing mail carries its open pixel).
    html: str = ""
    # Nothing can have sent this message before: its sender reserved its idempotency key
    # just now, in a commit that precedes any send under that key (a marketing send's
    # first attempt). A messenger may then skip looking for an earlier send of it.
    fresh: bool = False


class Messenger(Protocol):
    def send(self, message: OutboundMessage) -> str:
        """Send and return a provider message id."""
        ...

    def accepts(self, channel: Literal["email", "sms"]) -> bool:
        """Whether ``send`` returns only once a provider accepted the message (it is
        ``sent``); False when it is only recorded (``queued``: the outbox)."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...
