"""``localcloud serve`` with a project's manifest: its functions hosted, its events routed,
its queues and Scheduler jobs made through the real clients, its site served; from
Python (``Stack``) and from the command line."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import free_ports, toy_project

from localcloud.manifest import Manifest, Trigger
from localcloud.serve import MANAGED_JOB, Ports, Stack, scheduler_client
from localcloud.tasks.testing import tasks_client, wait_until

PROJECT = "toy-project"
PARENT = f"projects/{PROJECT}/locations/us-central1"


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture
def ports() -> Ports:
    return Ports("127.0.0.1", *free_ports(8))


@pytest.fixture
def stack(tmp_path: Path, ports: Ports) -> Iterator[Stack]:
    manifest = toy_project(tmp_path / "toy")
    made = Stack(manifest, ports, tmp_path / "data", PROJECT, site=tmp_path / "toy" / "site")
    yield made.start()
    made.stop()


def test_functions_answer_at_their_names_and_the_site_elsewhere(stack: Stack) -> None:
    """Each function at /<name>, with the stack's variables; other paths are site files."""
    base = stack.ports.base_url
    status, body = get(f"{base}/hello")
    assert (200, {"functions_url": base, "project": PROJECT}) == (status, json.loads(body))
    assert (200, b"<h1>Toy</h1>") == get(f"{base}/")
    assert (200, b"<p>About</p>") == get(f"{base}/about")
    assert 404 == get(f"{base}/../main.py")[0]
    assert 404 == get(f"{base}/nothing")[0]


def test_a_firestore_write_reaches_the_event_function(stack: Stack) -> None:
    """The bridge posts the change to on_item, which writes back with the real client
    (its FIRESTORE_EMULATOR_HOST and project come from the stack)."""
    from google.cloud import firestore

    os.environ.update(stack.client_env())  # undone by conftest's _isolate_env
    client = firestore.Client(project=PROJECT)
    client.document("items/i1").set({"n": 1})
    seen = wait_until(lambda: client.document("seen/i1").get().to_dict(), timeout=20)
    assert {"type": "google.cloud.firestore.document.v1.written"} == seen
    client.close()  # type: ignore[no-untyped-call]


def test_queues_and_jobs_follow_the_manifest(stack: Stack) -> None:
    """The queue with its retry settings; one job per scheduled function, POSTing to it
    on its schedule and time zone."""
    queue = tasks_client(stack.tasks.address).get_queue(name=f"{PARENT}/queues/work")
    assert 3 == queue.retry_config.max_attempts
    assert 0.5 == queue.retry_config.min_backoff.total_seconds()
    (job,) = scheduler_client(stack.scheduler.address).list_jobs(parent=PARENT)
    assert (f"{PARENT}/jobs/tick", "*/5 * * * *", "Europe/Paris") == (
        job.name,
        job.schedule,
        job.time_zone,
    )
    assert (f"{stack.ports.base_url}/tick", "POST") == (
        job.http_target.uri,
        job.http_target.http_method.name,
    )
    assert [
        f"create tick: POST {stack.ports.base_url}/tick at '*/5 * * * *' (Europe/Paris)",
        "schedules: 1 create, 0 update, 0 delete, 0 unchanged",
    ] == stack.schedule_report


def test_a_restart_with_the_same_manifest_changes_no_job(stack: Stack) -> None:
    stack.stop()
    again = Stack(stack.manifest, stack.ports, stack.data_dir, PROJECT).start()
    again.stop()
    assert ["schedules: 0 create, 0 update, 0 delete, 1 unchanged"] == again.schedule_report


def test_a_changed_schedule_updates_its_job(stack: Stack) -> None:
    stack.stop()
    functions = [
        dataclasses.replace(f, schedule="0 * * * *") if f.name == "tick" else f
        for f in stack.manifest.functions
    ]
    manifest = dataclasses.replace(stack.manifest, functions=tuple(functions))
    again = Stack(manifest, stack.ports, stack.data_dir, PROJECT).start()
    try:
        (job,) = scheduler_client(again.scheduler.address).list_jobs(parent=PARENT)
    finally:
        again.stop()
    assert ("0 * * * *", "update tick: schedule") == (job.schedule, again.schedule_report[0])


