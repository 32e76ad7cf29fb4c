"""Workflows on the local stack: saved and enrolled through the ``workflows`` function,
run by the local Cloud Tasks calling ``run_task`` on a real HTTP server, mail delivered
by the SMTP messenger (configured through settings) to a real SMTP server (aiosmtpd).

Time moves with the Cloud Tasks server's clock hook: the functions' clock is the
server's, so a two-day wait passes in a moment and nobody sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from localcloud.tasks.testing import wait_until
from shared import bootstrap
from shared.workflows.domain.runtime import execution_path
from tests.integration.test_messaging import Mailbox, free_port
from tests.support import seed_company

LEAD = "companies/acme/leads/l1"
# Marketing (a workflow's e-mail) reaches only people with consent on record.
CONSENTED = {"consent": {"given": True}}
OPENED = {"kind": "engagement", "event": "opened", "within_hours": 48, "step": "welcome"}
NURTURE = {
    "name": "New lead nurture",
    "trigger": {"type": "manual"},
    "steps": [
        {"id": "welcome", "type": "send_email", "subject": "Hi {first_name}", "body": "Welcome!"},
        {"type": "wait", "duration": {"days": 2}},
        {"type": "branch", "branch": {"condition": OPENED, "then": "thanks", "else": "nudge"}},
        {
            "id": "thanks",
            "type": "send_email",
            "subject": "Glad you read it",
            "body": "...",
            "next": "end",
        },
        {"id": "nudge", "type": "send_email", "subject": "Did you see this?", "body": "..."},
    ],
}


class ServerClock:
    """The functions' clock, read from the local Cloud Tasks server's (advanceable) one."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.server.clock.now(), UTC)


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on a free port."""
    from aiosmtpd.controller import Controller

    handler, port = Mailbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def stack(
    functions_env: None, mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """run_task on a real HTTP server, the local Cloud Tasks with the bundle's queue
    (fast retries) and the SMTP messenger, all configured through settings; the
    functions' clock is the Tasks server's. Yields the Tasks server."""
    import functions_framework
    from werkzeug.serving import make_server

    from localcloud.tasks import start_tasks
    from shared.adapters.clients import tasks_client
    from shared.settings import get_settings

    app = functions_framework.create_app("run_task", "functions/main.py")
    http = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    tasks = start_tasks("127.0.0.1", port=0)
    env = {
        "GROWTHKIT_FUNCTIONS_BASE_URL": f"http://127.0.0.1:{http.server_port}",
        "CLOUD_TASKS_EMULATOR_HOST": tasks.address,
        "GROWTHKIT_MAIL_BACKEND": "smtp",
        "GROWTHKIT_SMTP_PORT": str(mailbox[1]),
        "GROWTHKIT_SMTP_TLS": "none",  # a plain local server
        "GROWTHKIT_SMTP_SENDER": "hello@acme.example",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    monkeypatch.setattr(bootstrap, "clock", ServerClock(tasks))
    queue_path = get_settings().queue_path
    retry = {"min_backoff": timedelta(milliseconds=200), "max_attempts": 5}
    parent = queue_path.rsplit("/queues/", 1)[0]
    tasks_client().create_queue(parent=parent, queue={"name": queue_path, "retry_config": retry})
    yield tasks
    bootstrap.reset()
    tasks.stop()
    http.shutdown()


def post(client: Any, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return client.post("/", json=body, headers=headers)


def subjects(mailbox: tuple[Mailbox, int]) -> list[str]:
    return [str(m["Subject"]) for m in mailbox[0].messages()]


def execution(db: Any, execution_id: str) -> dict[str, Any]:
    data: dict[str, Any] = db.document(execution_path("acme", execution_id)).get().to_dict()
    return data


def test_nurture_sequence_runs_to_its_end_through_cloud_tasks(
    db: Any, stack: Any, function_client: Any, staff_auth: Any, mailbox: tuple[Mailbox, int]
) -> None:
    """Saved and enrolled over HTTP; the welcome e-mail arrives; the branch waits two
    days (its task due then); the welcome is opened; two days pass on the Tasks clock;
    the branch takes 'then' and the last e-mail arrives; the enrolment completes."""
    seed_company(db)
    db.document(LEAD).set(
        {"email": "jane@example.com", "name": "Jane Doe", "status": "new", **CONSENTED}
    )
    client, headers = function_client("workflows"), staff_auth("acme")
    assert 201 == post(client, headers, {"id": "nurture", "workflow": NURTURE}).status_code
    enrolled = post(client, headers, {"action": "enrol", "id": "nurture", "lead_id": "l1"})
    assert 201 == enrolled.status_code
    execution_id = enrolled.get_json()["enrolment"]["execution_id"]
    assert ["Hi Jane"] == wait_until(lambda: subjects(mailbox), timeout=20)
    waiting = wait_until(
        lambda: (e := execution(db, execution_id))["cursor"]["step_id"] == "step-3" and e,
        timeout=20,
    )
    assert ["sent", "waiting until"] == [s["outcome"][:13] for s in waiting["steps"]]
    (interaction,) = db.collection(f"{LEAD}/interactions").stream()
    interaction.reference.update({"status": "opened", "updated_at": bootstrap.clock.now()})
    stack.advance(timedelta(days=2, seconds=1).total_seconds())
    done = wait_until(
        lambda: (e := execution(db, execution_id))["status"] != "active" and e, timeout=20
    )
    assert ("completed", ["Hi Jane", "Glad you read it"]) == (done["status"], subjects(mailbox))
    assert ["welcome", "step-2", "step-3", "thanks"] == [s["step_id"] for s in done["steps"]]
    assert "then" == done["steps"][2]["outcome"]


def test_a_step_delivered_again_sends_one_email(
    db: Any, stack: Any, function_client: Any, staff_auth: Any, mailbox: tuple[Mailbox, int]
) -> None:
    """The step's task delivered again after it ran; again after its completion was lost
    (the task back to pending); and again after even the step's commit was lost (the
    enrolment back before the step, its ledger entry gone): the SMTP messenger finds
    the message's key already sent, and the mail server received one e-mail."""
    seed_company(db)
    db.document(LEAD).set(
        {"email": "jane@example.com", "name": "Jane", "status": "new", **CONSENTED}
    )
    one_step = {"name": "Welcome", "trigger": {"type": "manual"}, "steps": [NURTURE["steps"][0]]}
    client, headers = function_client("workflows"), staff_auth("acme")
    post(client, headers, {"id": "welcome", "workflow": one_step})
    enrolled = post(client, headers, {"action": "enrol", "id": "welcome", "lead_id": "l1"})
    execution_id = enrolled.get_json()["enrolment"]["execution_id"]
    (task,) = db.collection("companies/acme/scheduled_tasks").stream()
    wait_until(lambda: task.reference.get().get("status") == "completed", timeout=20)
    run_task, body = function_client("run_task"), {"company_id": "acme", "task_id": task.id}
    assert "duplicate" == run_task.post("/", json=body).get_json()["outcome"]
    pending = {"status": "pending", "lease_until": None, "executed_at": None}
    task.reference.update(pending)
    assert "enrolment completed" == run_task.post("/", json=body).get_json()["result"]["then"]
    path = execution_path("acme", execution_id)
    cursor = {"step_id": "welcome", "seq": 1, "task_id": task.id, "due_at": datetime.now(UTC)}
    before_step = {"status": "active", "cursor": cursor, "steps": [], "visits": {}}
    db.document(path).update({**before_step, "finished_at": None, "exit_reason": None})
    db.document(f"{path}/ledger/welcome-1").delete()
    task.reference.update(pending)
    replay = run_task.post("/", json=body).get_json()
    assert (["welcome: sent"], ["Hi Jane"]) == (replay["result"]["steps"], subjects(mailbox))
    assert db.document(f"{path}/ledger/welcome-1").get().exists
