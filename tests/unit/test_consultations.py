"""Consultations against in-memory fakes: overlaps, reminders, cancelling and completing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.domain.consultations import (
    BookingRequest,
    CancelRequest,
    CompleteRequest,
    ConsultationNotes,
    days_touched,
)
from shared.domain.identity import Role, StaffIdentity
from shared.domain.tasks import ScheduledTask, task_path
from shared.errors import InvalidInput, PermissionDenied, Refused
from shared.services import consultations_lifecycle as lifecycle
from shared.services.consultations import book
from shared.services.task_handlers import TaskContext
from tests.fakes import FakeClock, FakeMessenger, FakeStore, FakeTaskQueue

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOST = StaffIdentity("u1", "acme", Role.USER)
OTHER = StaffIdentity("u2", "acme", Role.USER)


class World:
    def __init__(self) -> None:
        self.store, self.queue = FakeStore(), FakeTaskQueue()
        self.messenger, self.clock = FakeMessenger(), FakeClock(NOW)
        settings = {"time_zone": "Europe/Paris"}
        self.store.docs["companies/acme"] = ({"name": "Acme", "settings": settings}, NOW)
        for uid in ("u1", "u2"):
            self.store.docs[f"companies/acme/users/{uid}"] = ({"id": uid}, NOW)

    def book(
        self, start: datetime, minutes: int = 60, staff: StaffIdentity = HOST, **more: Any
    ) -> dict[str, Any]:
        req = BookingRequest.model_validate(
            {"scheduled_at": start, "duration_minutes": minutes}
            | {"attendee_email": "ann@example.com", "attendee_name": "Ann"}
            | more
        )
        data, _ = book(self.store, self.queue, self.clock.now(), staff, "acme", req)
        return data

    def task_status(self, task_id: str) -> str:
        return str(self.store.docs[task_path("acme", task_id)][0]["status"])


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_an_overlapping_booking_is_refused_naming_the_conflict() -> None:
    """Any overlap is refused with the consultation it overlaps; back to back is fine."""
    w = World()
    first = w.book(at(5, 10), 60)
    for start, minutes in [(at(5, 10, 30), 30), (at(5, 9, 30), 45), (at(5, 9), 8 * 60)]:
        with pytest.raises(Refused) as refused:
            w.book(start, minutes)
        assert [first["id"]] == [c["id"] for c in refused.value.details["conflicts"]]
    w.book(at(5, 11), 30)
    w.book(at(5, 9), 60)


def test_overlaps_across_midnight_are_seen() -> None:
    """A consultation ending after midnight blocks the next day's early slot (the query
    reaches back the longest duration, and both bookings lock the day they share)."""
    w = World()
    w.book(at(5, 23, 30), 60)
    with pytest.raises(Refused):
        w.book(at(6, 0, 15), 30)
    assert ["2026-03-05", "2026-03-06"] == days_touched(at(5, 23, 30), at(6, 0, 30))


def test_booking_schedules_the_reminders_still_ahead() -> None:
    """24 h and 1 h before the start; a booking 2 hours ahead gets only the 1 h one."""
    w = World()
    far = w.book(at(5, 10))
    soon = w.book(NOW + timedelta(hours=2))
    tasks = {p: d for p, (d, _) in w.store.docs.items() if "/scheduled_tasks/" in p}
    runs = sorted((d["data"]["consultation_id"], d["scheduled_for"]) for d in tasks.values())
    assert (
        sorted(
            [
                (far["id"], at(4, 10)),
                (far["id"], at(5, 9)),
                (soon["id"], NOW + timedelta(hours=1)),
            ]
        )
        == runs
    )
    assert (2, 1) == (len(far["reminder_task_ids"]), len(soon["reminder_task_ids"]))


def test_cancelling_cancels_the_reminders_frees_the_slot_and_tells_the_attendee_once() -> None:
    """Cancelled tasks and Cloud Tasks; a second cancel changes nothing and mails nothing."""
    w = World()
    booked = w.book(at(5, 10))
    req = CancelRequest(reason="Ill")
    for _ in range(2):
        done = lifecycle.cancel(w.store, w.queue, w.messenger, NOW, HOST, "acme", booked["id"], req)
    assert ("cancelled", ["cancelled", "cancelled"], 1) == (
        done["status"],
        [w.task_status(t) for t in booked["reminder_task_ids"]],
        len(w.messenger.sent),
    )
    assert 2 == len(w.queue.cancelled)
    w.book(at(5, 10))


def test_users_change_only_their_own_consultations() -> None:
    """Another user may not cancel; a manager may."""
    w = World()
    booked = w.book(at(5, 10))
    with pytest.raises(PermissionDenied):
        lifecycle.cancel(
            w.store, w.queue, w.messenger, NOW, OTHER, "acme", booked["id"], CancelRequest()
        )
    manager = StaffIdentity("m1", "acme", Role.MANAGER)
    req = CancelRequest(notify_attendee=False)
    done = lifecycle.cancel(w.store, w.queue, w.messenger, NOW, manager, "acme", booked["id"], req)
    assert ("cancelled", 0) == (done["status"], len(w.messenger.sent))


def test_completion_after_the_start_mails_the_summary_without_internal_notes() -> None:
    """Not before it starts; afterwards completed with notes, the summary mailed has the
    insights and action items but never the internal notes."""
    w = World()
    booked = w.book(NOW + timedelta(hours=2))
    notes = ConsultationNotes(
        summary="Good talk", action_items=["Raise prices"], internal_notes="Owner seems tired"
    )
    req = CompleteRequest(notes=notes, send_summary=True)
    with pytest.raises(Refused, match="not started"):
        lifecycle.complete(w.store, w.queue, w.messenger, NOW, HOST, "acme", booked["id"], req)
    later = NOW + timedelta(hours=3)
    done = lifecycle.complete(w.store, w.queue, w.messenger, later, HOST, "acme", booked["id"], req)
    (mail,) = w.messenger.sent.values()
    assert ("completed", True, False, "Owner seems tired") == (
        done["status"],
        "Raise prices" in mail.body,
        "tired" in mail.body,
        done["notes"]["internal_notes"],
    )


def test_reminder_task_sends_only_while_scheduled() -> None:
    """The reminder mails the time in the company's zone and the link; after a cancel the
    same task sends nothing."""
    w = World()
    booked = w.book(at(5, 10), meeting_link="https://meet.example/abc")
    task = ScheduledTask.model_validate(
        w.store.docs[task_path("acme", booked["reminder_task_ids"][0])][0]
    )
    ctx = TaskContext(w.store, w.queue, w.messenger, NOW)
    assert True is lifecycle.consultation_reminder_task(ctx, task)["sent"]
    (mail,) = w.messenger.sent.values()
    assert (True, True) == (
        "11:00 (Europe/Paris)" in mail.body,
        "https://meet.example/abc" in mail.body,
    )
    lifecycle.cancel(
        w.store, w.queue, w.messenger, NOW, HOST, "acme", booked["id"], CancelRequest()
    )
    assert False is lifecycle.consultation_reminder_task(ctx, task)["sent"]


def test_bad_bookings_are_400() -> None:
    """A time in the past, an unknown host or profile, a time without a zone."""
    w = World()
    with pytest.raises(InvalidInput, match="past"):
        w.book(NOW - timedelta(minutes=1))
    with pytest.raises(InvalidInput) as unknown:
        w.book(at(5, 10), host_uid="ghost", business_profile_id="nope")
    assert {"host_uid", "business_profile_id"} == set(unknown.value.details["fields"])
    with pytest.raises(ValueError, match="time zone"):
        BookingRequest.model_validate(
            {"scheduled_at": "2026-03-05T10:00:00", "attendee_email": "a@example.com"}
        )
