"""Security rules applied to the Firestore RPCs of callers other than the owner.

Reads are checked before they run (``get`` per document, ``list`` per query, checked
symbolically: see queries.py); writes are checked inside the commit, under the store's
lock, on the documents as they are before and would be after it, so ``request.time``
is the commit time that server timestamps get. A denial is PERMISSION_DENIED naming the
method, the path and why each applicable rule did not allow it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import grpc

from localcloud.firestore.errors import FirestoreError
from localcloud.firestore.names import database_of, ts_to_ns
from localcloud.firestore.rules.context import Identity, identity, request_map
from localcloud.firestore.rules.engine import Decision, Rules
from localcloud.firestore.rules.evaluator import Documents
from localcloud.firestore.rules.queries import collection_items, describe, query_map, scenarios
from localcloud.firestore.rules.runtime import RulePath, document_path, resource
from localcloud.firestore.store import Store

# Names of documents a commit changes -> (before, after); None is a missing document.
Changes = dict[str, tuple[Any | None, Any | None]]
_READS = ("BatchGetDocuments", "RunQuery", "RunAggregationQuery", "PartitionQuery")
_ADMIN_ONLY = ("ListDocuments", "ListCollectionIds")


def denied(method: str, path: str, decision: Decision) -> FirestoreError:
    return FirestoreError(
        grpc.StatusCode.PERMISSION_DENIED,
        f"Missing or insufficient permissions for '{method}' on {path}:\n{decision.explain()}",
    )


class Guard:
    """Binds each RPC of a non-owner caller to the checks its rules require."""

    def __init__(self, rules: Rules, store: Store) -> None:
        self.rules = rules
        self.store = store

    def bind(self, rpc: str, method: Callable[..., Any], request: Any, metadata: Any) -> Any:
        """``method`` ready to call with the request: checked, or given a write check."""
        who = identity(metadata)
        if who.owner:
            return method
        if rpc in ("Commit", "BatchWrite"):
            return functools.partial(method, check=self.write_check(who))
        if rpc in _ADMIN_ONLY:
            raise FirestoreError(
                grpc.StatusCode.PERMISSION_DENIED,
                "Metadata operations require admin authentication.",
            )
        if rpc in _READS:
            self._check_read(rpc, request, who)
        return method

    def listen_check(self, metadata: Any) -> Callable[[Any], None] | None:
        """For Listen: a check of each target added (None for the owner)."""
        who = identity(metadata)
        if who.owner:
            return None
        return lambda target: self._check_target(target, who)

    # --- reads -----------------------------------------------------------------------

    def _check_read(self, rpc: str, request: Any, who: Identity) -> None:
        if rpc == "BatchGetDocuments":
            at = _read_time(request)
            for name in request.documents:
                self.check_get(name, who, at)
        elif rpc == "RunAggregationQuery":
            self.check_list(request.parent, request.structured_aggregation_query, who, True)
        else:
            self.check_list(request.parent, request.structured_query, who)

    def _check_target(self, target: Any, who: Identity) -> None:
        if target.WhichOneof("target_type") == "documents":
            for name in target.documents.documents:
                self.check_get(name, who, None)
        else:
            self.check_list(target.query.parent, target.query.structured_query, who)

    def check_get(self, name: str, who: Identity, read_ns: int | None) -> None:
        path = document_path(name)
        request = request_map(who, "get", path, self.store.read_time())
        with self.store.cond:  # a consistent view for the document and get() calls
            existing = resource(self.store.get(name, read_ns))
            documents = self._documents(name, {})
            decision = self.rules.decide("get", path.segments, request, existing, documents)
        if not decision.allowed:
            raise denied("get", str(path), decision)

    def check_list(self, parent: str, query: Any, who: Identity, aggregate: bool = False) -> None:
        sq = query.structured_query if aggregate else query
        collection = collection_items(parent, sq)
        if collection is None:
            raise denied("list", parent, Decision(False, ["a query of every collection"]))
        shown = describe(collection)
        path = RulePath(tuple(shown.split("/")[1:]))
        request = request_map(who, "list", path, self.store.read_time(), query=query_map(sq))
        for scenario in scenarios(sq.where if sq.HasField("where") else None):
            items, listed = scenario.resolve(collection)
            with self.store.cond:
                documents = self._documents(parent, {})
                decision = self.rules.decide("list", items, request, listed, documents)
            if not decision.allowed:
                raise denied("list", shown, decision)

    # --- writes ----------------------------------------------------------------------

    def write_check(self, who: Identity) -> Callable[[int, Changes], None]:
        """The check the store runs inside a commit, before applying it."""

        def check(commit_ns: int, changes: Changes) -> None:
            for name, (before, after) in changes.items():
                self._check_write(who, commit_ns, name, before, after, changes)

        return check

    def _check_write(
        self,
        who: Identity,
        commit_ns: int,
        name: str,
        before: Any | None,
        after: Any | None,
        changes: Changes,
    ) -> None:
        method = "delete" if after is None else "create" if before is None else "update"
        path = document_path(name)
        extra = {} if after is None else {"resource": resource(after)}
        request = request_map(who, method, path, commit_ns, **extra)
        documents = self._documents(name, changes)
        decision = self.rules.decide(method, path.segments, request, resource(before), documents)
        if not decision.allowed:
            raise denied(method, str(path), decision)

    def _documents(self, any_name: str, changes: Changes) -> Documents:
        """``get()``/``exists()`` on the latest documents of the request's database;
        ``getAfter()`` sees the commit's changes applied too."""
        project_prefix = "/".join(database_of(any_name).split("/")[:2])

        def name_of(path: RulePath) -> str:
            return f"{project_prefix}/{'/'.join(path.segments)}"

        def before(path: RulePath) -> dict[str, object] | None:
            return resource(self.store.get(name_of(path)))

        def after(path: RulePath) -> dict[str, object] | None:
            name = name_of(path)
            return resource(changes[name][1]) if name in changes else before(path)

        return Documents(database_of(any_name), before, after)


def _read_time(request: Any) -> int | None:
    if request.WhichOneof("consistency_selector") == "read_time":
        return ts_to_ns(request.read_time)
    return None
