"""The local Cloud Scheduler through the real ``google-cloud-scheduler`` client.

Jobs fire at a real local HTTP server. Six-field cron (seconds first) is accepted because
the servers here start with ``allow_seconds=True``; the minute-boundary test uses a clock
set just before a minute instead, so a real five-field cron fires within two seconds.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.api_core import exceptions as gexc
from google.cloud import scheduler_v1
from google.cloud.scheduler_v1.services.cloud_scheduler.transports import (
    CloudSchedulerGrpcTransport,
)
from google.protobuf import field_mask_pb2

from localcloud.scheduler import SchedulerServer, start_scheduler
from tests.integration.scheduler_target import Target, wait_until

PARENT = "projects/demo/locations/us-central1"
YEARLY = "0 0 1 1 *"  # never due during a test: only RunJob fires it


def make_client(address: str) -> scheduler_v1.CloudSchedulerClient:
    channel = grpc.insecure_channel(address)
    return scheduler_v1.CloudSchedulerClient(transport=CloudSchedulerGrpcTransport(channel=channel))


@pytest.fixture
def target() -> Iterator[Target]:
    """A recording HTTP server for jobs to call."""
    server = Target()
    yield server
    server.close()


@pytest.fixture
def start() -> Iterator[Callable[..., tuple[SchedulerServer, Any]]]:
    """``start(**options)`` -> (server, client); every server is stopped afterwards."""
    started: list[tuple[SchedulerServer, Any]] = []

    def run(**options: Any) -> tuple[SchedulerServer, Any]:
        server = start_scheduler("127.0.0.1", 0, **options)
        started.append((server, make_client(server.address)))
        return started[-1]

    yield run
    for server, client in started:
        client.transport.close()
        server.stop()


@pytest.fixture
def client(start: Callable[..., tuple[SchedulerServer, Any]]) -> Any:
    """A real client on a server that accepts six-field (seconds) cron for speed."""
    return start(allow_seconds=True)[1]


def http_job(job_id: str, uri: str, schedule: str = "* * * * * *", **fields: Any) -> Any:
    target = {"uri": uri, **fields.pop("http_target", {})}
    return {
        "name": f"{PARENT}/jobs/{job_id}",
        "schedule": schedule,
        "http_target": target,
        **fields,
    }


def test_five_field_cron_fires_at_the_minute_boundary_in_its_time_zone(
    start: Callable[..., tuple[SchedulerServer, Any]], target: Target
) -> None:
    """``30 * * * *`` in Asia/Kolkata fires at :00 UTC with the documented headers."""
    began = datetime.now(UTC)
    fake_start = datetime(2030, 1, 1, 11, 59, 58, 500000, tzinfo=UTC)

    def clock() -> datetime:
        return fake_start + (datetime.now(UTC) - began)

    _, client = start(clock=clock)
    spec = http_job(
        "nightly",
        target.url("/nightly"),
        "30 * * * *",
        time_zone="Asia/Kolkata",
        http_target={"body": b'{"a": 1}', "headers": {"Content-Type": "application/json"}},
    )
    created = client.create_job(parent=PARENT, job=spec)
    assert datetime(2030, 1, 1, 12, tzinfo=UTC) == created.schedule_time

    hit = wait_until(lambda: target.hits("/nightly"), timeout=4)[0]
    assert fake_start + (hit.received - began) >= datetime(2030, 1, 1, 12, tzinfo=UTC)
    expected_headers = {
        "x-cloudscheduler": "true",
        "x-cloudscheduler-jobname": "nightly",
        "x-cloudscheduler-scheduletime": "2030-01-01T12:00:00Z",
        "user-agent": "Google-Cloud-Scheduler",
        "content-type": "application/json",
    }
    assert expected_headers == {k: hit.headers[k] for k in expected_headers}
    schedule_time = datetime.fromisoformat(hit.headers["x-cloudscheduler-scheduletime"])
    assert created.schedule_time == schedule_time
    assert ("POST", b'{"a": 1}') == (hit.method, hit.body)

    job = wait_until(lambda: _if_attempted(client.get_job(name=created.name)))
    assert datetime(2030, 1, 1, 13, tzinfo=UTC) == job.schedule_time
    assert 0 == job.status.code
    assert job.last_attempt_time >= datetime(2030, 1, 1, 12, tzinfo=UTC)


def _if_attempted(job: Any) -> Any:
    return job if "last_attempt_time" in job else None


def test_pause_stops_firing_and_resume_restarts(client: Any, target: Target) -> None:
    """A paused job neither fires nor has a schedule time; resuming brings both back."""
    job = client.create_job(parent=PARENT, job=http_job("tick", target.url("/tick")))
    wait_until(lambda: target.hits("/tick"))

    paused = client.pause_job(name=job.name)
    assert scheduler_v1.Job.State.PAUSED == paused.state
    assert "schedule_time" not in paused
    time.sleep(0.2)  # let an attempt already in flight land
    count = len(target.hits("/tick"))
    time.sleep(1.5)
    assert count == len(target.hits("/tick"))

    resumed = client.resume_job(name=job.name)
    assert scheduler_v1.Job.State.ENABLED == resumed.state
    assert "schedule_time" in resumed
    wait_until(lambda: len(target.hits("/tick")) > count, timeout=3)


def test_pause_and_resume_require_the_right_state(client: Any, target: Target) -> None:
    """Resuming an enabled job or pausing a paused one is FAILED_PRECONDITION."""
    job = client.create_job(parent=PARENT, job=http_job("p", target.url("/p"), YEARLY))
    with pytest.raises(gexc.FailedPrecondition):
        client.resume_job(name=job.name)
    client.pause_job(name=job.name)
    with pytest.raises(gexc.FailedPrecondition):
        client.pause_job(name=job.name)


def test_run_job_fires_now(client: Any, target: Target) -> None:
    """RunJob fires a job not due for months at once, and keeps its schedule."""
    job = client.create_job(parent=PARENT, job=http_job("now", target.url("/now"), YEARLY))
    before = datetime.now(UTC)
    client.run_job(name=job.name)

    hit = wait_until(lambda: target.hits("/now"), timeout=2)[0]
    fired_for = datetime.fromisoformat(hit.headers["x-cloudscheduler-scheduletime"])
    assert before - timedelta(seconds=1) <= fired_for <= hit.received
    after = wait_until(lambda: _if_attempted(client.get_job(name=job.name)))
    assert job.schedule_time == after.schedule_time


def test_failing_target_is_retried_per_retry_config(client: Any, target: Target) -> None:
    """A target answering 500 is tried 1 + retry_count times with growing backoff."""
    target.script("/fail", statuses=[500] * 10)
    retry = {
        "retry_count": 2,
        "min_backoff_duration": {"nanos": 200_000_000},
        "max_backoff_duration": {"seconds": 5},
        "max_doublings": 3,
    }
    spec = http_job("fail", target.url("/fail"), YEARLY, retry_config=retry)
    job = client.create_job(parent=PARENT, job=spec)
    client.run_job(name=job.name)

    hits = wait_until(lambda: len(target.hits("/fail")) == 3 and target.hits("/fail"), timeout=4)
    gaps = [(b.received - a.received).total_seconds() for a, b in pairwise(hits)]
    assert 0.2 <= gaps[0] < 0.4 <= gaps[1] < 0.8
    assert 1 == len({hit.headers["x-cloudscheduler-scheduletime"] for hit in hits})
    time.sleep(1.0)
    assert 3 == len(target.hits("/fail"))
    final = client.get_job(name=job.name)
    assert (grpc.StatusCode.INTERNAL.value[0], job.schedule_time) == (
        final.status.code,
        final.schedule_time,
    )


def test_retries_stop_at_the_first_success(client: Any, target: Target) -> None:
    """Two failures then a 2xx: three attempts, and the job's status is OK again."""
    target.script("/flaky", statuses=[503, 500])
    retry = {"retry_count": 5, "min_backoff_duration": {"nanos": 100_000_000}}
    job = client.create_job(
        parent=PARENT, job=http_job("flaky", target.url("/flaky"), YEARLY, retry_config=retry)
    )
    client.run_job(name=job.name)

    wait_until(lambda: len(target.hits("/flaky")) == 3, timeout=3)
    time.sleep(0.5)
    assert 3 == len(target.hits("/flaky"))
    assert 0 == wait_until(lambda: _if_attempted(client.get_job(name=job.name))).status.code


