"""The ``TaskQueue`` port, alike on ``FakeTaskQueue`` and on ``CloudTasksQueue`` against the
local Cloud Tasks: names make tasks idempotent, a deleted name is not reused at once, the
payload reaches run_task as JSON, schedule times are kept (up to 29 days ahead)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.ports import TaskRequest
from tests.contract.conftest import Queue


def test_a_name_is_taken_once(tasks: Queue) -> None:
    assert tasks.queue.enqueue(TaskRequest("remind-l1", {"n": 1})) is True
    assert tasks.queue.enqueue(TaskRequest("remind-l1", {"n": 2})) is False
    held = tasks.held("remind-l1")
    assert held is not None and held[0] == {"n": 1}  # the first one stays
    assert tasks.held("remind-l2") is None


def test_cancel_deletes_once_and_the_name_stays_taken(tasks: Queue) -> None:
    """Cloud Tasks refuses a deleted task's name for about an hour."""
    tasks.queue.enqueue(TaskRequest("remind-l1", {}))
    assert tasks.queue.cancel("remind-l1") is True
    assert tasks.held("remind-l1") is None
    assert tasks.queue.cancel("remind-l1") is False
    assert tasks.queue.cancel("never-queued") is False
    assert tasks.queue.enqueue(TaskRequest("remind-l1", {})) is False
    assert tasks.queue.enqueue(TaskRequest("never-queued", {})) is True


def test_the_payload_arrives_as_json(tasks: Queue) -> None:
    when = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    payload = {"at": when, "ids": ("a", "b"), "n": 1, "x": 1.5, "m": {"ok": True, "no": None}}
    tasks.queue.enqueue(TaskRequest("t", payload))
    held = tasks.held("t")
    assert held is not None
    assert held[0] == {"at": str(when), "ids": ["a", "b"], "n": 1, "x": 1.5, "m": payload["m"]}


def test_schedule_times_are_kept_up_to_29_days_ahead(tasks: Queue) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    soon, far = now + timedelta(days=3, seconds=7), now + timedelta(days=45)
    tasks.queue.enqueue(TaskRequest("soon", {}, schedule_time=soon))
    tasks.queue.enqueue(TaskRequest("far", {}, schedule_time=far))
    kept, held = tasks.held("soon"), tasks.held("far")
    assert kept is not None and kept[1] == soon
    assert held is not None and held[1] is not None
    assert abs(held[1] - (now + timedelta(days=29))) < timedelta(minutes=1)