def test_a_restart_drops_only_the_jobs_it_made_and_no_longer_wants(stack: Stack) -> None:
    """A job the manifest no longer has is deleted (localcloud marked it as its own); one
    made by hand is left alone."""
    client = scheduler_client(stack.scheduler.address)
    by_hand = {"schedule": "0 0 1 1 *", "http_target": {"uri": "http://127.0.0.1:9/x"}}
    client.create_job(parent=PARENT, job={"name": f"{PARENT}/jobs/mine", **by_hand})
    assert MANAGED_JOB == client.get_job(name=f"{PARENT}/jobs/tick").description
    stack.stop()
    kept = [f for f in stack.manifest.functions if f.trigger is not Trigger.SCHEDULE]
    manifest = Manifest(tuple(kept), stack.manifest.queues, source=stack.manifest.source)
    again = Stack(manifest, stack.ports, stack.data_dir, PROJECT).start()
    try:
        jobs = scheduler_client(again.scheduler.address).list_jobs(parent=PARENT)
        assert [(f"{PARENT}/jobs/mine", "")] == [(j.name, j.description) for j in jobs]
    finally:
        again.stop()
    assert "delete tick" == again.schedule_report[0]


def test_the_table_lists_every_function_and_service(stack: Stack) -> None:
    table = stack.table()
    for function in stack.manifest.functions:
        assert f"{stack.ports.base_url}/{function.name}" in table
    for line in ("says hello", "written items/{itemId}", "*/5 * * * *", "Cloud Tasks target"):
        assert line in table
    assert "FIRESTORE_EMULATOR_HOST" in table and stack.firestore.address in table


def test_mail_and_sms_show_in_the_stacks_mailbox(stack: Stack) -> None:
    """What reaches the mailbox's SMTP port and the Twilio stand-in shows on one page,
    whose URL the table lists; the functions are told where both are."""
    import smtplib
    from email.message import EmailMessage

    import requests

    env = stack.functions_env()
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "a@toy.example", "b@toy.example", "Hi"
    mail.set_content("Hello")
    with smtplib.SMTP(env["LOCALCLOUD_SMTP_HOST"], int(env["LOCALCLOUD_SMTP_PORT"])) as smtp:
        smtp.send_message(mail)
    account = "AC" + "1" * 32
    stack.platforms.grant("twilio", "t0ken", subject=account)
    sms = f"{env['LOCALCLOUD_PLATFORMS_URL']}/twilio/2010-04-01/Accounts/{account}/Messages.json"
    form = {"To": "+15550100001", "From": "+15005550006", "Body": "Hello by SMS"}
    assert 201 == requests.post(sms, data=form, auth=(account, "t0ken"), timeout=10).status_code
    url = env["LOCALCLOUD_MAILBOX_URL"]
    page = get(f"{url}/")[1].decode()
    assert ("Hi" in page, "Hello by SMS" in page, f"{url}/" in stack.table()) == (True,) * 3


def test_a_manifest_whose_source_is_missing_stops_before_anything_runs(
    tmp_path: Path, ports: Ports
) -> None:
    from localcloud.manifest import ManifestError

    manifest = Manifest(source=tmp_path / "nowhere.py")
    with pytest.raises(ManifestError, match="nowhere.py is not a file"):
        Stack(manifest, ports, tmp_path / "data", PROJECT).start()
    # Everything it had started is stopped again: the ports are free.
    Stack(Manifest(), ports, tmp_path / "data", PROJECT).start().stop()


def test_the_command_line_serves_a_json_manifest(tmp_path: Path, ports: Ports) -> None:
    """``localcloud serve --manifest app.json`` prints the table, serves, and stops on
    SIGINT with status 0, keeping the data."""
    toy = toy_project(tmp_path / "toy")
    app = tmp_path / "toy" / "app.json"
    data = {**toy.to_dict(), "source": "main.py"}  # relative to app.json
    app.write_text(json.dumps(data), encoding="utf-8")
    env = {**os.environ, **_port_env(ports), "LOCALCLOUD_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "localcloud", "serve", "--manifest", str(app)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        lines = _read_until(proc, "localcloud is up")
        assert any(f"{ports.base_url}/hello" in line for line in lines)
        assert 200 == get(f"{ports.base_url}/hello")[0]
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert (0, True) == (proc.returncode, "localcloud stopped; data kept." in out)
    assert (tmp_path / "data" / "firestore").is_dir()


def _port_env(ports: Ports) -> dict[str, str]:
    return {
        "LOCALCLOUD_FUNCTIONS_PORT": str(ports.functions),
        "LOCALCLOUD_FIRESTORE_PORT": str(ports.firestore),
        "LOCALCLOUD_TASKS_PORT": str(ports.tasks),
        "LOCALCLOUD_SCHEDULER_PORT": str(ports.scheduler),
        "LOCALCLOUD_AUTH_PORT": str(ports.auth),
        "LOCALCLOUD_SMTP_PORT": str(ports.smtp),
        "LOCALCLOUD_MAILBOX_PORT": str(ports.mailbox),
        "LOCALCLOUD_PLATFORMS_PORT": str(ports.platforms),
    }


def _read_until(proc: subprocess.Popen[str], text: str, timeout: float = 60) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"no {text!r} in:\n{''.join(lines)}")
