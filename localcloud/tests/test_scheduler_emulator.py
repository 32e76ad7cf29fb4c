"""The local Cloud Scheduler runs jobs: on time, with retries, one at a time, durably.

Everything goes through the real ``google-cloud-scheduler`` client; jobs fire at a real
local HTTP server. Six-field cron (seconds first) is accepted because these servers start
with ``allow_seconds=True``; the minute-boundary test sets the server's clock just before
a minute instead, so a real five-field cron fires within two seconds.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.api_core import exceptions as gexc
from google.cloud import scheduler_v1
from scheduler_support import (
    PARENT,
    YEARLY,
    Servers,
    Target,
    http_job,
    wait_until,
)


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
    """A real client on a server that accepts six-field (seconds) cron for speed."""
    return servers.start(allow_seconds=True)[1]


def attempted(job: Any) -> Any:
    """``job`` once it has a last attempt time, else None (for ``wait_until``)."""
    return job if "last_attempt_time" in job else None


class AlmostNoon:
    """A server clock that reads 2030-01-01 11:59:58.5Z when made, then runs in real time."""

    START = datetime(2030, 1, 1, 11, 59, 58, 500000, tzinfo=UTC)

    def __init__(self) -> None:
        self.began = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at(datetime.now(UTC))

    def at(self, real: datetime) -> datetime:
        return self.START + (real - self.began)


def test_five_field_cron_fires_at_the_minute_boundary_in_its_time_zone(
    servers: Servers, target: Target
) -> None:
    """``30 * * * *`` in Asia/Kolkata fires at 12:00 UTC, not before, with the headers."""
    clock = AlmostNoon()
    client = servers.start(clock=clock)[1]
    headers = {"Content-Type": "application/json"}
    spec = http_job("nightly", target.url("/nightly"), "30 * * * *", time_zone="Asia/Kolkata")
    spec["http_target"].update(body=b'{"a": 1}', headers=headers)
    noon = datetime(2030, 1, 1, 12, tzinfo=UTC)
    created = client.create_job(parent=PARENT, job=spec)
    assert noon == created.schedule_time

    hit = wait_until(lambda: target.hits("/nightly"), timeout=4)[0]
    assert clock.at(hit.received) >= noon
    expected = {
        "x-cloudscheduler": "true",
        "x-cloudscheduler-jobname": "nightly",
        "x-cloudscheduler-scheduletime": "2030-01-01T12:00:00Z",
        "user-agent": "Google-Cloud-Scheduler",
        "content-type": "application/json",
    }
    assert expected == {name: hit.headers[name] for name in expected}
    assert noon == datetime.fromisoformat(hit.headers["x-cloudscheduler-scheduletime"])
    assert ("POST", b'{"a": 1}') == (hit.method, hit.body)
    job = wait_until(lambda: attempted(client.get_job(name=created.name)))
    assert (0, noon + timedelta(hours=1)) == (job.status.code, job.schedule_time)
    assert job.last_attempt_time >= noon


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


def test_run_job_fires_now(client: Any, target: Target) -> None:
    """RunJob fires a job not due for months at once, and keeps its schedule."""
    job = client.create_job(parent=PARENT, job=http_job("now", target.url("/now"), YEARLY))
    before = datetime.now(UTC)
    client.run_job(name=job.name)

    hit = wait_until(lambda: target.hits("/now"), timeout=2)[0]
    fired_for = datetime.fromisoformat(hit.headers["x-cloudscheduler-scheduletime"])
    assert before - timedelta(seconds=1) <= fired_for <= hit.received
    after = wait_until(lambda: attempted(client.get_job(name=job.name)))
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
    assert 0 == wait_until(lambda: attempted(client.get_job(name=job.name))).status.code


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


def test_jobs_survive_a_restart(servers: Servers, target: Target, tmp_path: Path) -> None:
    """With a data directory, jobs and their states are there after a restart and fire."""
    server, client = servers.start(data_dir=tmp_path, allow_seconds=True)
    retry = {"retry_count": 3}
    kept = client.create_job(
        parent=PARENT, job=http_job("kept", target.url("/kept"), retry_config=retry)
    )
    paused = client.create_job(parent=PARENT, job=http_job("paused", target.url("/p"), YEARLY))
    client.pause_job(name=paused.name)
    server.stop()

    client = servers.start(data_dir=tmp_path, allow_seconds=True)[1]
    count = len(target.hits("/kept"))
    restored = client.get_job(name=kept.name)
    assert (kept.http_target, kept.retry_config, kept.schedule) == (
        restored.http_target,
        restored.retry_config,
        restored.schedule,
    )
    assert scheduler_v1.Job.State.PAUSED == client.get_job(name=paused.name).state
    wait_until(lambda: len(target.hits("/kept")) > count, timeout=3)


def test_bad_schedules_and_time_zones_are_invalid_argument(
    servers: Servers, target: Target
) -> None:
    """Malformed cron, six fields without allow_seconds and unknown zones are refused."""
    client = servers.start()[1]  # the standard server: five-field cron only
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
