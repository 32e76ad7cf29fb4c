"""The Listen stream behind ``on_snapshot``, for document and query targets.

Protocol, as the client expects it: after a target is added the server sends ADD, the
matching documents, CURRENT, then a global NO_CHANGE (no target ids, with a read time);
the client only delivers a snapshot on that last message. Each later commit that touches
a target sends the document changes and another global NO_CHANGE.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from localcloud.firestore import pb
from localcloud.firestore.errors import FirestoreError
from localcloud.firestore.names import ns_to_ts, parent_collection
from localcloud.firestore.query import run_query
from localcloud.firestore.store import Commit, Store, update_ns

_STOP = object()


class _Target:
    def __init__(self, store: Store, target: Any) -> None:
        self.id = target.target_id
        self.once = target.once
        self._store = store
        self._docs_target = target.WhichOneof("target_type") == "documents"
        self._names = list(target.documents.documents) if self._docs_target else []
        self._parent = target.query.parent
        self._query = target.query.structured_query
        self.state: dict[str, int | None] = {}

    def current(self) -> dict[str, Any]:
        if self._docs_target:
            found = (self._store.get(n) for n in self._names)
            return {d.name: d for d in found if d is not None}
        return {d.name: d for d in run_query(self._store, self._parent, self._query)}

    def touched_by(self, commit: Commit) -> bool:
        if self._docs_target:
            return any(c.name in self._names for c in commit.changes)
        return any(parent_collection(c.name).startswith(self._parent) for c in commit.changes)


class ListenSession:
    """One client stream: reads requests on a thread, yields responses from a queue."""

    def __init__(
        self,
        store: Store,
        requests: Iterator[Any],
        is_active: Callable[[], bool],
        check_target: Callable[[Any], None] | None = None,
    ) -> None:
        self._store = store
        self._check_target = check_target  # security rules, for callers but the owner
        self._requests = requests
        self._is_active = is_active
        self._targets: dict[int, _Target] = {}
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._unsubscribe = store.subscribe(self._inbox.put)

    def responses(self) -> Iterator[Any]:
        threading.Thread(target=self._read_requests, daemon=True).start()
        try:
            while self._is_active():
                try:
                    item = self._inbox.get(timeout=0.5)
                except queue.Empty:
                    continue
                if item is _STOP:
                    return
                yield from self._handle(item)
        finally:
            self._unsubscribe()

    def _read_requests(self) -> None:
        try:
            for request in self._requests:
                self._inbox.put(request)
        except Exception:  # noqa: BLE001 - the client closed the stream
            pass
        self._inbox.put(_STOP)

    def _handle(self, item: Any) -> Iterator[Any]:
        if isinstance(item, Commit):
            yield from self._on_commit(item)
        elif item.WhichOneof("target_change") == "add_target":
            yield from self._add(item.add_target)
        elif item.WhichOneof("target_change") == "remove_target":
            self._targets.pop(item.remove_target, None)
            yield _target_change(pb.TargetChangeType.REMOVE, [item.remove_target])

    def _add(self, spec: Any) -> Iterator[Any]:
        target = _Target(self._store, spec)
        try:
            if self._check_target is not None:
                self._check_target(spec)
            with self._store.cond:
                docs = target.current()
                read_ns = self._store.read_time()
        except FirestoreError as err:
            # An invalid target is removed with its cause; failing the whole stream would
            # make the client reconnect and fail again forever.
            yield _target_change(pb.TargetChangeType.REMOVE, [target.id], cause=err)
            return
        self._targets[target.id] = target
        yield _target_change(pb.TargetChangeType.ADD, [target.id])
        for doc in docs.values():
            yield pb.ListenResponse(
                document_change=pb.DocumentChange(document=doc, target_ids=[target.id])
            )
        target.state = {name: update_ns(d) for name, d in docs.items()}
        yield _target_change(pb.TargetChangeType.CURRENT, [target.id], read_ns)
        yield _target_change(pb.TargetChangeType.NO_CHANGE, [], read_ns)
        if target.once:
            self._targets.pop(target.id, None)
            yield _target_change(pb.TargetChangeType.REMOVE, [target.id])

    def _on_commit(self, commit: Commit) -> Iterator[Any]:
        responses: list[Any] = []
        for target in [t for t in self._targets.values() if t.touched_by(commit)]:
            with self._store.cond:
                docs = target.current()
                gone = {name: self._store.get(name) for name in set(target.state) - set(docs)}
            for name, doc in docs.items():
                if target.state.get(name, -1) != update_ns(doc):
                    change = pb.DocumentChange(document=doc, target_ids=[target.id])
                    responses.append(pb.ListenResponse(document_change=change))
            responses.extend(_removal(name, doc, target.id) for name, doc in gone.items())
            target.state = {name: update_ns(d) for name, d in docs.items()}
        if responses:
            yield from responses
            yield _target_change(pb.TargetChangeType.NO_CHANGE, [], commit.commit_ns)


def _removal(name: str, doc: Any | None, target_id: int) -> Any:
    """A document that left a target: deleted, or (as Firestore sends it) still there but
    no longer matching, which is a change removing it from the target."""
    if doc is None:
        delete = pb.DocumentDelete(document=name, removed_target_ids=[target_id])
        return pb.ListenResponse(document_delete=delete)
    change = pb.DocumentChange(document=doc, removed_target_ids=[target_id])
    return pb.ListenResponse(document_change=change)


def _target_change(
    kind: int,
    target_ids: list[int],
    read_ns: int | None = None,
    cause: FirestoreError | None = None,
) -> Any:
    change = pb.TargetChange(target_change_type=kind, target_ids=target_ids)
    if cause is not None:
        change.cause.code = cause.code.value[0]
        change.cause.message = cause.message
    if read_ns is not None:
        ns_to_ts(read_ns, change.read_time)
        change.resume_token = read_ns.to_bytes(8, "big")
    return pb.ListenResponse(target_change=change)
