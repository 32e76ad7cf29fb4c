"""The gRPC server of the local Cloud Scheduler: wires the RPCs and starts the runner."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

from localcloud.binding import GRPC_OPTIONS, bind_grpc, check_free
from localcloud.scheduler import pb
from localcloud.scheduler.errors import SchedulerError
from localcloud.scheduler.runner import Clock, Runner, system_clock
from localcloud.scheduler.service import SchedulerService
from localcloud.scheduler.table import JobTable

log = logging.getLogger("localcloud.scheduler")

SERVICE = "google.cloud.scheduler.v1.CloudScheduler"
_METHODS: dict[str, Any] = {
    "CreateJob": pb.CreateJobRequest,
    "GetJob": pb.GetJobRequest,
    "ListJobs": pb.ListJobsRequest,
    "UpdateJob": pb.UpdateJobRequest,
    "DeleteJob": pb.DeleteJobRequest,
    "PauseJob": pb.PauseJobRequest,
    "ResumeJob": pb.ResumeJobRequest,
    "RunJob": pb.RunJobRequest,
}


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())


def _subject(request: Any) -> str:
    for field in ("name", "parent"):
        value = getattr(request, field, "")
        if value:
            return str(value)
    return str(request.job.name) if request.HasField("job") else ""


class SchedulerServer:
    """A local Cloud Scheduler on ``host:port`` (port 0 picks a free one).

    ``data_dir`` keeps the jobs across restarts. ``clock`` replaces the wall clock (a test
    sets it just before a minute boundary to see a five-field cron fire). ``allow_seconds``
    accepts six-field cron with seconds first, for tests only.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: Path | None = None,
        clock: Clock = system_clock,
        allow_seconds: bool = False,
    ) -> None:
        # Before the table: a second server on a port in use must not touch its jobs.
        check_free(host, port, "Cloud Scheduler")
        self.table = JobTable(data_dir)
        self.runner = Runner(self.table, clock, allow_seconds)
        self.service = SchedulerService(self.table, self.runner, clock, allow_seconds)
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=GRPC_OPTIONS)
        self._grpc.add_generic_rpc_handlers((self._handlers(),))
        self.port = bind_grpc(self._grpc, host, port, "Cloud Scheduler")
        self.host = host
        self._reschedule_loaded(clock())

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> SchedulerServer:
        self._grpc.start()
        self.runner.start()
        log.info("Cloud Scheduler listening on %s", self.address)
        return self

    def stop(self) -> None:
        self.runner.stop()
        self._grpc.stop(grace=1).wait()

    def _reschedule_loaded(self, now: Any) -> None:
        # Run times missed while the server was down are not caught up (see runner).
        with self.table.cond:
            for job in self.table.jobs.values():
                self.runner.schedule_next(job, now)
            self.table.save()

    def _handlers(self) -> grpc.GenericRpcHandler:
        handlers = {
            name: grpc.unary_unary_rpc_method_handler(
                self._wrap(name, getattr(self.service, name)),
                request_deserializer=request_type.FromString,
                response_serializer=_serialize,
            )
            for name, request_type in _METHODS.items()
        }
        return grpc.method_handlers_generic_handler(SERVICE, handlers)

    def _wrap(self, name: str, method: Callable[[Any], Any]) -> Callable[..., Any]:
        def call(request: Any, context: grpc.ServicerContext) -> Any:
            log.debug("rpc %s %s", name, _subject(request))
            try:
                return method(request)
            except SchedulerError as err:
                log.debug("rpc %s failed: %s %s", name, err.code.name, err.message)
                context.abort(err.code, err.message)

        return call


def start_scheduler(
    host: str = "127.0.0.1", port: int = 0, data_dir: Path | None = None, **options: Any
) -> SchedulerServer:
    """Start a local Cloud Scheduler in this process; ``options``: clock, allow_seconds."""
    return SchedulerServer(host, port, data_dir, **options).start()
