"""Helpers for campaign and outreach tests: on the in-memory fakes a company with leads, a
saved campaign and a loop that runs due scheduled tasks as ``run_task`` would; against
the local Firestore, delivering due tasks to the real ``run_task`` function."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.campaigns.domain.tracking import LinkSigner
from shared.domain.identity import Role, StaffIdentity
from shared.domain.tasks import ScheduledTask, TaskStatus
from shared.errors import Transient
from shared.ports import OutboundMessage, Write
from shared.services.task_handlers import TaskContext, resolve
from tests.fakes import FakeClock, FakeStore, FakeTaskQueue
from tests.support import FakeWorld

COMPANY = "acme"
MANAGER = StaffIdentity("u-manager", COMPANY, Role.MANAGER)
LINKS = LinkSigner("https://fn.example", b"test-signing-key")
SETTINGS = {
    "postal_address": "1 Main Street, Springfield",
    "time_zone": "Europe/Paris",
    "send_rate_email": 2,
    "send_rate_sms": 2,
    "send_window_seconds": 60,
}


class CountingMessenger:
    """Records every send (repeats included); ``crash_after`` sends, the next one goes
    out and then the caller is told it crashed (the send happened, its commit did not)."""

    def __init__(self, crash_after: int | None = None) -> None:
        self.calls: list[OutboundMessage] = []
        self.crash_after = crash_after

    def send(self, message: OutboundMessage) -> str:
        self.calls.append(message)
        if self.crash_after is not None and len(self.calls) > self.crash_after:
            self.crash_after = None
            raise Transient("crashed after handing the message over")
        return f"msg-{message.idempotency_key}"

    def accepts(self, channel: str) -> bool:
        return True

    @property
    def unique(self) -> dict[str, OutboundMessage]:
        return {m.idempotency_key: m for m in self.calls}


@dataclass
class Env(FakeWorld):
    store: FakeStore = field(default_factory=FakeStore)
    queue: FakeTaskQueue = field(default_factory=FakeTaskQueue)
    messenger: CountingMessenger = field(default_factory=CountingMessenger)
    clock: FakeClock = field(default_factory=FakeClock)

    def pending(self) -> list[ScheduledTask]:
        tasks = self.docs(f"companies/{COMPANY}/scheduled_tasks").values()
        found = [ScheduledTask.model_validate(d) for d in tasks]
        return sorted(
            (t for t in found if t.status == TaskStatus.PENDING), key=lambda t: t.scheduled_for
        )

    def run(self, task: ScheduledTask) -> dict[str, Any]:
        """Run one task as run_task would; a Transient leaves it pending."""
        path = f"companies/{COMPANY}/scheduled_tasks/{task.id}"
        ctx = TaskContext(self.store, self.queue, self.messenger, self.clock.now())
        result = resolve(task.type)(ctx, task)
        self.store.commit([Write(path, {"status": "completed", "result": result}, "merge")])
        return result

    def run_all(self, limit: int = 50) -> list[dict[str, Any]]:
        """Run due tasks, moving the clock to the next one when none is due, until none
        is left (a Transient is retried at once, as Cloud Tasks would a little later)."""
        results: list[dict[str, Any]] = []
        for _ in range(limit):
            tasks = self.pending()
            if not tasks:
                return results
            task = tasks[0]
            if task.scheduled_for > self.clock.now():
                self.clock.current = task.scheduled_for
            try:
                results.append(self.run(task))
            except Transient:
                continue
        raise AssertionError("tasks kept coming")


def new_env(leads: int = 3, **settings: Any) -> Env:
    env = Env()
    env.seed(f"companies/{COMPANY}", {"name": "Acme", "settings": {**SETTINGS, **settings}})
    for i in range(leads):
        lead = {
            "id": f"l{i}",
            "email": f"p{i}@example.com",
            "name": f"Pat{i} Doe",
            "phone": f"+3360000000{i}",
            "status": "new",
            "consent": {"given": True},  # marketing reaches only people who consented
        }
        env.seed(f"companies/{COMPANY}/leads/l{i}", lead)
    return env


def save_campaign(env: Env, campaign_id: str = "c1", **fields: Any) -> str:
    data = {
        "id": campaign_id,
        "company_id": COMPANY,
        "name": "Spring",
        "status": "draft",
        "channel": "email",
        "template": {
            "subject": "Hi {{ lead.first_name }}",
            "body": "Spring deals: https://acme.example/spring",
        },
        **fields,
    }
    env.seed(f"companies/{COMPANY}/campaigns/{campaign_id}", data)
    return campaign_id


def at(env: Env) -> datetime:
    return env.clock.now()


def run_due_tasks(db: Any, function_client: Any, company_id: str = COMPANY) -> list[Any]:
    """Deliver every due pending task of the company to run_task (as Cloud Tasks would)
    until none is left; the answers."""
    client, results = function_client("run_task"), []
    for _ in range(20):
        due = [
            d
            for d in db.collection(f"companies/{company_id}/scheduled_tasks").stream()
            if d.get("status") == "pending" and d.get("scheduled_for") <= datetime.now(UTC)
        ]
        if not due:
            return results
        for task in due:
            res = client.post("/", json={"company_id": company_id, "task_id": task.id})
            results.append(res.get_json())
    raise AssertionError("tasks kept coming")


def zone_at_hour(hour: int, now: datetime | None = None) -> str:
    """An ``Etc/GMT`` zone where it is ``hour`` o'clock now (tests use real time)."""
    utc = (now or datetime.now(UTC)).hour
    offset = (hour - utc + 12) % 24 - 12  # UTC-12 .. UTC+11
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT signs are inverted
