"""The pure part of ``schedules --sync``: manifest -> job specs -> create/update/delete."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from shared.deploy.schedule_sync import (
    Action,
    ActionKind,
    JobSpec,
    changed_fields,
    desired_jobs,
    job_spec,
    plan,
)
from shared.deploy.schedules import summary
from shared.manifest import FUNCTIONS, Function, Trigger

BASE = "https://us-central1-demo.cloudfunctions.net"


def nightly(**changes: Any) -> JobSpec:
    function = Function("nightly_report", Trigger.SCHEDULE, schedule="0 3 * * *")
    return replace(job_spec(function, BASE), **changes)


def test_desired_jobs_are_the_manifests_scheduled_functions() -> None:
    """One POST job per scheduled function, at base_url/<name>, on its cron and zone."""
    specs = desired_jobs(FUNCTIONS, BASE + "/")
    scheduled = [f for f in FUNCTIONS if f.trigger == Trigger.SCHEDULE]
    expected = [
        (f"growthkit-{f.name.replace('_', '-')}", f"{BASE}/{f.name}", f.schedule, f.time_zone)
        for f in scheduled
    ]
    assert expected == [(s.job_id, s.uri, s.schedule, s.time_zone) for s in specs]
    assert {"POST"} == {s.http_method for s in specs}
    assert {""} == {s.oidc_service_account for s in specs}


def test_service_account_adds_an_oidc_token_for_the_function_url() -> None:
    """With a service account each job sends an ID token whose audience is its URI."""
    spec = desired_jobs(FUNCTIONS, BASE, "sched@demo.iam.gserviceaccount.com")[0]
    assert ("sched@demo.iam.gserviceaccount.com", spec.uri) == (
        spec.oidc_service_account,
        spec.oidc_audience,
    )


def test_attempt_deadline_follows_the_function_timeout_within_limits() -> None:
    """The deadline is the function's timeout, clamped to the 15 s - 30 min range."""
    quick = Function("quick", Trigger.SCHEDULE, schedule="* * * * *", timeout_seconds=5)
    slow = Function("slow", Trigger.SCHEDULE, schedule="* * * * *", timeout_seconds=3600)
    assert [15, 1800] == [job_spec(f, BASE).attempt_deadline_seconds for f in (quick, slow)]


def test_nothing_exists_so_everything_is_created() -> None:
    """An empty location gets one create per desired job, in manifest order."""
    desired = desired_jobs(FUNCTIONS, BASE)
    expected = [Action(ActionKind.CREATE, s.job_id, s) for s in desired]
    assert expected == plan(desired, [])


def test_identical_jobs_need_nothing() -> None:
    """Existing jobs equal to the desired ones (modulo service noise) are left alone."""
    existing = nightly(
        time_zone="UTC",
        schedule="0  3 * * *",
        headers=(("content-type", "application/json"), ("User-Agent", "Google-Cloud-Scheduler")),
    )
    assert [] == plan([nightly()], [existing])


def test_changed_fields_become_the_update_mask() -> None:
    """Each differing group maps to its Job field path."""
    desired = nightly()
    assert ("schedule",) == changed_fields(desired, nightly(schedule="0 4 * * *"))
    assert ("http_target",) == changed_fields(desired, nightly(uri=f"{BASE}/old"))
    assert ("time_zone", "http_target") == changed_fields(
        desired, nightly(time_zone="Europe/Berlin", oidc_service_account="x@y")
    )
    update = plan([desired], [nightly(description="old", attempt_deadline_seconds=180)])
    expected = [
        Action(ActionKind.UPDATE, desired.job_id, desired, ("description", "attempt_deadline"))
    ]
    assert expected == update


def test_stale_growthkit_jobs_are_deleted_and_foreign_jobs_kept() -> None:
    """A growthkit- job not in the manifest is deleted; other jobs are not ours."""
    stale = nightly(job_id="growthkit-old-report")
    foreign = nightly(job_id="someone-elses-job")
    expected = [Action(ActionKind.DELETE, "growthkit-old-report")]
    assert expected == plan([nightly()], [nightly(), stale, foreign])


def test_actions_describe_themselves_in_one_line() -> None:
    """The lines the command prints, and its summary."""
    spec = nightly()
    actions = [
        Action(ActionKind.CREATE, spec.job_id, spec),
        Action(ActionKind.UPDATE, spec.job_id, spec, ("schedule", "http_target")),
        Action(ActionKind.DELETE, "growthkit-old"),
    ]
    expected = [
        f"create growthkit-nightly-report: POST {BASE}/nightly_report at '0 3 * * *' (Etc/UTC)",
        "update growthkit-nightly-report: schedule, http_target",
        "delete growthkit-old",
    ]
    assert expected == [action.describe() for action in actions]
    assert "schedules: 1 create, 1 update, 1 delete, 1 unchanged" == summary(actions, 3)
