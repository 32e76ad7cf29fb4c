"""The local Cloud Scheduler's API contract: refusals, update masks, paging, states.

Through the real ``google-cloud-scheduler`` client; the gRPC codes are the real service's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.protobuf import field_mask_pb2
from scheduler_support import PARENT, YEARLY, Servers, Target, http_job


@pytest.fixture
def target() -> Iterator[Target]:
    """A recording HTTP server for jobs to call."""
    server = Target()
    yield server
    server.close()


@pytest.fixture
def servers() -> Iterator[Servers]:
    """Starts local Cloud Schedulers with a client each; stops them after the test."""
    started = Servers()
    yield started
    started.close()


@pytest.fixture
def client(servers: Servers) -> Any:
    """A real client on a server with the standard five-field cron only."""
    return servers.start()[1]


def test_pause_and_resume_require_the_right_state(client: Any, target: Target) -> None:
    """Resuming an enabled job or pausing a paused one is FAILED_PRECONDITION."""
    job = client.create_job(parent=PARENT, job=http_job("p", target.url("/p"), YEARLY))
    with pytest.raises(gexc.FailedPrecondition):
        client.resume_job(name=job.name)
    client.pause_job(name=job.name)
    with pytest.raises(gexc.FailedPrecondition):
        client.pause_job(name=job.name)


def test_names_not_found_and_already_exists(client: Any, target: Target) -> None:
    """Missing jobs are NOT_FOUND, a second create ALREADY_EXISTS, bad names invalid."""
    spec = http_job("once", target.url("/once"), YEARLY)
    client.create_job(parent=PARENT, job=spec)
    with pytest.raises(gexc.AlreadyExists):
        client.create_job(parent=PARENT, job=spec)
    missing = f"{PARENT}/jobs/missing"
    for call in (client.get_job, client.delete_job, client.pause_job, client.run_job):
        with pytest.raises(gexc.NotFound):
            call(name=missing)
    with pytest.raises(gexc.InvalidArgument):
        client.get_job(name="jobs/once")
    with pytest.raises(gexc.InvalidArgument):
        client.create_job(parent="projects/other/locations/x", job=spec)


def test_update_job_applies_the_mask_only(client: Any, target: Target) -> None:
    """UpdateJob changes the masked fields, keeps the rest, refuses unknown paths."""
    spec = http_job("upd", target.url("/old"), YEARLY, description="kept")
    job = client.create_job(parent=PARENT, job=spec)
    change = http_job("upd", target.url("/new"), "0 6 * * *", description="ignored")
    mask = field_mask_pb2.FieldMask(paths=["schedule", "http_target"])
    updated = client.update_job(job=change, update_mask=mask)

    assert ("0 6 * * *", target.url("/new"), "kept") == (
        updated.schedule,
        updated.http_target.uri,
        updated.description,
    )
    assert job.schedule_time != updated.schedule_time
    assert updated == client.get_job(name=job.name)
    with pytest.raises(gexc.InvalidArgument):
        client.update_job(job=change, update_mask=field_mask_pb2.FieldMask(paths=["nope"]))
    with pytest.raises(gexc.InvalidArgument):
        client.update_job(job={**change, "schedule": "bad"}, update_mask=mask)
    with pytest.raises(gexc.NotFound):
        client.update_job(job=http_job("ghost", target.url("/"), YEARLY))


def test_list_jobs_pages_through_one_location(client: Any, target: Target) -> None:
    """ListJobs returns every job of the parent, sorted, across pages."""
    for job_id in ("c", "a", "b"):
        client.create_job(parent=PARENT, job=http_job(job_id, target.url("/"), YEARLY))
    other = "projects/demo/locations/europe-west1"
    client.create_job(parent=other, job={**http_job("z", target.url("/"), YEARLY), "name": ""})

    names = [job.name for job in client.list_jobs(request={"parent": PARENT, "page_size": 2})]
    assert [f"{PARENT}/jobs/{i}" for i in "abc"] == names
    assert 1 == len(list(client.list_jobs(parent=other)))
