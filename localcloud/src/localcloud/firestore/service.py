"""The ``google.firestore.v1.Firestore`` RPCs, implemented over the store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc

from localcloud.firestore import pb
from localcloud.firestore.errors import FirestoreError, invalid
from localcloud.firestore.listen import ListenSession
from localcloud.firestore.locking import Transaction
from localcloud.firestore.names import (
    check_document_name,
    database_of,
    documents_root,
    ns_to_ts,
    parent_collection,
    ts_to_ns,
)
from localcloud.firestore.query import check_parent, project, run_aggregation, run_query
from localcloud.firestore.store import MAX_WRITES_PER_COMMIT, Store, WriteCheck
from localcloud.firestore.writes import target_name


def _mask(doc: Any, request: Any) -> Any:
    """``doc`` with only the request mask's fields. A present but empty mask returns no
    fields at all (list_documents asks for that), an absent one every field."""
    if not request.HasField("mask"):
        return doc
    return project(doc, list(request.mask.field_paths))


# Billed documents: (database, "read" | "written" | "deleted", how many).
Meter = Callable[[str, str, int], None]
# An aggregation is billed one read per this many index entries counted (at least one).
ENTRIES_PER_READ = 1000


def _ignore(database: str, kind: str, count: int) -> None:
    pass


def _written(writes: list[Any]) -> tuple[int, int]:
    """(documents written, documents deleted) by a commit's writes."""
    deleted = sum(1 for w in writes if w.WhichOneof("operation") == "delete")
    return len(writes) - deleted, deleted


