"""In-memory fakes of the ports, for pure unit tests of services."""

from __future__ import annotations

import copy
import itertools
import json
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
# Firestore's limits, as the real service answers them (checked by tests/contract).
MAX_WRITES = 500
MAX_DISJUNCTION = 30
MAX_ATTEMPTS = 10
# Cloud Tasks schedules at most 30 days ahead (shared/adapters/cloud_tasks.py holds to 29).
MAX_TASK_AHEAD = timedelta(days=29)
READ_AFTER_WRITE = "Attempted read after write in a transaction."
# A field a document lacks: unlike a field holding null, no filter or order matches it.
_MISSING: Any = object()
_INEQUALITIES = ("!=", "<", "<=", ">", ">=", "not-in")


class ReadAfterWriteError(Exception):
    """As the Firestore client raises it: a transaction reads everything before it writes."""


class FakeClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


class FakeStore:
    """A dict of path -> (data, update_time) with the port's commit semantics, and
    Firestore's: values stored as Firestore keeps them, queries matching and ordering by
    type, transactions retried when what they read changed (tests/contract holds both to
    the real adapter on localcloud)."""

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
        if len(writes) > MAX_WRITES:
            raise ValueError(f"A commit may hold at most {MAX_WRITES} writes")
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
        order = _ordering(filters, order_by)
        snaps = _ordered(self._matching(collection, filters, collection_group), order)
        if start_after is not None:
            snaps = _after(snaps, start_after, order)
        return snaps[:limit] if limit is not None else snaps

    def _matching(
        self, collection: str, filters: Sequence[Filter], collection_group: bool
    ) -> list[Snapshot]:
        def in_scope(path: str) -> bool:
            parent, _, _ = path.rpartition("/")
            if collection_group:  # every collection of that id, the root's included
                return parent.rpartition("/")[2] == collection
            return parent == collection

        _check_filters(filters)
        snaps = [self._snap(p) for p in self.docs if in_scope(p)]
        return [s for s in snaps if all(_matches(s.data or {}, f) for f in filters)]

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
        """Optimistic, as Firestore's retries look to the caller: when a document or a
        query the attempt read changed before its commit, ``fn`` runs again (at most
        ``MAX_ATTEMPTS`` times in all, then ``Contention``)."""
        for _ in range(MAX_ATTEMPTS):
            tx = FakeTransaction(self)
            result = fn(tx)
            if tx.unchanged():
                self.commit(tx.writes)
                return result
        raise Contention(f"Failed to commit transaction in {MAX_ATTEMPTS} attempts.")


class FakeTransaction:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.writes: list[Write] = []
        # What the attempt saw: update times by path, and each query with its answer.
        self.seen: dict[str, datetime | None] = {}
        self.queries: list[tuple[Callable[[], list[Snapshot]], list[Any]]] = []

    def get(self, path: str) -> Snapshot:
        return self.get_all([path])[0]

    def get_all(self, paths: Sequence[str]) -> list[Snapshot]:
        self._before_writes()
        snaps = self.store.get_all(paths)
        for snap in snaps:
            self.seen.setdefault(snap.path, snap.update_time)
        return snaps

    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[tuple[str, bool]] = (),
        limit: int | None = None,
    ) -> list[Snapshot]:
        self._before_writes()

        def run() -> list[Snapshot]:
            return self.store.query(collection, filters, order_by, limit)

        found = run()
        self.queries.append((run, _signature(found)))
        return found

    def write(self, write: Write) -> None:
        self.writes.append(write)

    def unchanged(self) -> bool:
        """Whether everything this attempt read is as it was."""
        docs = self.store.docs
        if any((docs[p][1] if p in docs else None) != t for p, t in self.seen.items()):
            return False
        return all(_signature(run()) == seen for run, seen in self.queries)

    def _before_writes(self) -> None:
        if self.writes:
            raise ReadAfterWriteError(READ_AFTER_WRITE)


def _signature(snaps: list[Snapshot]) -> list[Any]:
    return [(s.path, s.update_time) for s in snaps]


