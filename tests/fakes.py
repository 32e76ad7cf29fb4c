"""In-memory fakes of the ports, for pure unit tests of services."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import msgspec.structs

from shared.errors import AlreadyExists, Contention, NotFound
from shared.ports import (
    MAX_AGGREGATIONS,
    SERVER_TIME,
    Aggregation,
    ArrayUnion,
    Filter,
    Increment,
    OutboundMessage,
    Snapshot,
    TaskRequest,
    Write,
)

T = TypeVar("T")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a is not None and a != b,
    "<": lambda a, b: a is not None and a < b,
    "<=": lambda a, b: a is not None and a <= b,
    ">": lambda a, b: a is not None and a > b,
    ">=": lambda a, b: a is not None and a >= b,
    "in": lambda a, b: a in b,
    "not-in": lambda a, b: a is not None and a not in b,
    "array_contains": lambda a, b: isinstance(a, list) and b in a,
}


class FakeClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


class FakeStore:
    """A dict of path -> (data, update_time) with the port's commit semantics."""

    def __init__(self) -> None:
        self.docs: dict[str, tuple[dict[str, Any], datetime]] = {}
        self._ticks = itertools.count(1)
        self.commits = 0

    def _snap(self, path: str) -> Snapshot:
        if path not in self.docs:
            return Snapshot(path, None)
        data, when = self.docs[path]
        return Snapshot(path, copy.deepcopy(data), when)

    def get_all(self, paths: Sequence[str]) -> list[Snapshot]:
        return [self._snap(p) for p in paths]

    def commit(self, writes: Sequence[Write]) -> None:
        staged = dict(self.docs)
        when = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=next(self._ticks))
        for w in writes:
            _apply(staged, w, when)
        self.docs = staged
        self.commits += 1

    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[tuple[str, bool]] = (),
        limit: int | None = None,
        collection_group: bool = False,
        start_after: Snapshot | None = None,
    ) -> list[Snapshot]:
        snaps = self._matching(collection, filters, collection_group)
        # Firestore orders by a range-filtered field too when no order names it.
        ordered = [(f, False) for f in _cursor_order(filters, ()) if f not in dict(order_by)]
        for field, descending in reversed([*order_by, *ordered]):
            snaps.sort(key=lambda s, f=field: _field(s.data or {}, f), reverse=descending)
        if start_after is not None:
            snaps = _after(snaps, start_after, _cursor_order(filters, order_by))
        return snaps[:limit] if limit is not None else snaps

    def _matching(
        self, collection: str, filters: Sequence[Filter], collection_group: bool
    ) -> list[Snapshot]:
        def in_scope(path: str) -> bool:
            parent, _, _ = path.rpartition("/")
            return parent.endswith("/" + collection) if collection_group else parent == collection

        snaps = [self._snap(p) for p in sorted(self.docs) if in_scope(p)]
        return [
            s
            for s in snaps
            if all(_OPS[f.op](_field(s.data or {}, f.field), f.value) for f in filters)
        ]

    def aggregate(
        self,
        collection: str,
        aggregations: Sequence[Aggregation],
        filters: Sequence[Filter] = (),
        collection_group: bool = False,
    ) -> list[int | float]:
        """``DocumentStore.aggregate``, with Firestore's rules for what is a number."""
        if not 0 < len(aggregations) <= MAX_AGGREGATIONS:
            raise ValueError(f"An aggregation query takes 1 to {MAX_AGGREGATIONS} aggregations.")
        snaps = self._matching(collection, filters, collection_group)
        return [_aggregated(a, [s.data or {} for s in snaps]) for a in aggregations]

    def page(
        self,
        parent: str,
        collection_id: str,
        after: str | None,
        limit: int,
        descendants: bool = False,
    ) -> list[Snapshot]:
        """``PagedStore.page``: documents in path order (segment by segment)."""
        prefix = f"{parent}/" if parent else ""

        def in_scope(path: str) -> bool:
            collection = path.rsplit("/", 1)[0]
            if not descendants:
                return collection == prefix + collection_id
            return path.startswith(prefix) and collection.rsplit("/", 1)[-1] == collection_id

        order = sorted((p for p in self.docs if in_scope(p)), key=lambda p: p.split("/"))
        if after is not None:
            order = [p for p in order if p.split("/") > after.split("/")]
        return [self._snap(p) for p in order[:limit]]

    def count(self, collection: str) -> int:
        return sum(1 for p in self.docs if p.rsplit("/", 1)[0] == collection)

    def run_transaction(self, fn: Callable[[Any], T]) -> T:
        tx = FakeTransaction(self)
        result = fn(tx)
        self.commit(tx.writes)
        return result


