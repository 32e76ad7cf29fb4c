"""A task handler dies after its side effect and before run_task acknowledges: the redelivery
must not send the message again.

The crash is a ``BaseException`` raised by the messenger right after the outbox holds the
message: no ``except Exception`` in the code catches it, so nothing after the send runs
(no completion recorded, the lease still held), as when the instance is killed there.
``make stress`` does the same with a real SIGKILL of the functions process.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import bootstrap
from shared.adapters.messaging import OutboxMessenger
from shared.domain.leads import lead_id_for
from shared.domain.reviews import reminder_task_id
from shared.domain.tasks import LEASE, task_path
from shared.ports import OutboundMessage
from tests.fakes import FakeClock
from tests.integration.event_support import memory_queue
from tests.support import docs, seed_company

LEAD = lead_id_for("jane@example.com")


class InstanceKilled(BaseException):
    """The process died: unwinds past every handler, as SIGKILL skips them all."""


class DyingMessenger:
    """Sends through the outbox, then dies before the send returns (once)."""

    def __init__(self, real: OutboxMessenger) -> None:
        self.real, self.armed = real, True

    def send(self, message: OutboundMessage) -> str:
        provider_id = self.real.send(message)
        if self.armed:
            self.armed = False
            raise InstanceKilled(message.idempotency_key)
        return provider_id

    def accepts(self, channel: str) -> bool:
        return self.real.accepts(channel)


@pytest.fixture
def reminder(
    db: Any, function_client: Any, staff_auth: Any, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Acme asked Jane for a review; her first reminder is due now. Its task id."""
    memory_queue(monkeypatch)
    seed_company(db, settings={"review_urls": {"google": "https://g.example/acme"}})
    lead = {"id": LEAD, "company_id": "acme", "email": "jane@example.com", "name": "Jane"}
    db.document(f"companies/acme/leads/{LEAD}").set({**lead, "email_normalized": lead["email"]})
    res = function_client("request_review").post(
        "/", json={"lead_id": LEAD}, headers=staff_auth("acme")
    )
    task_id = reminder_task_id("acme", res.get_json()["id"], 1)
    past = datetime.now(UTC) - timedelta(minutes=1)
    db.document(task_path("acme", task_id)).update({"scheduled_for": past})
    return task_id


def deliver(function_client: Any, task_id: str) -> Any:
    body = {"company_id": "acme", "task_id": task_id}
    return function_client("run_task").post("/", json=body)


def test_crash_after_send_then_redelivery_sends_once(
    db: Any, function_client: Any, reminder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after the send: the task stays leased (a redelivery now is a 503 for Cloud
    Tasks to retry); once the lease has expired the redelivery runs the handler again,
    the outbox recognises the message, and the task completes. One reminder sent."""
    clock = FakeClock(datetime.now(UTC))
    monkeypatch.setattr(bootstrap, "clock", clock)
    dying = DyingMessenger(OutboxMessenger(bootstrap.document_store()))
    monkeypatch.setattr(bootstrap, "messenger", functools.cache(lambda: dying))
    with pytest.raises(InstanceKilled):
        deliver(function_client, reminder)
    leased = db.document(task_path("acme", reminder)).get().to_dict()["status"]
    too_soon = deliver(function_client, reminder).status_code
    clock.advance(seconds=LEASE.total_seconds() + 1)
    after = deliver(function_client, reminder)
    task = db.document(task_path("acme", reminder)).get().to_dict()
    reminders = [m for m in docs(db, "outbox").values() if m["subject"].startswith("Re:")]
    assert ("processing", 503, 200, "completed", 1) == (
        leased,
        too_soon,
        after.status_code,
        task["status"],
        len(reminders),
    )