def _field(data: dict[str, Any], path: str) -> Any:
    """A dotted field path's value, as Firestore queries read ``settings.x``; ``_MISSING``
    when the document lacks it."""
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _rank(value: Any) -> int:
    """Firestore's order of value types: null, booleans, numbers, timestamps, strings,
    bytes, arrays, maps (a boolean is no number, unlike in Python)."""
    kinds = (type(None), bool, int | float, datetime, str, bytes, list, dict)
    rank = next((i for i, kind in enumerate(kinds) if isinstance(value, kind)), None)
    if rank is None:
        raise TypeError("Cannot convert to a Firestore Value", value, "Invalid type", type(value))
    return rank


def _key(value: Any) -> Any:
    """A sort key ordering any two values as Firestore does (and equal where it does)."""
    if isinstance(value, list | tuple):
        return (_rank([]), [_key(v) for v in value])
    if isinstance(value, dict):
        return (_rank({}), [(k, _key(v)) for k, v in sorted(value.items())])
    if isinstance(value, datetime):
        return (_rank(value), _to_utc(value))
    return (_rank(value), 0 if value is None else value)


def _matches(data: dict[str, Any], f: Filter) -> bool:
    """Firestore's filters: a missing field matches none, and values of another type
    neither equal nor order against the operand; ``!=``/``not-in`` skip nulls too."""
    value = _field(data, f.field)
    if value is _MISSING:
        return False
    key = _key(value)
    if f.op == "array_contains":
        return isinstance(value, list) and any(_key(v) == _key(f.value) for v in value)
    if f.op in ("in", "not-in"):
        found = any(key == _key(v) for v in f.value)
        return found if f.op == "in" else value is not None and not found
    if f.op in ("==", "!="):
        return key == _key(f.value) if f.op == "==" else value is not None and key != _key(f.value)
    if key[0] != _key(f.value)[0]:
        return False
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    return compare[f.op](key, _key(f.value))


def _check_filters(filters: Sequence[Filter]) -> None:
    """What Firestore refuses before it reads anything."""
    for f in filters:
        if f.op in ("in", "not-in") and not f.value:
            raise ValueError(f"A '{f.op.upper()}' filter needs a non-empty array")
        if f.op in ("in", "not-in") and len(f.value) > MAX_DISJUNCTION:
            raise ValueError(f"A disjunction may have at most {MAX_DISJUNCTION} values")


def _ordering(filters: Sequence[Filter], order_by: Sequence[tuple[str, bool]]) -> list[Any]:
    """The order Firestore answers in: the explicit one, then each field under an
    inequality (it orders by them implicitly), then the document name."""
    order = list(order_by)
    descending = order[-1][1] if order else False
    unordered = {f.field for f in filters if f.op in _INEQUALITIES} - {o[0] for o in order}
    return order + [(field, descending) for field in sorted(unordered)]


def _ordered(snaps: list[Snapshot], order: list[tuple[str, bool]]) -> list[Snapshot]:
    """Sorted by ``order`` and then by name (segment by segment, in the last direction);
    documents missing an ordered field are left out, as Firestore leaves them."""
    present = [s for s in snaps if all(_field(s.data or {}, f) is not _MISSING for f, _ in order)]
    last_descending = order[-1][1] if order else False
    present.sort(key=lambda s: s.path.split("/"), reverse=last_descending)
    for field, descending in reversed(order):
        present.sort(key=lambda s, f=field: _key(_field(s.data or {}, f)), reverse=descending)
    return present


def _to_utc(when: datetime) -> datetime:
    """Firestore keeps instants in UTC, a naive time taken as UTC already."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _stored(value: Any) -> Any:
    """``value`` as Firestore gives it back: tuples as lists, times in UTC, and what it
    cannot hold refused as the client refuses it."""
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return value
    if isinstance(value, datetime):
        return _to_utc(value)
    if isinstance(value, list | tuple):
        return [_stored(v) for v in value]
    if isinstance(value, dict):
        _check_keys(value)
        return {k: _stored(v) for k, v in value.items()}
    raise TypeError("Cannot convert to a Firestore Value", value, "Invalid type", type(value))


def _check_keys(mapping: dict[Any, Any]) -> None:
    if not all(isinstance(k, str) and k for k in mapping):
        raise ValueError("One or more components is not a string or is empty.")


def _after(
    snaps: list[Snapshot], cursor: Snapshot, order: list[tuple[str, bool]]
) -> list[Snapshot]:
    """``snaps`` (in ``order``) that come after ``cursor`` (a document, or the ordered
    fields and path of one), as Firestore's ``start_after`` pages them."""
    placed = _ordered([*snaps, cursor], order)  # a stable sort: the cursor after its equal
    at = next(i for i, s in enumerate(placed) if s is cursor)
    return [s for s in placed[at + 1 :] if s.path != cursor.path]