class FakeTransaction:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.writes: list[Write] = []

    def get(self, path: str) -> Snapshot:
        return self.store._snap(path)

    def get_all(self, paths: Sequence[str]) -> list[Snapshot]:
        return self.store.get_all(paths)

    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[tuple[str, bool]] = (),
        limit: int | None = None,
    ) -> list[Snapshot]:
        return self.store.query(collection, filters, order_by, limit)

    def write(self, write: Write) -> None:
        self.writes.append(write)


def _field(data: dict[str, Any], path: str) -> Any:
    """A dotted field path's value, as Firestore queries read ``settings.x``."""
    value: Any = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _cursor_order(filters: Sequence[Filter], order_by: Sequence[tuple[str, bool]]) -> list[str]:
    """The fields a cursor compares, as Firestore orders a query with one: the explicit
    orders, then the range-filtered fields not ordered on (then the document path)."""
    if any(descending for _, descending in order_by):
        raise NotImplementedError("the fake's cursors only follow ascending orders")
    fields = [field for field, _ in order_by]
    ranged = [f.field for f in filters if f.op in ("<", "<=", ">", ">=", "!=", "not-in")]
    return fields + [f for f in dict.fromkeys(ranged) if f not in fields]


def _after(snaps: list[Snapshot], cursor: Snapshot, fields: list[str]) -> list[Snapshot]:
    def key(snap: Snapshot) -> tuple[Any, ...]:
        values = tuple(_field(snap.data or {}, f) for f in fields)
        return (*values, snap.path.split("/"))

    ordered = sorted(snaps, key=key)
    return [s for s in ordered if key(s) > key(cursor)]


def _aggregated(aggregation: Aggregation, docs: list[dict[str, Any]]) -> int | float:
    if aggregation.kind == "count":
        return len(docs)
    found = [_field(d, aggregation.field) for d in docs]
    # Booleans are not numbers to Firestore.
    numbers = [v for v in found if isinstance(v, int | float) and not isinstance(v, bool)]
    return sum(numbers) if all(isinstance(n, int) for n in numbers) else float(sum(numbers))


def _resolve(old: Any, new: Any, when: datetime) -> Any:
    if new is SERVER_TIME:
        return when
    if isinstance(new, Increment):
        return (old if isinstance(old, int | float) else 0) + new.amount
    if isinstance(new, ArrayUnion):
        base = list(old) if isinstance(old, list) else []
        return base + [v for v in new.values if v not in base]
    if isinstance(new, dict):
        return {
            k: _resolve((old or {}).get(k) if isinstance(old, dict) else None, v, when)
            for k, v in new.items()
        }
    return copy.deepcopy(new)


def _apply(docs: dict[str, tuple[dict[str, Any], datetime]], w: Write, when: datetime) -> None:
    current = docs.get(w.path)
    if w.if_update_time is not None and (current is None or current[1] != w.if_update_time):
        raise Contention(f"{w.path} changed")
    if w.mode == "create" and current is not None:
        raise AlreadyExists(f"{w.path} exists")
    if w.mode == "update" and current is None:
        raise NotFound(f"{w.path} missing")
    if w.mode == "delete":
        docs.pop(w.path, None)
        return
    base = dict(current[0]) if current and w.mode in ("merge", "update") else {}
    for key, value in w.data.items():
        base[key] = _resolve(base.get(key), value, when)
    docs[w.path] = (base, when)


class FakeTaskQueue:
    """Records what was enqueued; a name is refused while it is known (like the dedup window)."""

    def __init__(self) -> None:
        self.tasks: dict[str, TaskRequest] = {}
        self.cancelled: list[str] = []

    def enqueue(self, task: TaskRequest) -> bool:
        if task.name in self.tasks:
            return False
        self.tasks[task.name] = task
        return True

    def cancel(self, name: str) -> bool:
        self.cancelled.append(name)
        return self.tasks.pop(name, None) is not None


class FakeMessenger:
    def __init__(self) -> None:
        self.sent: dict[str, OutboundMessage] = {}

    def send(self, message: OutboundMessage) -> str:
        self.sent.setdefault(message.idempotency_key, message)
        return f"fake-{message.idempotency_key}"


