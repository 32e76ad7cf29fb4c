"""The gRPC server: wires the service's methods, counts RPCs, serves a debug endpoint."""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc

from localcloud.binding import GRPC_OPTIONS, PortInUse, bind_grpc, check_free, http_server
from localcloud.firestore import pb
from localcloud.firestore.errors import FirestoreError
from localcloud.firestore.faults import Faults
from localcloud.firestore.rules import Rules
from localcloud.firestore.rules.guard import Guard
from localcloud.firestore.service import FirestoreService
from localcloud.firestore.store import Store

log = logging.getLogger("localcloud.firestore")

SERVICE = "google.firestore.v1.Firestore"
# (method, request type, streaming kind)
_METHODS: list[tuple[str, Any, str]] = [
    ("BeginTransaction", pb.BeginTransactionRequest, "unary"),
    ("Rollback", pb.RollbackRequest, "unary"),
    ("Commit", pb.CommitRequest, "unary"),
    ("BatchWrite", pb.BatchWriteRequest, "unary"),
    ("BatchGetDocuments", pb.BatchGetDocumentsRequest, "server_stream"),
    ("RunQuery", pb.RunQueryRequest, "server_stream"),
    ("RunAggregationQuery", pb.RunAggregationQueryRequest, "server_stream"),
    ("ListDocuments", pb.ListDocumentsRequest, "unary"),
    ("ListCollectionIds", pb.ListCollectionIdsRequest, "unary"),
    ("PartitionQuery", pb.PartitionQueryRequest, "unary"),
    ("Listen", pb.ListenRequest, "bidi"),
]


_FACTORIES = {
    "unary": grpc.unary_unary_rpc_method_handler,
    "server_stream": grpc.unary_stream_rpc_method_handler,
    "bidi": grpc.stream_stream_rpc_method_handler,
}


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())


