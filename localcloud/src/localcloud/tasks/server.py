"""The gRPC server: wires the CloudTasks methods, starts and stops the dispatcher."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

from localcloud.binding import GRPC_OPTIONS, PortInUse, bind_grpc, check_free
from localcloud.tasks import pb
from localcloud.tasks.clock import Clock
from localcloud.tasks.dispatcher import Dispatcher
from localcloud.tasks.errors import TasksError
from localcloud.tasks.oidc import TokenMinter
from localcloud.tasks.queue_rpcs import QueueRpcs
from localcloud.tasks.store import QUEUE_NAME_REUSE_SECONDS, Store
from localcloud.tasks.task_rpcs import TaskRpcs

log = logging.getLogger("localcloud.tasks")

SERVICE = "google.cloud.tasks.v2.CloudTasks"
# Methods not listed (IAM, CMEK, batch tasks) answer UNIMPLEMENTED through gRPC itself.
_METHODS: dict[str, Any] = {
    "ListQueues": pb.ListQueuesRequest,
    "GetQueue": pb.GetQueueRequest,
    "CreateQueue": pb.CreateQueueRequest,
    "UpdateQueue": pb.UpdateQueueRequest,
    "DeleteQueue": pb.DeleteQueueRequest,
    "PurgeQueue": pb.PurgeQueueRequest,
    "PauseQueue": pb.PauseQueueRequest,
    "ResumeQueue": pb.ResumeQueueRequest,
    "ListTasks": pb.ListTasksRequest,
    "GetTask": pb.GetTaskRequest,
    "CreateTask": pb.CreateTaskRequest,
    "DeleteTask": pb.DeleteTaskRequest,
    "RunTask": pb.RunTaskRequest,
}


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())


def _resource_of(request: Any) -> str:
    for attr in ("name", "parent"):
        value = getattr(request, attr, "")
        if value:
            return str(value)
    queue = getattr(request, "queue", None)
    return str(queue.name) if queue is not None else ""


class TasksServer:
    """A local Cloud Tasks on ``host:port`` (port 0 picks a free one)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: Path | str | None = None,
        queue_reuse_seconds: float = QUEUE_NAME_REUSE_SECONDS,
    ) -> None:
        # Before the store: a second server on a port in use must not open its journal.
        check_free(host, port, "Cloud Tasks")
        self.clock = Clock()
        directory = Path(data_dir) if data_dir is not None else None
        self.store = Store(self.clock, directory, queue_reuse_seconds)
        self.minter = TokenMinter()
        self.dispatcher = Dispatcher(self.store, self.minter)
        # Billable operations per project: each API call, by method, and (the
        # dispatcher's) each push delivery attempt.
        self.calls: Counter[tuple[str, str]] = Counter()
        self._calls_lock = threading.Lock()
        self._rpcs: dict[str, Callable[[Any], Any]] = {}
        for rpcs in (QueueRpcs(self.store), TaskRpcs(self.store, self.dispatcher)):
            self._rpcs.update({n: getattr(rpcs, n) for n in _METHODS if hasattr(rpcs, n)})
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=32), options=GRPC_OPTIONS)
        self._grpc.add_generic_rpc_handlers((self._handlers(),))
        try:
            self.port = bind_grpc(self._grpc, host, port, "Cloud Tasks")
        except PortInUse:
            self.store.close()
            raise
        self.host = host

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> TasksServer:
        self.dispatcher.start()
        self._grpc.start()
        log.info("Cloud Tasks listening on %s", self.address)
        return self

    def stop(self, grace: float = 2.0) -> None:
        """Refuse new calls, let attempts in flight finish for ``grace`` s, stop saving."""
        self._grpc.stop(grace=None).wait()
        self.dispatcher.stop(grace)
        self.store.close()

    def wait(self) -> None:
        self._grpc.wait_for_termination()

    def advance(self, seconds: float) -> None:
        """Move the server's clock forward: tasks due within ``seconds`` run now."""
        self.clock.advance(seconds)
        self.dispatcher.wake()

    def oidc_public_keys(self) -> dict[str, str]:
        """``{key id: PEM}`` verifying the OIDC tokens dispatches carry."""
        return self.minter.public_keys()

    def _handlers(self) -> grpc.GenericRpcHandler:
        handlers = {
            name: grpc.unary_unary_rpc_method_handler(
                self._wrap(name, self._rpcs[name]),
                request_deserializer=request_type.FromString,
                response_serializer=_serialize,
            )
            for name, request_type in _METHODS.items()
        }
        return grpc.method_handlers_generic_handler(SERVICE, handlers)

    def operations(self, project: str) -> dict[str, int]:
        """The project's API calls by method, and ``DeliveryAttempt``: its tasks' pushes."""
        with self._calls_lock:
            found = {m: n for (p, m), n in self.calls.items() if p == project}
        return {**found, "DeliveryAttempt": self.dispatcher.attempts.get(project, 0)}

    def _wrap(self, name: str, method: Callable[[Any], Any]) -> Callable[..., Any]:
        def call(request: Any, context: grpc.ServicerContext) -> Any:
            resource = _resource_of(request)
            with self._calls_lock:
                self.calls[(resource.split("/")[1] if resource.count("/") else "", name)] += 1
            log.debug("rpc %s %s", name, resource)
            try:
                return method(request)
            except TasksError as err:
                log.debug("rpc %s failed: %s %s", name, err.code.name, err.message)
                context.abort(err.code, err.message)

        return call


def start_tasks(
    host: str = "127.0.0.1", port: int = 0, data_dir: Path | str | None = None, **kwargs: Any
) -> TasksServer:
    """Start a local Cloud Tasks in this process; ``.address`` is its ``host:port``."""
    return TasksServer(host, port, data_dir=data_dir, **kwargs).start()
