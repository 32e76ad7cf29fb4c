"""The ``DocumentStore`` port on the real Firestore client."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from shared.errors import AlreadyExists, Contention, NotFound, Transient
from shared.ports import (
    MAX_AGGREGATIONS,
    SERVER_TIME,
    Aggregation,
    ArrayUnion,
    Data,
    Filter,
    Increment,
    Snapshot,
    Write,
)

T = TypeVar("T")


def _to_firestore(value: Any) -> Any:
    """Replace the port's transform markers with the client's sentinels."""
    from google.cloud import firestore

    if value is SERVER_TIME:
        return firestore.SERVER_TIMESTAMP
    if isinstance(value, Increment):
        return firestore.Increment(value.amount)
    if isinstance(value, ArrayUnion):
        return firestore.ArrayUnion(list(value.values))
    if isinstance(value, dict):
        return {k: _to_firestore(v) for k, v in value.items()}
    return value


def _snapshot(snap: Any, path: str) -> Snapshot:
    if not snap.exists:
        return Snapshot(path, None)
    return Snapshot(path, snap.to_dict(), snap.update_time)


def _translate(err: Exception) -> Exception:
    from google.api_core import exceptions as gexc

    if isinstance(err, gexc.FailedPrecondition):
        return Contention("The document changed while we worked; try again.")
    # Before Conflict: Aborted is one (HTTP 409) but says nothing was written, so taking
    # it for AlreadyExists would treat a failed create (an outbox message, a task) as done.
    if isinstance(err, (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.Aborted)):
        return Transient(f"Firestore unavailable: {err}")
    if isinstance(err, gexc.InvalidArgument) and "transaction has expired" in str(err.message):
        # It outlived Firestore's limits (waiting on locks a dead instance held, say):
        # nothing was written, and a retry starts a new transaction.
        return Transient(f"Firestore transaction expired: {err.message}")
    if isinstance(err, gexc.Conflict):
        return AlreadyExists(str(err.message))
    if isinstance(err, gexc.NotFound):
        return NotFound(str(err.message))
    return err


class FirestoreStore:
    """Implements ``shared.ports.DocumentStore``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def get_all(self, paths: Sequence[str]) -> list[Snapshot]:
        refs = [self.client.document(p) for p in paths]
        try:
            found = {s.reference.path: s for s in self.client.get_all(refs)}
        except Exception as err:
            raise _translate(err) from err
        return [_snapshot(found[p], p) if p in found else Snapshot(p, None) for p in paths]

    def commit(self, writes: Sequence[Write]) -> None:
        batch = self.client.batch()
        for write in writes:
            _add_write(self.client, batch, write)
        try:
            batch.commit()
        except Exception as err:
            raise _translate(err) from err

    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[tuple[str, bool]] = (),
        limit: int | None = None,
        collection_group: bool = False,
        start_after: Snapshot | None = None,
    ) -> list[Snapshot]:
        source = (
            self.client.collection_group(collection)
            if collection_group
            else self.client.collection(collection)
        )
        query = _build_query(source, filters, order_by, limit)
        if start_after is not None:
            query = query.start_after(_client_snapshot(self.client, start_after))
        try:
            return [_snapshot(s, s.reference.path) for s in query.stream()]
        except Exception as err:
            raise _translate(err) from err

    def aggregate(
        self,
        collection: str,
        aggregations: Sequence[Aggregation],
        filters: Sequence[Filter] = (),
        collection_group: bool = False,
    ) -> list[int | float]:
        """Implements ``shared.ports.DocumentStore.aggregate``: one RunAggregationQuery."""
        if not 0 < len(aggregations) <= MAX_AGGREGATIONS:
            raise ValueError(f"An aggregation query takes 1 to {MAX_AGGREGATIONS} aggregations.")
        source = (
            self.client.collection_group(collection)
            if collection_group
            else self.client.collection(collection)
        )
        query: Any = _build_query(source, filters, (), None)
        for i, aggregation in enumerate(aggregations):
            query = _add_aggregation(query, aggregation, f"a{i}")
        try:
            (row,) = query.get()
        except Exception as err:
            raise _translate(err) from err
        values = {result.alias: result.value for result in row}
        return [_number(a, values[f"a{i}"]) for i, a in enumerate(aggregations)]

    def page(
        self,
        parent: str,
        collection_id: str,
        after: str | None,
        limit: int,
        descendants: bool = False,
    ) -> list[Snapshot]:
        """Implements ``shared.ports.PagedStore.page``: a cursor on the document name, so
        each page costs its own documents whatever came before."""
        query = _collection_source(self.client, parent, collection_id, descendants)
        query = query.order_by("__name__").limit(limit)
        if after:
            query = query.start_after({"__name__": self.client.document(after)})
        try:
            return [_snapshot(s, s.reference.path) for s in query.stream()]
        except Exception as err:
            raise _translate(err) from err

    def count(self, collection: str) -> int:
        try:
            result = self.client.collection(collection).count().get()
        except Exception as err:
            raise _translate(err) from err
        return int(result[0][0].value)

    def run_transaction(self, fn: Callable[[Any], T]) -> T:
        from google.cloud import firestore

        @firestore.transactional
        def run(transaction: Any) -> T:
            return fn(_FirestoreTransaction(self.client, transaction))

        try:
            result: T = run(self.client.transaction(max_attempts=10))
        except ValueError as err:  # the client's "failed to commit in N attempts"
            raise Contention(str(err)) from err
        except Exception as err:
            raise _translate(err) from err
        return result