@dataclass
class RpcCounters:
    """How many times each RPC was called, overall and per database; and per database the
    documents Firestore would bill: ``read`` (each document a read returns or looks up,
    at least one per query, one per 1,000 entries an aggregation counts), ``written`` and
    ``deleted``."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.total: Counter[str] = Counter()
        self.by_database: dict[str, Counter[str]] = {}
        self.documents: dict[str, Counter[str]] = {}

    def add(self, method: str, database: str) -> None:
        with self._lock:
            self.total[method] += 1
            self.by_database.setdefault(database, Counter())[method] += 1

    def add_documents(self, database: str, kind: str, count: int) -> None:
        """``count`` billed documents of ``kind`` (read, written, deleted)."""
        if count:
            with self._lock:
                self.documents.setdefault(database, Counter())[kind] += count

    def for_database(self, database: str) -> dict[str, int]:
        with self._lock:
            return dict(self.by_database.get(database, Counter()))

    def documents_for(self, database: str) -> dict[str, int]:
        with self._lock:
            return dict(self.documents.get(database, Counter()))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": dict(self.total),
                "by_database": {k: dict(v) for k, v in self.by_database.items()},
                "documents": {k: dict(v) for k, v in self.documents.items()},
            }

    def reset(self) -> None:
        with self._lock:
            self.total.clear()
            self.by_database.clear()
            self.documents.clear()


def _database_of_request(request: Any) -> str:
    for attr in ("database", "parent"):
        value = getattr(request, attr, "")
        if value:
            return "/".join(value.split("/")[:4])
    return ""


class FirestoreServer:
    """A local Firestore on ``host:port`` (port 0 picks a free one)."""

    def __init__(  # noqa: PLR0917 - mirrors the command line's options
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: Path | None = None,
        import_dir: Path | None = None,
        export_on_exit: Path | None = None,
        debug_port: int | None = None,
        rules_path: Path | None = None,
        faults: Faults | None = None,
    ) -> None:
        # Ports first: a second server on a port in use must not open the data directory.
        check_free(host, port, "Firestore")
        if debug_port is not None:
            check_free(host, debug_port, "Firestore debug endpoint")
        # Parsed first: a rules file with a syntax error stops the server from starting.
        rules = Rules.load(rules_path) if rules_path is not None else None
        self.store = Store(data_dir=data_dir, import_dir=import_dir)
        self.counters = RpcCounters()
        self.service = FirestoreService(self.store, self.counters.add_documents)
        self.faults = faults or Faults.from_env()  # off unless asked for
        # Without rules everything is open, as the emulator without --rules.
        self.guard = Guard(rules, self.store) if rules is not None else None
        self._export_on_exit = export_on_exit
        self._grpc = grpc.server(
            futures.ThreadPoolExecutor(max_workers=256),
            options=[("grpc.max_receive_message_length", 64 * 1024 * 1024), *GRPC_OPTIONS],
        )
        self._grpc.add_generic_rpc_handlers((self._handlers(),))
        self.host = host
        self._debug: ThreadingHTTPServer | None = None
        try:
            self.port = bind_grpc(self._grpc, host, port, "Firestore")
            if debug_port is not None:
                self._debug = _debug_server(self, host, debug_port)
                self.debug_port = self._debug.server_address[1]
        except PortInUse:
            self._grpc.stop(None)
            self.store.close()
            raise

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> FirestoreServer:
        self._grpc.start()
        if self._debug is not None:
            threading.Thread(target=self._debug.serve_forever, daemon=True).start()
        log.info("Firestore listening on %s", self.address)
        return self

    def stop(self) -> None:
        self._grpc.stop(grace=1).wait()
        if self._debug is not None:
            self._debug.shutdown()
        if self._export_on_exit is not None:
            from localcloud.firestore.journal import write_export

            write_export(self._export_on_exit, self.store.latest_documents())
        self.store.close()

    def wait(self) -> None:
        self._grpc.wait_for_termination()

    # --- wiring --------------------------------------------------------------------------

    def _handlers(self) -> grpc.GenericRpcHandler:
        handlers = {}
        for name, request_type, kind in _METHODS:
            method = getattr(self.service, name)
            factory = _FACTORIES[kind]
            handlers[name] = factory(
                self._wrap(name, method, kind),
                request_deserializer=request_type.FromString,
                response_serializer=_serialize,
            )
        return grpc.method_handlers_generic_handler(SERVICE, handlers)

    def _wrap(self, name: str, method: Callable[..., Any], kind: str) -> Callable[..., Any]:
        if kind == "bidi":
            return self._wrap_bidi(name, method)

        def call(request: Any, context: grpc.ServicerContext) -> Any:
            database = _database_of_request(request)
            self.counters.add(name, database)
            log.debug("rpc %s %s", name, database)
            try:
                if name == "Commit":
                    self._inject_fault(request)
                bound = method
                if self.guard is not None:
                    bound = self.guard.bind(name, method, request, context.invocation_metadata())
                if kind == "server_stream":
                    return iter(list(bound(request)))
                return bound(request)
            except FirestoreError as err:
                log.debug("rpc %s failed: %s %s", name, err.code, err.message)
                context.abort(err.code, err.message)

        return call

    def _inject_fault(self, request: Any) -> None:
        """Fail this Commit before it applies, if fault injection draws it (faults.py)."""
        code = self.faults.draw()
        if code is None:
            return
        if code is grpc.StatusCode.ABORTED and request.transaction:
            self.store.rollback(request.database, request.transaction)
        raise FirestoreError(code, f"Injected fault: {code.name} (nothing was applied).")

    def _wrap_bidi(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def bidi(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
            # The database is only known from the first request: wait for it to count.
            first = next(requests, None)
            if first is None:
                return
            self.counters.add(name, first.database)
            log.debug("rpc %s %s", name, first.database)
            check = None
            if self.guard is not None:
                try:
                    check = self.guard.listen_check(context.invocation_metadata())
                except FirestoreError as err:
                    context.abort(err.code, err.message)
            yield from method(itertools.chain([first], requests), context, check)

        return bidi


def _debug_server(server: FirestoreServer, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            if self.path.startswith("/counters"):
                self._send(200, server.counters.snapshot())
            else:
                self._send(404, {"error": "GET /counters"})

        def do_POST(self) -> None:  # noqa: N802
            if self.path.startswith("/counters/reset"):
                server.counters.reset()
                self._send(200, {"reset": True})
            else:
                self._send(404, {"error": "POST /counters/reset"})

        def do_DELETE(self) -> None:  # noqa: N802
            # Same path as the official emulator's reset endpoint.
            prefix = "/emulator/v1/"
            if self.path.startswith(prefix) and self.path.endswith("/documents"):
                server.store.clear(self.path[len(prefix) : -len("/documents")])
                self._send(200, {})
            else:
                self._send(404, {"error": "DELETE /emulator/v1/projects/P/databases/D/documents"})

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug("debug endpoint: " + format, *args)

    debug: ThreadingHTTPServer = http_server(host, port, Handler, "Firestore debug endpoint")
    return debug


def start_firestore(host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> FirestoreServer:
    return FirestoreServer(host, port, **kwargs).start()
