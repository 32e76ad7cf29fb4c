"""The Scheduler jobs the manifest asks for, and the actions that make a location match.

Pure: no client, no I/O. ``desired_jobs`` turns the manifest's scheduled functions into
job specs; ``plan`` compares them with the jobs that exist and returns what to create,
update (with the update mask of the fields that differ) and delete. Only jobs whose id
starts with ``growthkit-`` are ours: others in the location are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from shared.manifest import Function, Trigger, scheduler_job_id

JOB_PREFIX = "growthkit-"
# HTTP targets allow attempt deadlines from 15 seconds to 30 minutes.
MIN_DEADLINE, MAX_DEADLINE = 15, 1800
# Headers the service sets itself; a job read back may carry them, so they never differ.
_SERVICE_HEADERS = ("user-agent", "content-length", "host", "x-cloudscheduler")
_UTC_NAMES = {"", "utc", "etc/utc", "gmt", "etc/gmt"}
JSON_HEADERS = (("Content-Type", "application/json"),)


@dataclass(frozen=True)
class JobSpec:
    """What we manage of one HTTP-target job; ``job_id`` is the last part of its name."""

    job_id: str
    schedule: str
    time_zone: str
    uri: str
    http_method: str = "POST"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    description: str = ""
    oidc_service_account: str = ""  # empty: no Authorization header
    oidc_audience: str = ""
    attempt_deadline_seconds: int = 180


class ActionKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class Action:
    """One change to a location; ``fields`` is an update's mask."""

    kind: ActionKind
    job_id: str
    spec: JobSpec | None = None
    fields: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind is ActionKind.CREATE and self.spec is not None:
            spec = self.spec
            where = f"{spec.http_method} {spec.uri}"
            return f"create {self.job_id}: {where} at '{spec.schedule}' ({spec.time_zone})"
        if self.kind is ActionKind.UPDATE:
            return f"update {self.job_id}: {', '.join(self.fields)}"
        return f"delete {self.job_id}"


def job_spec(function: Function, base_url: str, service_account: str = "") -> JobSpec:
    """The job that POSTs to ``{base_url}/{function.name}`` on the function's schedule."""
    if function.schedule is None:
        raise ValueError(f"{function.name} has no schedule")
    uri = f"{base_url.rstrip('/')}/{function.name}"
    deadline = min(max(function.timeout_seconds, MIN_DEADLINE), MAX_DEADLINE)
    return JobSpec(
        job_id=scheduler_job_id(function),
        schedule=function.schedule,
        time_zone=function.time_zone,
        uri=uri,
        headers=JSON_HEADERS,
        body=b"{}",
        description=f"Runs the growthkit function {function.name} (managed by shared.deploy)",
        oidc_service_account=service_account,
        # Cloud Functions accept an ID token whose audience is the function's URL.
        oidc_audience=uri if service_account else "",
        attempt_deadline_seconds=deadline,
    )


def desired_jobs(
    functions: Iterable[Function], base_url: str, service_account: str = ""
) -> list[JobSpec]:
    """One job per scheduled function, in manifest order."""
    return [
        job_spec(function, base_url, service_account)
        for function in functions
        if function.trigger == Trigger.SCHEDULE
    ]


def _zone(name: str) -> str:
    return "Etc/UTC" if name.lower() in _UTC_NAMES else name


def _headers(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {
        name.lower(): value
        for name, value in headers
        if not name.lower().startswith(_SERVICE_HEADERS)
    }


def _target(spec: JobSpec) -> tuple[object, ...]:
    return (
        spec.uri,
        spec.http_method.upper(),
        _headers(spec.headers),
        spec.body,
        spec.oidc_service_account,
        spec.oidc_audience,
    )


def changed_fields(desired: JobSpec, existing: JobSpec) -> tuple[str, ...]:
    """The Job fields (update-mask paths) where ``existing`` differs from ``desired``."""
    comparisons = {
        "description": (desired.description, existing.description),
        "schedule": (" ".join(desired.schedule.split()), " ".join(existing.schedule.split())),
        "time_zone": (_zone(desired.time_zone), _zone(existing.time_zone)),
        "http_target": (_target(desired), _target(existing)),
        "attempt_deadline": (desired.attempt_deadline_seconds, existing.attempt_deadline_seconds),
    }
    return tuple(field for field, (want, have) in comparisons.items() if want != have)


def plan(
    desired: Sequence[JobSpec], existing: Sequence[JobSpec], prefix: str = JOB_PREFIX
) -> list[Action]:
    """Creates and updates in ``desired`` order, then deletes of stale jobs by id."""
    current = {spec.job_id: spec for spec in existing}
    wanted = {spec.job_id for spec in desired}
    actions: list[Action] = []
    for spec in desired:
        have = current.get(spec.job_id)
        if have is None:
            actions.append(Action(ActionKind.CREATE, spec.job_id, spec))
        elif fields := changed_fields(spec, have):
            actions.append(Action(ActionKind.UPDATE, spec.job_id, spec, fields))
    stale = sorted(job_id for job_id in current if job_id.startswith(prefix))
    actions += [Action(ActionKind.DELETE, job_id) for job_id in stale if job_id not in wanted]
    return actions
