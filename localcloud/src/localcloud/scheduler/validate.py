"""What the service checks in a job before it stores one, and the defaults it fills in.

Refusals use the service's codes: INVALID_ARGUMENT for malformed names, schedules,
time zones, URIs and limits. Pub/Sub and App Engine targets are valid jobs in the real
service, but localcloud cannot deliver them, so they are refused with UNIMPLEMENTED
rather than accepted and silently never run.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from localcloud.scheduler import pb
from localcloud.scheduler.cron import Schedule
from localcloud.scheduler.errors import invalid, unimplemented
from localcloud.scheduler.retry import (
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_DOUBLINGS,
    DEFAULT_MIN_BACKOFF,
    MAX_RETRY_COUNT,
    seconds,
)

_PARENT = re.compile(r"projects/[A-Za-z0-9:.-]+/locations/[A-Za-z0-9-]+")
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,500}")
OUTPUT_ONLY = ("user_update_time", "state", "status", "schedule_time", "last_attempt_time")
# attempt_deadline of HTTP targets: default 3 minutes, allowed 15 seconds to 30 minutes.
DEFAULT_DEADLINE = 180
_DEADLINE_RANGE = (15.0, 1800.0)
_BODY_METHODS = {pb.HttpMethod.POST, pb.HttpMethod.PUT, pb.HttpMethod.PATCH}


def check_parent(parent: str) -> str:
    if not _PARENT.fullmatch(parent):
        raise invalid(f"Invalid parent {parent!r}: expected projects/PROJECT/locations/LOCATION")
    return parent


def check_name(name: str) -> str:
    parent, sep, job_id = name.rpartition("/jobs/")
    if not sep or not _PARENT.fullmatch(parent) or not _JOB_ID.fullmatch(job_id):
        raise invalid(
            f"Invalid job name {name!r}: expected projects/PROJECT/locations/LOCATION/jobs/JOB_ID"
        )
    return name


def name_for_new_job(parent: str, requested: str) -> str:
    """The name of a job created under ``parent``: the caller's, or a generated one."""
    if not requested:
        return f"{parent}/jobs/{uuid.uuid4().hex}"
    if check_name(requested).rpartition("/jobs/")[0] != parent:
        raise invalid(f"Job name {requested!r} is not under parent {parent!r}")
    return requested


def check_job(job: Any, allow_seconds: bool) -> Schedule:
    """Refuse an invalid job; its parsed schedule otherwise."""
    if len(job.description) > 500:
        raise invalid("description must not exceed 500 characters")
    if not job.schedule:
        raise invalid("schedule is required")
    schedule = Schedule.parse(job.schedule, job.time_zone, allow_seconds)
    _check_target(job)
    _check_retry(job.retry_config)
    if job.HasField("attempt_deadline"):
        low, high = _DEADLINE_RANGE
        if not low <= seconds(job.attempt_deadline) <= high:
            raise invalid("attempt_deadline must be between 15 seconds and 30 minutes")
    return schedule


def _check_target(job: Any) -> None:
    kind = job.WhichOneof("target")
    if kind is None:
        raise invalid("A job needs a target: http_target, pubsub_target or app_engine_http_target")
    if kind != "http_target":
        raise unimplemented(f"localcloud delivers HTTP targets only, not {kind}")
    target = job.http_target
    if not target.uri.startswith(("http://", "https://")):
        raise invalid(f"http_target.uri must start with http:// or https://: {target.uri!r}")
    method = target.http_method or pb.HttpMethod.POST
    if target.body and method not in _BODY_METHODS:
        raise invalid("A body is only allowed with HTTP methods POST, PUT and PATCH")


def _check_retry(config: Any) -> None:
    if not 0 <= config.retry_count <= MAX_RETRY_COUNT:
        raise invalid(f"retry_count must be between 0 and {MAX_RETRY_COUNT}")
    if config.max_doublings < 0:
        raise invalid("max_doublings must not be negative")
    durations = ("max_retry_duration", "min_backoff_duration", "max_backoff_duration")
    for field in durations:
        if seconds(getattr(config, field)) < 0:
            raise invalid(f"retry_config.{field} must not be negative")
    if seconds(config.min_backoff_duration) > seconds(config.max_backoff_duration):
        raise invalid("min_backoff_duration must not exceed max_backoff_duration")


def fill_defaults(job: Any) -> None:
    """Fill what the service fills for a job that leaves it unset (before checking)."""
    if not job.time_zone:
        job.time_zone = "Etc/UTC"
    if job.WhichOneof("target") == "http_target" and not job.http_target.http_method:
        job.http_target.http_method = pb.HttpMethod.POST
    config = job.retry_config
    if not job.HasField("retry_config"):
        config.max_doublings = DEFAULT_MAX_DOUBLINGS
    if not config.HasField("min_backoff_duration"):
        config.min_backoff_duration.FromNanoseconds(int(DEFAULT_MIN_BACKOFF * 1e9))
    if not config.HasField("max_backoff_duration"):
        config.max_backoff_duration.FromNanoseconds(int(DEFAULT_MAX_BACKOFF * 1e9))
    if not config.HasField("max_retry_duration"):
        config.max_retry_duration.FromSeconds(0)
    if not job.HasField("attempt_deadline"):
        job.attempt_deadline.FromSeconds(DEFAULT_DEADLINE)


def clear_output_only(job: Any) -> None:
    """Output-only fields in a request are ignored, as the API documents."""
    for field in OUTPUT_ONLY:
        job.ClearField(field)
