"""Consultations through the function, real ID tokens and the local Firestore: overlaps
refused (also when two bookings race), reminders scheduled, run and cancelled."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.domain.tasks import cloud_task_name, task_path
from tests.fakes import FakeTaskQueue
from tests.support import docs, seed_company

BASE = "/companies/acme/consultations"
START = (datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def queue(db: Any, queue: FakeTaskQueue) -> FakeTaskQueue:
    """Acme with two staff members; Cloud Tasks recorded in memory."""
    seed_company(db, name="Acme")
    seed_company(db, "globex")
    for uid in ("host", "other"):
        db.document(f"companies/acme/users/{uid}").set({"id": uid, "role": "user"})
    return queue


def booking(start: datetime, minutes: int = 60, **more: Any) -> dict[str, Any]:
    return {
        "scheduled_at": start.isoformat(),
        "duration_minutes": minutes,
        "attendee_email": "ann@example.com",
        "type": "strategy",
        **more,
    }


def test_overlap_refused_and_cancel_cancels_the_reminders(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """201 with two reminder tasks; an overlapping booking 409 naming the first; cancel
    marks both tasks cancelled, drops their Cloud Tasks and mails the attendee; the slot
    can then be booked again."""
    api, host = function_client("consultations"), staff_auth("acme", "user", uid="host")
    first = api.post(BASE, json=booking(START), headers=host)
    assert 201 == first.status_code, first.get_data()
    consultation = first.get_json()
    tasks = consultation["reminder_task_ids"]
    clash = api.post(BASE, json=booking(START + timedelta(minutes=30)), headers=host)
    assert (409, [consultation["id"]]) == (
        clash.status_code,
        [c["id"] for c in clash.get_json()["error"]["details"]["conflicts"]],
    )
    assert ["pending", "pending"] == [
        db.document(task_path("acme", t)).get().get("status") for t in tasks
    ]
    cancelled = api.post(
        f"{BASE}/{consultation['id']}/cancel", json={"reason": "Ill"}, headers=host
    )
    assert (200, "cancelled") == (cancelled.status_code, cancelled.get_json()["status"])
    assert ["cancelled", "cancelled"] == [
        db.document(task_path("acme", t)).get().get("status") for t in tasks
    ]
    assert sorted(cloud_task_name("acme", t) for t in tasks) == sorted(queue.cancelled)
    (mail,) = docs(db, "outbox").values()
    assert ("ann@example.com", True) == (mail["to"], "cancelled" in mail["body"])
    again = api.post(BASE, json=booking(START + timedelta(minutes=30)), headers=host)
    assert 201 == again.status_code


def test_racing_overlapping_bookings_book_one(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """Two overlapping bookings at once: exactly one is booked, the other is a 409."""
    host = staff_auth("acme", "user", uid="host")
    clients = [function_client("consultations") for _ in range(2)]
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def race(client: Any, minutes: int) -> None:
        barrier.wait()
        at = START + timedelta(days=1, minutes=minutes)
        statuses.append(client.post(BASE, json=booking(at), headers=host).status_code)

    threads = [threading.Thread(target=race, args=(c, 15 * i)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [201, 409] == sorted(statuses)
    assert 1 == len(docs(db, "companies/acme/consultations"))


def test_reminder_runs_through_run_task_without_internal_notes(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """A due reminder mails the attendee the time and link; staff-only notes never go."""
    api, host = function_client("consultations"), staff_auth("acme", "user", uid="host")
    body = booking(START, meeting_link="https://meet.example/x")
    consultation = api.post(BASE, json=body, headers=host).get_json()
    notes = {"notes": {"summary": "Prep", "internal_notes": "Secret pricing idea"}}
    patched = api.patch(f"{BASE}/{consultation['id']}", json=notes, headers=host)
    assert ("Secret pricing idea", 200) == (
        patched.get_json()["notes"]["internal_notes"],
        patched.status_code,
    )
    task_id = consultation["reminder_task_ids"][0]
    past = datetime.now(UTC) - timedelta(minutes=1)
    db.document(task_path("acme", task_id)).update({"scheduled_for": past})
    run = function_client("run_task").post("/", json={"company_id": "acme", "task_id": task_id})
    assert "completed" == run.get_json()["outcome"]
    (mail,) = docs(db, "outbox").values()
    assert (True, False) == ("https://meet.example/x" in mail["body"], "Secret" in mail["body"])


def test_roles_fixed_fields_and_other_companies(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """Another user may not cancel or edit; the time cannot be PATCHed; globex's admin gets
    403 on every acme consultation URL; a user lists acme's consultations."""
    api, host = function_client("consultations"), staff_auth("acme", "user", uid="host")
    consultation = api.post(BASE, json=booking(START), headers=host).get_json()
    item = f"{BASE}/{consultation['id']}"
    other = staff_auth("acme", "user", uid="other")
    foreign = staff_auth("globex", "admin")
    answers = {
        "other cancels": api.post(f"{item}/cancel", json={}, headers=other).status_code,
        "other edits": api.patch(item, json={"topic": "x"}, headers=other).status_code,
        "time patched": api.patch(
            item, json={"scheduled_at": "2030-01-01T00:00:00Z"}, headers=host
        ).status_code,
        "foreign list": api.get(BASE, headers=foreign).status_code,
        "foreign get": api.get(item, headers=foreign).status_code,
        "foreign book": api.post(BASE, json=booking(START), headers=foreign).status_code,
        "foreign cancel": api.post(f"{item}/cancel", json={}, headers=foreign).status_code,
    }
    assert {
        "other cancels": 403,
        "other edits": 403,
        "time patched": 400,
        "foreign list": 403,
        "foreign get": 403,
        "foreign book": 403,
        "foreign cancel": 403,
    } == answers
    listed = api.get(f"{BASE}?sort=scheduled_at&status=scheduled", headers=other).get_json()
    assert [consultation["id"]] == [i["id"] for i in listed["items"]]
