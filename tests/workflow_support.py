"""Helpers for workflow tests on the in-memory fakes: a company with a lead, saved
workflows, and a loop that runs due ``workflow_step`` tasks as ``run_task`` would."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.domain.identity import Role, StaffIdentity
from shared.domain.tasks import ScheduledTask, TaskStatus
from shared.errors import Transient
from shared.ports import OutboundMessage, Write
from shared.workflows.domain.definition import Workflow
from shared.workflows.domain.runtime import Execution, execution_path
from shared.workflows.services.engine import EnrolmentRef, run_enrolment
from shared.workflows.services.enrolment import enrol
from shared.workflows.services.manage import create_workflow
from tests.fakes import FakeClock, FakeStore, FakeTaskQueue
from tests.support import FakeWorld

COMPANY = "acme"
LEAD = "companies/acme/leads/l1"
MANAGER = StaffIdentity("u-manager", COMPANY, Role.MANAGER)
EMAIL = {"type": "send_email", "subject": "Hi {first_name}", "body": "Welcome to {company}"}


class CountingMessenger:
    """Records every send call (duplicates included) and dedupes like the outbox."""

    def __init__(self) -> None:
        self.calls: list[OutboundMessage] = []

    def send(self, message: OutboundMessage) -> str:
        self.calls.append(message)
        return f"msg-{message.idempotency_key}"

    def accepts(self, channel: str) -> bool:
        return True

    @property
    def unique(self) -> dict[str, OutboundMessage]:
        return {m.idempotency_key: m for m in self.calls}


class RecordingWebhooks:
    """The Webhooks port: records calls; answers from ``errors`` first (None is a 200),
    then 200."""

    def __init__(self, *errors: Exception | None) -> None:
        self.errors = list(errors)
        self.calls: list[tuple[str, dict[str, Any], str]] = []

    def post(
        self, url: str, payload: dict[str, Any], *, timeout: float, idempotency_key: str
    ) -> int:
        self.calls.append((url, payload, idempotency_key))
        error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise error
        return 200


@dataclass
class Env(FakeWorld):
    store: FakeStore = field(default_factory=FakeStore)
    queue: FakeTaskQueue = field(default_factory=FakeTaskQueue)
    messenger: CountingMessenger = field(default_factory=CountingMessenger)
    webhooks: RecordingWebhooks = field(default_factory=RecordingWebhooks)
    clock: FakeClock = field(default_factory=FakeClock)

    def execution(self, execution_id: str) -> Execution:
        return Execution.model_validate(self.doc(execution_path(COMPANY, execution_id)))

    def due_tasks(self) -> list[ScheduledTask]:
        tasks = [
            ScheduledTask.model_validate(d)
            for d in self.docs(f"companies/{COMPANY}/scheduled_tasks").values()
        ]
        now = self.clock.now()
        return [t for t in tasks if t.status == TaskStatus.PENDING and t.scheduled_for <= now]

    def run(self, task: ScheduledTask) -> dict[str, Any]:
        """Run one task as ``run_task`` would, recording its outcome on its document."""
        data = task.data
        ref = EnrolmentRef(
            COMPANY, data["execution_id"], data["lead_id"], data["workflow_id"], task.id
        )
        path = f"companies/{COMPANY}/scheduled_tasks/{task.id}"
        try:
            result = run_enrolment(
                self.store, self.queue, self.messenger, self.webhooks, self.clock.now(), ref
            )
        except Transient as err:
            self.store.commit([Write(path, {"error": str(err)}, "merge")])
            raise
        self.store.commit([Write(path, {"status": "completed", "result": result}, "merge")])
        return result

    def run_due(self) -> list[dict[str, Any]]:
        """Run every due task, and the tasks they make due, until none is left."""
        results = []
        while due := self.due_tasks():
            results += [self.run(task) for task in due]
        return results


def new_env(**lead: Any) -> Env:
    env = Env()
    settings = {"time_zone": "Europe/Paris", "postal_address": "1 Quai de la Gare, Paris"}
    env.seed("companies/acme", {"name": "Acme Plumbing", "settings": settings})
    jane = {"email": "jane@example.com", "name": "Jane Doe", "status": "new"}
    # Marketing (a workflow's messages) reaches only people with consent on record.
    env.seed(LEAD, {**jane, "consent": {"given": True}, **lead})
    return env


def save(env: Env, *steps: dict[str, Any], workflow_id: str = "nurture", **fields: Any) -> Workflow:
    raw = {"name": "Nurture", "trigger": {"type": "manual"}, "steps": list(steps), **fields}
    return create_workflow(env.store, env.clock.now(), MANAGER, raw, workflow_id)


def at(env: Env) -> datetime:
    return env.clock.now()


def enrol_lead(env: Env, workflow: Workflow, lead_id: str = "l1") -> str:
    """Enrol by hand and return the enrolment id (failing the test if refused)."""
    result = enrol(
        env.store,
        env.queue,
        at(env),
        workflow=workflow,
        lead_id=lead_id,
        enrolled_by="manual:u1",
        cause="test",
    )
    assert "enrolled" == result.outcome
    return str(result.execution_id)