def test_at_most_one_execution_is_outstanding(client: Any, target: Target) -> None:
    """A target slower than the schedule is never called twice at once; runs wait."""
    target.script("/slow", delay=1.2)
    job = client.create_job(parent=PARENT, job=http_job("slow", target.url("/slow")))
    wait_until(lambda: target.hits("/slow"))
    client.run_job(name=job.name)  # forced runs wait for the attempt in flight too

    hits = wait_until(lambda: len(target.hits("/slow")) >= 3 and target.hits("/slow"), 6)
    assert 1 == target.max_active["/slow"]
    starts = [hit.received for hit in hits]
    gaps = [(b - a).total_seconds() for a, b in pairwise(starts)]
    assert all(1.2 <= gap < 1.8 for gap in gaps), gaps  # delayed, not dropped to a later slot
    times = [datetime.fromisoformat(h.headers["x-cloudscheduler-scheduletime"]) for h in hits]
    assert times == sorted(set(times))


def test_bad_schedules_and_time_zones_are_invalid_argument(
    start: Callable[..., tuple[SchedulerServer, Any]], target: Target
) -> None:
    """Malformed cron, six fields without allow_seconds and unknown zones are refused."""
    _, client = start()
    for schedule in ("61 * * * *", "* * * *", "every day", "* * * * * *", ""):
        with pytest.raises(gexc.InvalidArgument):
            client.create_job(parent=PARENT, job=http_job("bad", target.url("/"), schedule))
    with pytest.raises(gexc.InvalidArgument):
        client.create_job(
            parent=PARENT, job=http_job("bad", target.url("/"), "* * * * *", time_zone="Mars/Base")
        )
    with pytest.raises(gexc.InvalidArgument):
        client.create_job(parent=PARENT, job=http_job("bad", "ftp://x", "* * * * *"))
    assert [] == list(client.list_jobs(parent=PARENT))


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


