"""Workflow webhook steps cannot reach inside: the ``workflows`` function refuses URL
tricks on save, and a step stored with one anyway (saved before the guard, or written
some other way) never gets a request to a local HTTP server when ``run_task`` runs it in
production, with the local Firestore and the real clients. What the run stores is the
same whether the internal port is open or closed, so a step's error cannot scan ports.

(Production verifies staff ID tokens with Google credentials, which tests do not have:
the enrolment here is made by the service, the step run by the function.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from localcloud.tasks.testing import Receiver
from shared import bootstrap
from shared.adapters.crypto import new_key
from shared.domain.common import stable_id
from shared.domain.identity import Role, StaffIdentity
from shared.domain.tasks import task_path
from shared.workflows.domain.definition import Workflow, workflow_path
from shared.workflows.domain.runtime import execution_path
from shared.workflows.services.manage import enrol_manually
from tests.fakes import FakeTaskQueue
from tests.integration.event_support import memory_queue
from tests.integration.test_messaging import free_port
from tests.support import seed_company

LEAD = "companies/acme/leads/l1"


def tricks(port: int) -> list[str]:
    """URLs that name a public host to a naive check but reach 127.0.0.1:``port``."""
    return [
        f"http://127.0.0.1:{port}\\@8.8.8.8/hook",  # requests: the backslash ends the host
        f"http://8.8.8.8@127.0.0.1:{port}/hook",
        f"http://2130706433:{port}/hook",  # 127.0.0.1 as one decimal number
        f"http://0x7f.0.0.1:{port}/hook",
        f"http://0177.0.0.1:{port}/hook",
        f"http://127.1:{port}/hook",
        f"http://[::ffff:127.0.0.1]:{port}/hook",
        f"http://localhost:{port}/hook",
        f"http://LocalHost.:{port}/hook",
    ]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def production(db: Any, functions_env: None, monkeypatch: pytest.MonkeyPatch) -> FakeTaskQueue:
    """The functions with a production environment; Cloud Tasks in memory (nothing runs
    the steps but the test)."""
    monkeypatch.setenv("GROWTHKIT_ENVIRONMENT", "production")
    monkeypatch.setenv("GROWTHKIT_SIGNING_KEY", "a-production-signing-key")
    monkeypatch.setenv("GROWTHKIT_FUNCTIONS_BASE_URL", "https://fn.example")
    # run_task opens social connections' tokens (publishing): it needs the key.
    monkeypatch.setenv("GROWTHKIT_SECRETS_KEY", new_key())
    # It sends, so it starts only with real mail and SMS backends (none is used here).
    sending = {
        "GROWTHKIT_MAIL_BACKEND": "smtp",
        "GROWTHKIT_SMTP_USERNAME": "apikey",
        "GROWTHKIT_SMTP_PASSWORD": "relay-password",
        "GROWTHKIT_SMS_BACKEND": "http",
        "GROWTHKIT_SMS_API_URL": "https://sms.example/Messages.json",
        "GROWTHKIT_SMS_AUTH_TOKEN": "sms-token",
    }
    for name, value in sending.items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    queue = memory_queue(monkeypatch)
    seed_company(db)
    db.document(LEAD).set({"email": "jane@example.com", "name": "Jane", "status": "new"})
    return queue


def stored_hook(db: Any, url: str) -> str:
    """A workflow with one webhook step, written to Firestore as the function stores
    workflows but without its checks; returns its id."""
    workflow_id = stable_id("hook", url)
    step = {"id": "hook", "type": "webhook", "url": url, "timeout_seconds": 2}
    now = datetime.now(UTC)
    workflow = Workflow.model_validate(
        {
            "id": workflow_id,
            "company_id": "acme",
            "name": "Hook",
            "trigger": {"type": "manual"},
            "steps": [step],
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
    )
    db.document(workflow_path("acme", workflow_id)).set(workflow.model_dump(by_alias=True))
    return workflow_id


def run_hook(db: Any, queue: FakeTaskQueue, function_client: Any, url: str) -> Any:
    """Enrol the lead in a stored one-webhook workflow and deliver its task once; what
    the run left: the step records, the task's status and error."""
    workflow_id = stored_hook(db, url)
    store, now = bootstrap.document_store(), datetime.now(UTC)
    manager = StaffIdentity("m1", "acme", Role.MANAGER)
    execution_id = enrol_manually(store, queue, now, manager, workflow_id, "l1").execution_id
    task_id = stable_id(f"workflow_step:acme:{execution_id}:1")
    delivery = {"X-CloudTasks-TaskName": "t", "X-CloudTasks-TaskRetryCount": "0"}
    task = {"company_id": "acme", "task_id": task_id}
    function_client("run_task").post("/", json=task, headers=delivery)
    execution = db.document(execution_path("acme", execution_id)).get().to_dict()
    stored = db.document(task_path("acme", task_id)).get().to_dict()
    steps = [(s["outcome"], s.get("error")) for s in execution.get("steps", [])]
    return steps, stored["status"], stored.get("error")


@pytest.mark.parametrize("index", range(len(tricks(1))))
def test_no_url_trick_reaches_a_local_server_and_open_or_closed_look_alike(
    db: Any, production: FakeTaskQueue, function_client: Any, receiver: Receiver, index: int
) -> None:
    """The local receiver gets no request; the stored outcome (step record, task status
    and error) is the same text for its open port as for a closed one."""
    open_port = int(receiver.url("").rsplit(":", 1)[1])
    opened = run_hook(db, production, function_client, tricks(open_port)[index])
    closed = run_hook(db, production, function_client, tricks(free_port())[index])
    assert ([], opened) == (receiver.hits(), closed)
    assert ("completed", "failed") == (opened[1], opened[0][0][0])


def test_the_staff_api_refuses_every_trick_with_the_path_of_the_step(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """Each trick is a 400 naming ``steps[0].url``, even locally (loopback is allowed
    only by an explicit setting, which no trick gets past); no workflow is stored."""
    seed_company(db)
    answers = []
    for url in tricks(8080):
        steps = [{"type": "webhook", "url": url}]
        workflow = {"name": "Hook", "trigger": {"type": "manual"}, "steps": steps}
        res = function_client("workflows").post(
            "/", json={"workflow": workflow}, headers=staff_auth("acme")
        )
        error = res.get_json().get("error") or {}
        answers.append(
            (res.status_code, "steps[0].url" in error.get("details", {}).get("fields", {}))
        )
    assert [(400, True)] * len(tricks(8080)) == answers
    assert [] == list(db.collection("companies/acme/workflows").stream())


def test_a_local_receiver_is_saved_only_with_the_loopback_setting(
    db: Any, function_client: Any, staff_auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``http://127.0.0.1:8080/hook`` is refused by default, saved once
    ``GROWTHKIT_WEBHOOKS_ALLOW_LOOPBACK`` is set (tests, local development)."""
    seed_company(db)
    steps = [{"type": "webhook", "url": "http://127.0.0.1:8080/hook"}]
    body = {"workflow": {"name": "Hook", "trigger": {"type": "manual"}, "steps": steps}}
    refused = function_client("workflows").post("/", json=body, headers=staff_auth("acme"))
    monkeypatch.setenv("GROWTHKIT_WEBHOOKS_ALLOW_LOOPBACK", "true")
    bootstrap.reset()
    saved = function_client("workflows").post("/", json=body, headers=staff_auth("acme"))
    assert (400, 201) == (refused.status_code, saved.status_code)