class RecordingPublisher:
    """A ``Publisher`` that remembers every post; ``errors`` are raised first, in order."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.posts: list[Any] = []

    def publish(self, post: Any) -> Any:
        from shared.domain.content import Receipt

        if self.errors:
            raise self.errors.pop(0)
        self.posts.append(post)
        return Receipt(f"https://example.test/{post.platform}/{post.content_id}", post.platform)

    def find(self, post: Any) -> Any:
        """The post if it was published: platforms keep what they were sent."""
        from shared.domain.content import Receipt

        found = [p for p in self.posts if p.idempotency_key == post.idempotency_key]
        url = f"https://example.test/{post.platform}/{post.content_id}"
        return Receipt(url, post.platform) if found else None

    def destinations(self, company_id: str, platform: str) -> list[str]:
        return [platform]


class FlakyPublisher:
    """Wraps a publisher: the first ``failures`` calls fail with ``Transient``."""

    def __init__(self, inner: Any, failures: int = 1) -> None:
        self.inner = inner
        self.failures = failures
        self.calls = 0

    def publish(self, post: Any) -> Any:
        from shared.errors import Transient

        self.calls += 1
        if self.calls <= self.failures:
            raise Transient(f"{post.platform} timed out (call {self.calls})")
        return self.inner.publish(post)

    def find(self, post: Any) -> Any:
        return self.inner.find(post)

    def destinations(self, company_id: str, platform: str) -> list[str]:
        return list(self.inner.destinations(company_id, platform))


class RecordingStore:
    """Wraps any ``DocumentStore`` and records the shape of every query it runs."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.queries: list[dict[str, Any]] = []

    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[tuple[str, bool]] = (),
        limit: int | None = None,
        collection_group: bool = False,
        start_after: Snapshot | None = None,
    ) -> list[Snapshot]:
        self.queries.append(
            {
                "collection": collection.rsplit("/", 1)[-1],
                "collection_group": collection_group,
                "filters": [(f.field, f.op) for f in filters],
                "order_by": list(order_by),
            }
        )
        return list(
            self.inner.query(collection, filters, order_by, limit, collection_group, start_after)
        )

    def aggregate(
        self,
        collection: str,
        aggregations: Sequence[Aggregation],
        filters: Sequence[Filter] = (),
        collection_group: bool = False,
    ) -> list[int | float]:
        """Recorded like a query: an aggregation needs the same indexes."""
        self.queries.append(
            {
                "collection": collection.rsplit("/", 1)[-1],
                "collection_group": collection_group,
                "filters": [(f.field, f.op) for f in filters],
                "order_by": [],
            }
        )
        return list(self.inner.aggregate(collection, aggregations, filters, collection_group))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class FakeUserAdmin:
    """Firebase Auth accounts in memory, for the ``UserAdmin`` port."""

    def __init__(self) -> None:
        from shared.domain.users import AuthAccount

        self.accounts: dict[str, AuthAccount] = {}

    def get(self, uid: str) -> Any:
        return self.accounts.get(uid)

    def find_by_email(self, email: str) -> Any:
        return next((a for a in self.accounts.values() if a.email == email.lower()), None)

    def create(self, email: str, display_name: str | None) -> Any:
        from shared.domain.users import AuthAccount

        if self.find_by_email(email) is not None:
            raise AlreadyExists("email exists")
        account = AuthAccount(f"uid-{len(self.accounts) + 1}", email.lower())
        self.accounts[account.uid] = account
        return account

    def revoke_tokens(self, uid: str) -> None:
        from datetime import UTC, datetime

        account = self.accounts[uid]
        now = datetime.now(UTC)
        self.accounts[uid] = msgspec.structs.replace(account, tokens_valid_after=now)

    def set_claims(self, uid: str, claims: dict[str, Any]) -> None:
        self.accounts[uid] = msgspec.structs.replace(self.accounts[uid], claims=dict(claims))

    def sign_in_link(self, email: str) -> str:
        return f"https://auth.example/reset?email={email}"

    def delete(self, uid: str) -> None:
        if self.accounts.pop(uid, None) is None:
            raise NotFound("no such account")


class FailingTokenRefresher:
    """A ``TokenRefresher`` whose platform refuses every refresh token (revoked access),
    or fails transiently with ``transient=True``; remembers what it was asked."""

    def __init__(self, transient: bool = False) -> None:
        self.transient = transient
        self.asked: list[str] = []

    def refresh(self, platform: str, refresh_token: str, now: datetime) -> Any:
        from shared.domain.integrations import RefreshFailed
        from shared.errors import Transient

        self.asked.append(platform)
        if self.transient:
            raise Transient(f"{platform} timed out")
        raise RefreshFailed(f"{platform} answered invalid_grant (access revoked)")