def test_delete_job_stops_it(client: Any, target: Target) -> None:
    """A deleted job is gone and fires no more."""
    job = client.create_job(parent=PARENT, job=http_job("gone", target.url("/gone")))
    wait_until(lambda: target.hits("/gone"))
    client.delete_job(name=job.name)
    with pytest.raises(gexc.NotFound):
        client.get_job(name=job.name)
    time.sleep(0.2)
    count = len(target.hits("/gone"))
    time.sleep(1.2)
    assert count == len(target.hits("/gone"))


def test_oidc_token_is_sent_as_bearer(client: Any, target: Target) -> None:
    """A job with oidc_token sends an ID token for the service account and audience."""
    oidc = {"service_account_email": "runner@demo.iam.gserviceaccount.com"}
    spec = http_job("auth", target.url("/auth"), YEARLY, http_target={"oidc_token": oidc})
    client.run_job(name=client.create_job(parent=PARENT, job=spec).name)

    header = wait_until(lambda: target.hits("/auth"))[0].headers["authorization"]
    payload = header.removeprefix("Bearer ").split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    expected = ("runner@demo.iam.gserviceaccount.com", target.url("/auth"))
    assert expected == (claims["email"], claims["aud"])


def test_jobs_survive_a_restart(
    start: Callable[..., tuple[SchedulerServer, Any]], target: Target, tmp_path: Path
) -> None:
    """With a data directory, jobs and their states are there after a restart and fire."""
    server, client = start(data_dir=tmp_path, allow_seconds=True)
    retry = {"retry_count": 3}
    kept = client.create_job(
        parent=PARENT, job=http_job("kept", target.url("/kept"), retry_config=retry)
    )
    paused = client.create_job(parent=PARENT, job=http_job("paused", target.url("/p"), YEARLY))
    client.pause_job(name=paused.name)
    server.stop()

    _, client = start(data_dir=tmp_path, allow_seconds=True)
    count = len(target.hits("/kept"))
    restored = client.get_job(name=kept.name)
    assert (kept.http_target, kept.retry_config, kept.schedule) == (
        restored.http_target,
        restored.retry_config,
        restored.schedule,
    )
    assert scheduler_v1.Job.State.PAUSED == client.get_job(name=paused.name).state
    wait_until(lambda: len(target.hits("/kept")) > count, timeout=3)
