"""``python -m shared.deploy schedules --sync`` against the local Cloud Scheduler.

The command uses the real ``google-cloud-scheduler`` client, exactly as in production;
only the host differs. The tests inspect the result with a real client of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import field_mask_pb2

from localcloud.scheduler import SchedulerServer, start_scheduler
from localcloud.serve import scheduler_client
from localcloud.tasks.testing import Receiver
from shared.deploy.__main__ import main
from shared.manifest import FUNCTIONS, Trigger, scheduler_job_id

PROJECT, LOCATION = "demo", "us-central1"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"
SCHEDULED = [f for f in FUNCTIONS if f.trigger == Trigger.SCHEDULE]


@pytest.fixture
def scheduler() -> Iterator[SchedulerServer]:
    """A fresh local Cloud Scheduler per test."""
    server = start_scheduler()
    yield server
    server.stop()


@pytest.fixture
def client(scheduler: SchedulerServer) -> Iterator[Any]:
    """The tests' own real client, to look at what the command did."""
    client = scheduler_client(scheduler.address)
    yield client
    client.transport.close()


@pytest.fixture
def base_url() -> Iterator[str]:
    """Where the jobs point: a real HTTP server, in case a minute boundary passes."""
    target = Receiver()
    yield target.url("")
    target.close()


def sync(scheduler: SchedulerServer, base_url: str, capsys: Any) -> list[str]:
    """Run the command in-process; the lines it printed."""
    argv = ["schedules", "--sync", "--project", PROJECT, "--location", LOCATION]
    argv += ["--base-url", base_url, "--scheduler-host", scheduler.address]
    assert 0 == main(argv)
    return list(capsys.readouterr().out.splitlines())


def jobs_by_id(client: Any) -> dict[str, Any]:
    return {job.name.rsplit("/", 1)[-1]: job for job in client.list_jobs(parent=PARENT)}


def test_sync_creates_the_manifest_jobs_then_is_a_no_op(
    scheduler: SchedulerServer, client: Any, base_url: str, capsys: Any
) -> None:
    """The first sync creates one POST job per scheduled function; the second does nothing."""
    lines = sync(scheduler, base_url, capsys)
    assert [f"create {scheduler_job_id(f)}" for f in SCHEDULED] == [
        line.split(":")[0] for line in lines[:-1]
    ]
    assert f"schedules: {len(SCHEDULED)} create, 0 update, 0 delete, 0 unchanged" == lines[-1]
    jobs = jobs_by_id(client)
    expected = {
        scheduler_job_id(f): (f.schedule, f.time_zone, f"{base_url}/{f.name}", "POST")
        for f in SCHEDULED
    }
    actual = {
        job_id: (j.schedule, j.time_zone, j.http_target.uri, j.http_target.http_method.name)
        for job_id, j in jobs.items()
    }
    assert expected == actual

    assert [f"schedules: 0 create, 0 update, 0 delete, {len(SCHEDULED)} unchanged"] == sync(
        scheduler, base_url, capsys
    )
    untouched = {job_id: job.user_update_time for job_id, job in jobs_by_id(client).items()}
    assert {job_id: job.user_update_time for job_id, job in jobs.items()} == untouched


def test_sync_updates_a_changed_job_and_deletes_a_stale_one(
    scheduler: SchedulerServer, client: Any, base_url: str, capsys: Any
) -> None:
    """Drift is put back with an update; stale growthkit- jobs go; others are kept."""
    sync(scheduler, base_url, capsys)
    drifted = jobs_by_id(client)["growthkit-rollup-analytics"]
    drifted.schedule = "0 5 * * *"
    client.update_job(job=drifted, update_mask=field_mask_pb2.FieldMask(paths=["schedule"]))
    for job_id in ("growthkit-old-report", "someone-elses-job"):
        job = {"name": f"{PARENT}/jobs/{job_id}", "schedule": "0 0 * * *"}
        client.create_job(parent=PARENT, job={**job, "http_target": {"uri": base_url + "/x"}})

    lines = sync(scheduler, base_url, capsys)
    expected = [
        "update growthkit-rollup-analytics: schedule",
        "delete growthkit-old-report",
        f"schedules: 0 create, 1 update, 1 delete, {len(SCHEDULED) - 1} unchanged",
    ]
    assert expected == lines
    jobs = jobs_by_id(client)
    assert "15 0 * * *" == jobs["growthkit-rollup-analytics"].schedule
    expected_ids = sorted([scheduler_job_id(f) for f in SCHEDULED] + ["someone-elses-job"])
    assert expected_ids == sorted(jobs)


def test_a_new_base_url_updates_every_target(
    scheduler: SchedulerServer, client: Any, base_url: str, capsys: Any
) -> None:
    """Moving the functions changes each job's http_target and nothing else."""
    sync(scheduler, base_url, capsys)
    lines = sync(scheduler, "https://functions.example", capsys)
    expected = [f"update {scheduler_job_id(f)}: http_target" for f in SCHEDULED]
    assert expected == lines[:-1]
    uris = {job.http_target.uri for job in jobs_by_id(client).values()}
    assert {f"https://functions.example/{f.name}" for f in SCHEDULED} == uris


def test_command_line_uses_the_emulator_variable(
    scheduler: SchedulerServer, client: Any, base_url: str
) -> None:
    """``python -m shared.deploy schedules`` dry-runs without --sync, applies with it."""
    env = {**os.environ, "CLOUD_SCHEDULER_EMULATOR_HOST": scheduler.address}
    command = [sys.executable, "-m", "shared.deploy", "schedules", "--project", PROJECT]
    command += ["--location", LOCATION, "--base-url", base_url]

    dry = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    would = [line for line in dry.stdout.splitlines() if line.startswith("would create ")]
    assert len(SCHEDULED) == len(would)
    assert {} == jobs_by_id(client)
    done = subprocess.run(
        command + ["--sync"], env=env, capture_output=True, text=True, check=False
    )
    created = sum(line.startswith("create ") for line in done.stdout.splitlines())
    assert (0, len(SCHEDULED)) == (done.returncode, created)
    assert sorted(scheduler_job_id(f) for f in SCHEDULED) == sorted(jobs_by_id(client))
