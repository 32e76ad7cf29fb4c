"""The CloudScheduler RPCs on raw protobuf messages, with the real service's refusals."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from localcloud.scheduler import pb
from localcloud.scheduler.errors import already_exists, failed_precondition, invalid, not_found
from localcloud.scheduler.runner import Clock, Runner
from localcloud.scheduler.table import JobTable
from localcloud.scheduler.validate import (
    OUTPUT_ONLY,
    check_job,
    check_name,
    check_parent,
    clear_output_only,
    fill_defaults,
    name_for_new_job,
)

MAX_PAGE_SIZE = 500
_UPDATABLE = {
    "description",
    "schedule",
    "time_zone",
    "http_target",
    "pubsub_target",
    "app_engine_http_target",
    "retry_config",
    "attempt_deadline",
}
_IGNORED = {"name", *OUTPUT_ONLY}  # output only: ignored in an update, as documented


def _copy(job: Any) -> Any:
    result = pb.Job()
    result.CopyFrom(job)
    return result


class SchedulerService:
    """One method per RPC, named as in the API; each takes and returns raw messages."""

    def __init__(self, table: JobTable, runner: Runner, clock: Clock, allow_seconds: bool):
        self.table = table
        self.runner = runner
        self.clock = clock
        self.allow_seconds = allow_seconds

    def _existing(self, name: str) -> Any:
        job = self.table.get(check_name(name))
        if job is None:
            raise not_found(name)
        return job

    def _store(self, job: Any) -> Any:
        self.table.jobs[job.name] = job
        self.table.save()
        self.table.cond.notify_all()
        return _copy(job)

    def CreateJob(self, request: Any) -> Any:  # noqa: N802 - the RPC's name
        parent = check_parent(request.parent)
        job = _copy(request.job)
        clear_output_only(job)
        job.name = name_for_new_job(parent, job.name)
        fill_defaults(job)
        check_job(job, self.allow_seconds)
        with self.table.cond:
            if job.name in self.table.jobs:
                raise already_exists(job.name)
            now = self.clock()
            job.user_update_time.FromDatetime(now)
            job.state = pb.Job.ENABLED
            self.runner.schedule_next(job, now)
            return self._store(job)

    def GetJob(self, request: Any) -> Any:  # noqa: N802
        with self.table.cond:
            return _copy(self._existing(request.name))

    def ListJobs(self, request: Any) -> Any:  # noqa: N802
        prefix = check_parent(request.parent) + "/jobs/"
        if request.page_size < 0:
            raise invalid("page_size must not be negative")
        size = min(request.page_size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
        after = _decode_token(request.page_token)
        with self.table.cond:
            names = sorted(n for n in self.table.jobs if n.startswith(prefix) and n > after)
            page = [_copy(self.table.jobs[n]) for n in names[:size]]
        token = _encode_token(names[size - 1]) if len(names) > size else ""
        return pb.ListJobsResponse(jobs=page, next_page_token=token)

    def UpdateJob(self, request: Any) -> Any:  # noqa: N802
        if not request.job.name:
            raise invalid("job.name is required")
        paths = _mask_paths(request)
        with self.table.cond:
            existing = self._existing(request.job.name)
            job = _merged(existing, request.job, paths)
            fill_defaults(job)
            check_job(job, self.allow_seconds)
            now = self.clock()
            job.user_update_time.FromDatetime(now)
            # A changed job starts afresh: an execution being retried is dropped.
            self.runner.forget(job.name)
            self.runner.schedule_next(job, now)
            return self._store(job)

    def DeleteJob(self, request: Any) -> Any:  # noqa: N802
        with self.table.cond:
            job = self._existing(request.name)
            del self.table.jobs[job.name]
            self.runner.forget(job.name)
            self.table.save()
            self.table.cond.notify_all()
        return pb.Empty()

    def PauseJob(self, request: Any) -> Any:  # noqa: N802
        with self.table.cond:
            job = self._existing(request.name)
            if job.state != pb.Job.ENABLED:
                raise failed_precondition(f"Job {job.name} must be ENABLED to be paused")
            job.state = pb.Job.PAUSED
            self.runner.forget(job.name)
            self.runner.schedule_next(job, self.clock())
            return self._store(job)

    def ResumeJob(self, request: Any) -> Any:  # noqa: N802
        with self.table.cond:
            job = self._existing(request.name)
            if job.state != pb.Job.PAUSED:
                raise failed_precondition(f"Job {job.name} must be PAUSED to be resumed")
            job.state = pb.Job.ENABLED
            self.runner.schedule_next(job, self.clock())
            return self._store(job)

    def RunJob(self, request: Any) -> Any:  # noqa: N802
        with self.table.cond:
            job = self._existing(request.name)
            self.runner.force(job.name)
            return _copy(job)


def _mask_paths(request: Any) -> list[str]:
    """The update mask without output-only paths; INVALID_ARGUMENT for unknown ones."""
    paths = [p for p in request.update_mask.paths if p.split(".")[0] not in _IGNORED]
    for path in paths:
        if path.split(".")[0] not in _UPDATABLE:
            raise invalid(f"Invalid update_mask path: {path!r}")
    if not pb.FieldMask(paths=paths).IsValidForDescriptor(pb.Job.DESCRIPTOR):
        raise invalid(f"Invalid update_mask: {paths}")
    return paths


def _merged(existing: Any, incoming: Any, paths: list[str]) -> Any:
    """``existing`` with the masked fields of ``incoming``; all of them without a mask."""
    if paths:
        job = _copy(existing)
        # Replace, don't merge: a masked target or map means exactly the value sent.
        pb.FieldMask(paths=paths).MergeMessage(
            incoming, job, replace_message_field=True, replace_repeated_field=True
        )
        return job
    job = _copy(incoming)
    clear_output_only(job)
    job.state = existing.state
    for field in OUTPUT_ONLY:
        if field != "state" and existing.HasField(field):
            getattr(job, field).CopyFrom(getattr(existing, field))
    return job


def _encode_token(last_name: str) -> str:
    return base64.urlsafe_b64encode(last_name.encode()).decode()


def _decode_token(token: str) -> str:
    if not token:
        return ""
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError) as err:
        raise invalid("Invalid page_token") from err