def _collection_source(client: Any, parent: str, collection_id: str, descendants: bool) -> Any:
    """The collection ``{parent}/{collection_id}``, or with ``descendants`` every collection
    of that id below ``parent`` (a collection-group query scoped to ``parent``)."""
    collection = client.collection(f"{parent}/{collection_id}" if parent else collection_id)
    if not descendants:
        return collection
    from google.cloud.firestore_v1.query import Query

    return Query(collection, all_descendants=True)


def _client_snapshot(client: Any, snap: Snapshot) -> Any:
    """The client's snapshot of ``snap``, for a cursor: the client orders by the range
    fields and the document name after the explicit orders, and takes each value from it."""
    from google.cloud.firestore_v1.base_document import DocumentSnapshot

    return DocumentSnapshot(client.document(snap.path), snap.data or {}, True, None, None, None)


def _add_aggregation(query: Any, aggregation: Aggregation, alias: str) -> Any:
    """``query`` (a query, or an aggregation query already) with one more aggregation."""
    if aggregation.kind == "count":
        return query.count(alias=alias)
    return query.sum(aggregation.field, alias=alias)


def _number(aggregation: Aggregation, value: Any) -> int | float:
    """The client reads a zero, whatever its type, as 0.0: a count is an int, and so is a
    sum of nothing (a double sum that cancels out reads as 0 too, equal all the same)."""
    if aggregation.kind == "count" or value == 0:
        return int(value)
    return value  # type: ignore[no-any-return]


def _build_query(
    source: Any, filters: Sequence[Filter], order_by: Sequence[tuple[str, bool]], limit: int | None
) -> Any:
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = source
    for f in filters:
        query = query.where(filter=FieldFilter(f.field, f.op, f.value))
    for field, descending in order_by:
        query = query.order_by(field, direction="DESCENDING" if descending else "ASCENDING")
    if limit is not None:
        query = query.limit(limit)
    return query


def _add_write(client: Any, batch: Any, write: Write) -> None:
    ref = client.document(write.path)
    data = _to_firestore(write.data)
    option = (
        client.write_option(last_update_time=write.if_update_time)
        if write.if_update_time is not None
        else None
    )
    if write.mode == "create":
        batch.create(ref, data)
    elif write.mode == "delete":
        batch.delete(ref, option=option)
    elif write.mode == "update":
        batch.update(ref, data, option=option)
    elif option is not None:
        # set() takes no precondition, so build its write and guard it ourselves: the
        # document is replaced only if nobody wrote it since we read it.
        from google.cloud.firestore_v1 import _helpers

        pbs = (
            _helpers.pbs_for_set_with_merge(ref._document_path, data, merge=True)
            if write.mode == "merge"
            else _helpers.pbs_for_set_no_merge(ref._document_path, data)
        )
        option.modify_write(pbs[0])
        batch._add_write_pbs(pbs)
    else:
        batch.set(ref, data, merge=write.mode == "merge")


class _FirestoreTransaction:
    """The ``Transaction`` port over a client transaction."""

    def __init__(self, client: Any, transaction: Any) -> None:
        self.client = client
        self.transaction = transaction

    def get(self, path: str) -> Snapshot:
        return self.get_all([path])[0]

    def get_all(self, paths: Sequence[str]) -> list[Snapshot]:
        refs = [self.client.document(p) for p in paths]
        found = {
            s.reference.path: s for s in self.client.get_all(refs, transaction=self.transaction)
        }
        return [_snapshot(found[p], p) if p in found else Snapshot(p, None) for p in paths]

    def query(
        self,
        collection: str,
        filters: Sequence[Filter] = (),
        order_by: Sequence[tuple[str, bool]] = (),
        limit: int | None = None,
    ) -> list[Snapshot]:
        query = _build_query(self.client.collection(collection), filters, order_by, limit)
        return [_snapshot(s, s.reference.path) for s in query.stream(transaction=self.transaction)]

    def write(self, write: Write) -> None:
        _add_write(self.client, self.transaction, write)


__all__ = ["Data", "FirestoreStore"]
