"""Cloud Scheduler jobs of one location through the real ``google-cloud-scheduler`` client.

The same code path serves production and localcloud: with no emulator host the client
uses Application Default Credentials; with a host (argument or
``CLOUD_SCHEDULER_EMULATOR_HOST``) it talks plain gRPC to that address.
"""

from __future__ import annotations

import os

from google.cloud import scheduler_v1
from google.cloud.scheduler_v1.services.cloud_scheduler.transports import (
    CloudSchedulerGrpcTransport,
)
from google.protobuf import duration_pb2, field_mask_pb2

from shared.deploy.schedule_sync import Action, ActionKind, JobSpec

EMULATOR_HOST_ENV = "CLOUD_SCHEDULER_EMULATOR_HOST"


def scheduler_client(host: str | None = None) -> scheduler_v1.CloudSchedulerClient:
    """A client for ``host`` or the emulator variable's address; production otherwise."""
    host = host or os.environ.get(EMULATOR_HOST_ENV)
    if not host:
        return scheduler_v1.CloudSchedulerClient()
    import grpc

    channel = grpc.insecure_channel(host)
    return scheduler_v1.CloudSchedulerClient(transport=CloudSchedulerGrpcTransport(channel=channel))


def to_job(parent: str, spec: JobSpec) -> scheduler_v1.Job:
    """The API's Job for ``spec`` under ``parent`` (projects/P/locations/L)."""
    target = scheduler_v1.HttpTarget(
        uri=spec.uri,
        http_method=scheduler_v1.HttpMethod.__members__[spec.http_method.upper()],
        headers=dict(spec.headers),
        body=spec.body,
    )
    if spec.oidc_service_account:
        target.oidc_token = scheduler_v1.OidcToken(
            service_account_email=spec.oidc_service_account, audience=spec.oidc_audience
        )
    return scheduler_v1.Job(
        name=f"{parent}/jobs/{spec.job_id}",
        description=spec.description,
        schedule=spec.schedule,
        time_zone=spec.time_zone,
        http_target=target,
        attempt_deadline=duration_pb2.Duration(seconds=spec.attempt_deadline_seconds),
    )


def from_job(job: scheduler_v1.Job) -> JobSpec:
    """What we manage of an existing job (a non-HTTP target reads as an empty URI)."""
    target = job.http_target
    return JobSpec(
        job_id=job.name.rsplit("/", 1)[-1],
        schedule=job.schedule,
        time_zone=job.time_zone,
        uri=target.uri,
        http_method=scheduler_v1.HttpMethod(target.http_method).name,
        headers=tuple(sorted(target.headers.items())),
        body=target.body,
        description=job.description,
        oidc_service_account=target.oidc_token.service_account_email,
        oidc_audience=target.oidc_token.audience,
        # proto-plus reads a Duration as a timedelta; the raw message has plain seconds.
        attempt_deadline_seconds=int(scheduler_v1.Job.pb(job).attempt_deadline.seconds),
    )


class SchedulerJobs:
    """Lists and changes the jobs of one location."""

    def __init__(self, client: scheduler_v1.CloudSchedulerClient, parent: str) -> None:
        self.client = client
        self.parent = parent

    def list(self) -> list[JobSpec]:
        return [from_job(job) for job in self.client.list_jobs(parent=self.parent)]

    def apply(self, action: Action) -> None:
        name = f"{self.parent}/jobs/{action.job_id}"
        if action.kind is ActionKind.DELETE:
            self.client.delete_job(name=name)
            return
        if action.spec is None:
            raise ValueError(f"{action.kind} {action.job_id} needs a job spec")
        job = to_job(self.parent, action.spec)
        if action.kind is ActionKind.CREATE:
            self.client.create_job(parent=self.parent, job=job)
        else:
            mask = field_mask_pb2.FieldMask(paths=list(action.fields))
            self.client.update_job(job=job, update_mask=mask)