class FirestoreService:
    """One method per RPC; each takes the raw request and returns raw responses, and
    meters the documents Firestore would bill for it."""

    def __init__(self, store: Store, meter: Meter = _ignore) -> None:
        self.store = store
        self.meter = meter

    def _meter_writes(self, database: str, writes: list[Any]) -> None:
        written, deleted = _written(writes)
        self.meter(database, "written", written)
        self.meter(database, "deleted", deleted)

    # --- helpers -------------------------------------------------------------------------

    def _consistency(
        self, database: str, request: Any
    ) -> tuple[Transaction | None, int | None, bytes]:
        """The transaction (existing or new) and read time a read request asks for."""
        selector = request.WhichOneof("consistency_selector")
        if selector == "transaction":
            return self.store.transaction(database, request.transaction), None, b""
        if selector == "new_transaction":
            txn = self.store.begin(database, request.new_transaction)
            return txn, None, txn.id
        if selector == "read_time":
            return None, ts_to_ns(request.read_time), b""
        return None, None, b""

    # --- RPCs ----------------------------------------------------------------------------

    def BeginTransaction(self, request: Any) -> Any:
        options = request.options if request.HasField("options") else None
        txn = self.store.begin(request.database, options)
        return pb.BeginTransactionResponse(transaction=txn.id)

    def Rollback(self, request: Any) -> Any:
        self.store.rollback(request.database, request.transaction)
        from google.protobuf import empty_pb2

        return empty_pb2.Empty()

    def Commit(self, request: Any, check: WriteCheck | None = None) -> Any:
        commit_ns, results = self.store.commit(
            request.database, list(request.writes), request.transaction or None, check
        )
        self._meter_writes(request.database, list(request.writes))
        response = pb.CommitResponse(write_results=results)
        ns_to_ts(commit_ns, response.commit_time)
        return response

    def BatchWrite(self, request: Any, check: WriteCheck | None = None) -> Any:
        """Writes applied one by one, not atomically, each with its own status."""
        from google.rpc import code_pb2, status_pb2

        if len(request.writes) > MAX_WRITES_PER_COMMIT:
            raise invalid(f"A batch write may hold at most {MAX_WRITES_PER_COMMIT} writes")
        names = [target_name(w) for w in request.writes]
        if len(set(names)) != len(names):
            raise invalid("A batch write cannot write to the same document more than once")
        response = pb.BatchWriteResponse()
        for write in request.writes:
            try:
                _, (result,) = self.store.commit(request.database, [write], check=check)
                self._meter_writes(request.database, [write])
                response.write_results.append(result)
                response.status.append(status_pb2.Status(code=code_pb2.OK))
            except FirestoreError as err:
                response.write_results.append(pb.WriteResult())
                response.status.append(
                    status_pb2.Status(code=err.code.value[0], message=err.message)
                )
        return response

    def BatchGetDocuments(self, request: Any) -> Iterator[Any]:
        database = request.database
        names = list(request.documents)
        for name in names:
            if database_of(name) != database:
                raise invalid(f"Document {name} is not in database {database}")
            check_document_name(name)
        txn, read_ns, new_id = self._consistency(database, request)
        docs = self.store.read(names, txn, read_ns) if names else []
        self.meter(database, "read", len(names))  # a missing document is a read too
        read_time = read_ns or (txn.read_time_ns if txn and txn.read_only else None)
        read_time = read_time or self.store.read_time()
        if new_id and not names:
            yield self._with_time(pb.BatchGetDocumentsResponse(transaction=new_id), read_time)
        for i, (name, doc) in enumerate(zip(names, docs, strict=True)):
            response = pb.BatchGetDocumentsResponse()
            if doc is None:
                response.missing = name
            else:
                response.found.CopyFrom(_mask(doc, request))
            if i == 0 and new_id:
                response.transaction = new_id
            yield self._with_time(response, read_time)

    @staticmethod
    def _with_time(response: Any, read_ns: int) -> Any:
        ns_to_ts(read_ns, response.read_time)
        return response

    def _run(self, database: str, request: Any, sq: Any) -> tuple[list[Any], int, bytes]:
        check_parent(database, request.parent)
        txn, read_ns, new_id = self._consistency(database, request)
        if txn is not None and not txn.read_only:
            docs = self.store.query_in_transaction(
                txn, lambda: run_query(self.store, request.parent, sq)
            )
        else:
            at = read_ns if read_ns is not None else (txn.read_time_ns if txn else None)
            docs = run_query(self.store, request.parent, sq, at)
        read_time = read_ns or (txn.read_time_ns if txn and txn.read_only else None)
        return docs, read_time or self.store.read_time(), new_id

    def RunQuery(self, request: Any) -> Iterator[Any]:
        database = database_of(request.parent)
        docs, read_ns, new_id = self._run(database, request, request.structured_query)
        self.meter(database, "read", max(1, len(docs)))  # at least one, found or not
        if not docs:
            yield self._with_time(pb.RunQueryResponse(transaction=new_id, done=True), read_ns)
            return
        for i, doc in enumerate(docs):
            response = pb.RunQueryResponse(document=doc, done=i == len(docs) - 1)
            if i == 0 and new_id:
                response.transaction = new_id
            yield self._with_time(response, read_ns)

    def RunAggregationQuery(self, request: Any) -> Iterator[Any]:
        database = database_of(request.parent)
        saq = request.structured_aggregation_query
        if not saq.aggregations:
            raise invalid("An aggregation query needs at least one aggregation")
        aliases = [a.alias for a in saq.aggregations if a.alias]
        if len(set(aliases)) != len(aliases):
            raise invalid("Aggregation aliases must be unique")
        docs, read_ns, new_id = self._run(database, request, saq.structured_query)
        self.meter(database, "read", max(1, -(-len(docs) // ENTRIES_PER_READ)))
        response = run_aggregation(docs, saq, read_ns)
        if new_id:
            response.transaction = new_id
        yield response

    def ListDocuments(self, request: Any) -> Any:
        database = database_of(request.parent)
        check_parent(database, request.parent)
        collection = f"{request.parent}/{request.collection_id}"
        txn, read_ns, _ = self._consistency(database, request)
        at = read_ns if read_ns is not None else (txn.read_time_ns if txn else None)
        with self.store.cond:
            docs = {d.name: _mask(d, request) for d in self.store.collection(collection, at)}
            if request.show_missing:
                for parent_doc in self._missing_parents(collection, at):
                    docs.setdefault(parent_doc, pb.Document(name=parent_doc))
        names = sorted(docs, key=lambda n: [s.encode() for s in n.split("/")])
        start = names.index(request.page_token) if request.page_token in docs else 0
        size = request.page_size or 300
        page = names[start : start + size]
        self.meter(database, "read", max(1, len(page)))
        response = pb.ListDocumentsResponse(documents=[docs[n] for n in page])
        if start + size < len(names):
            response.next_page_token = names[start + size]
        return response

    def _missing_parents(self, collection: str, at: int | None) -> set[str]:
        """Documents of ``collection`` with a document somewhere below them at ``at``."""
        depth = len(collection.split("/")) + 1
        return {
            "/".join(path.split("/")[:depth])
            for path in self.store.collection_paths(collection + "/")
            if any(True for _ in self.store.collection(path, at))
        }

    def ListCollectionIds(self, request: Any) -> Any:
        parent = request.parent
        database = database_of(parent)
        check_parent(database, parent)
        depth = len(parent.split("/")) + 1
        with self.store.cond:
            paths = self.store.collection_paths(parent + "/")
            ids = sorted(
                {
                    p.split("/")[depth - 1]
                    for p in paths
                    if any(True for _ in self.store.collection(p)) or self._has_descendants(p)
                }
            )
        start = ids.index(request.page_token) if request.page_token in ids else 0
        size = request.page_size or 1000
        response = pb.ListCollectionIdsResponse(collection_ids=ids[start : start + size])
        if start + size < len(ids):
            response.next_page_token = ids[start + size]
        return response

    def _has_descendants(self, collection: str) -> bool:
        return any(
            any(True for _ in self.store.collection(p))
            for p in self.store.collection_paths(collection + "/")
        )

    def PartitionQuery(self, request: Any) -> Any:
        # One partition (the whole query) is a valid answer: the client then runs one query.
        return pb.PartitionQueryResponse()

    def Listen(
        self,
        requests: Iterator[Any],
        context: grpc.ServicerContext,
        check_target: Callable[[Any], None] | None = None,
    ) -> Iterator[Any]:
        session = ListenSession(self.store, requests, context.is_active, check_target)
        yield from session.responses()


__all__ = ["FirestoreService", "documents_root", "parent_collection"]