def _aggregated(aggregation: Aggregation, docs: list[dict[str, Any]]) -> int | float:
    if aggregation.kind == "count":
        return len(docs)
    found = [_field(d, aggregation.field) for d in docs]
    # Booleans are not numbers to Firestore.
    numbers = [v for v in found if isinstance(v, int | float) and not isinstance(v, bool)]
    return sum(numbers) if all(isinstance(n, int) for n in numbers) else float(sum(numbers))


def _resolve(old: Any, new: Any, when: datetime) -> Any:
    """``new`` with its transforms applied to ``old`` (the value it replaces)."""
    if new is SERVER_TIME:
        return when
    if isinstance(new, Increment):
        # A boolean is no number to Firestore: it counts from zero, as a missing field does.
        number = isinstance(old, int | float) and not isinstance(old, bool)
        return (old if number else 0) + new.amount
    if isinstance(new, ArrayUnion):
        merged = list(old) if isinstance(old, list) else []
        for value in _stored(list(new.values)):
            if all(_key(value) != _key(v) for v in merged):
                merged.append(value)
        return merged
    if isinstance(new, dict):
        _check_keys(new)
        return {
            k: _resolve((old or {}).get(k) if isinstance(old, dict) else None, v, when)
            for k, v in new.items()
        }
    return _stored(new)


def _merged(old: Any, new: dict[str, Any], when: datetime) -> dict[str, Any]:
    """A merge: maps merge key by key at every depth (an empty map replaces)."""
    _check_keys(new)
    base = dict(old) if isinstance(old, dict) else {}
    for key, value in new.items():
        if isinstance(value, dict) and value and isinstance(base.get(key), dict):
            base[key] = _merged(base[key], value, when)
        else:
            base[key] = _resolve(base.get(key), value, when)
    return base


def _updated(old: dict[str, Any], new: dict[str, Any], when: datetime) -> dict[str, Any]:
    """An update: each key is a field path (``settings.x``), its value replaced whole."""
    base = copy.deepcopy(old)
    for path, value in new.items():
        *parents, last = path.split(".")
        target = base
        for part in parents:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[last] = _resolve(target.get(last), value, when)
    return base


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
    if w.mode == "update" and current is not None:
        docs[w.path] = (_updated(current[0], w.data, when), when)
        return
    old = current[0] if current and w.mode == "merge" else {}
    docs[w.path] = (_merged(old, w.data, when), when)


class FakeTaskQueue:
    """Records what was enqueued, as Cloud Tasks keeps it: a name is refused while it is
    known and for the hour after its task is deleted (a deleted name stays refused here);
    the payload is what ``run_task`` receives (JSON, times as text); with a ``clock``,
    schedule times are held to 29 days ahead as ``CloudTasksQueue`` holds them."""

    def __init__(self, clock: Any = None) -> None:
        self.tasks: dict[str, TaskRequest] = {}
        self.cancelled: list[str] = []
        self.deleted: set[str] = set()
        self.clock = clock

    def enqueue(self, task: TaskRequest) -> bool:
        if task.name in self.tasks or task.name in self.deleted:
            return False
        payload = json.loads(json.dumps(task.payload, default=str))
        when = task.schedule_time
        if when is not None and self.clock is not None:
            when = min(when, self.clock.now() + MAX_TASK_AHEAD)
        self.tasks[task.name] = msgspec.structs.replace(task, payload=payload, schedule_time=when)
        return True

    def cancel(self, name: str) -> bool:
        self.cancelled.append(name)
        if self.tasks.pop(name, None) is None:
            return False
        self.deleted.add(name)
        return True


class FakeMessenger:
    def __init__(self) -> None:
        self.sent: dict[str, OutboundMessage] = {}

    def send(self, message: OutboundMessage) -> str:
        self.sent.setdefault(message.idempotency_key, message)
        return f"fake-{message.idempotency_key}"

    def accepts(self, channel: str) -> bool:
        return True  # stands for a provider that took the message


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
