"""The posting queue against in-memory fakes: slots on the company's wall clock across
daylight-saving changes (zoneinfo), the schedule's rules, and queueing that takes the
next free slot, frees what rescheduled content left, and answers a repeat the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import pytest
from pydantic import ValidationError

from shared.domain.identity import Role, StaffIdentity
from shared.domain.posting_queue import PostingSchedule, slots_from, zone_of
from shared.errors import InvalidInput, PermissionDenied, Refused
from shared.ports import Write
from shared.services import posting_queue
from shared.services.posting_queue import add_to_queue, update_schedule
from tests.fakes import FakeStore, FakeTaskQueue

NEW_YORK = zone_of("America/New_York")
MANAGER = StaffIdentity("m1", "acme", Role.MANAGER)
SATURDAY = datetime(2026, 3, 7, 15, 0, tzinfo=UTC)  # the US clocks go forward on the 8th


def upcoming(slots: dict[str, list[str]], now: datetime, zone: str, count: int) -> list[str]:
    schedule = PostingSchedule.model_validate({"slots": slots})
    return [s.isoformat() for s in islice(slots_from(schedule, zone_of(zone), now), count)]


def test_a_slot_keeps_its_wall_clock_time_across_a_change() -> None:
    """09:00 on Mondays in New York: 14:00 UTC before the change, 13:00 UTC after."""
    before = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    assert [
        "2026-03-02T14:00:00+00:00",
        "2026-03-09T13:00:00+00:00",
        "2026-03-16T13:00:00+00:00",
    ] == upcoming({"mon": ["09:00"]}, before, "America/New_York", 3)
    autumn = datetime(2026, 10, 23, 12, 0, tzinfo=UTC)  # Paris goes back on the 25th
    assert ["2026-10-24T07:00:00+00:00", "2026-10-25T08:00:00+00:00"] == upcoming(
        {"sat": ["09:00"], "sun": ["09:00"]}, autumn, "Europe/Paris", 2
    )


def test_skipped_and_repeated_times() -> None:
    """02:30 does not exist on the night the clocks go forward: it is 03:30 (07:30 UTC),
    the same instant as a 03:30 slot, so one slot; 01:30 happens twice on the night
    they go back: the first (05:30 UTC, still daylight time)."""
    assert ["2026-03-08T07:30:00+00:00", "2026-03-08T08:00:00+00:00"] == upcoming(
        {"sun": ["02:30", "03:30", "04:00"]}, SATURDAY, "America/New_York", 2
    )
    autumn = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)
    assert ["2026-11-01T05:30:00+00:00"] == upcoming(
        {"sun": ["01:30"]}, autumn, "America/New_York", 1
    )


def test_slots_from_now_on_on_the_company_clock() -> None:
    """A slot at ``now`` counts, one a second earlier does not; the day is the company's
    (Saturday 20:00 in New York is Sunday in UTC)."""
    at_nine = datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    slots = {"mon": ["09:00"], "sat": ["20:00"]}
    assert "2026-03-09T13:00:00+00:00" == upcoming(slots, at_nine, "America/New_York", 1)[0]
    later = at_nine + timedelta(seconds=1)
    assert "2026-03-15T00:00:00+00:00" == upcoming(slots, later, "America/New_York", 1)[0]


def test_the_schedule_is_sorted_and_checked() -> None:
    schedule = PostingSchedule.model_validate({"slots": {"tue": ["13:00", "09:00", "13:00"]}})
    assert {"tue": ["09:00", "13:00"]} == schedule.slots
    merged = schedule.merged(
        PostingSchedule.model_validate({"slots": {"tue": [], "fri": ["08:15"]}})
    )
    assert {"fri": ["08:15"]} == merged.slots
    for bad in ({"monday": ["09:00"]}, {"mon": ["24:00"]}, {"mon": ["9:00"]}):
        with pytest.raises(ValidationError):
            PostingSchedule.model_validate({"slots": bad})
    with pytest.raises(ValueError, match="unknown time zone"):
        zone_of("Mars/Olympus")


def world(**content: Any) -> FakeStore:
    store = FakeStore()
    company = {"name": "Acme", "settings": {"time_zone": "America/New_York"}}
    store.commit([Write("companies/acme", company)])
    update_schedule(
        store, SATURDAY, MANAGER, "acme", {"slots": {"mon": ["09:00"], "wed": ["09:00"]}}
    )
    for cid in ("c1", "c2", "c3"):
        data = {"title": cid, "type": "social", "body": "Hello", "status": "draft"}
        store.commit([Write(f"companies/acme/content/{cid}", data | content)])
    return store


def queue(store: FakeStore, content_id: str, now: datetime = SATURDAY, **body: Any) -> Any:
    body.setdefault("platforms", ["linkedin"])
    return add_to_queue(
        store, FakeTaskQueue(), now, MANAGER, company_id="acme", content_id=content_id, body=body
    )


def test_queueing_takes_the_next_free_slot_and_a_repeat_keeps_it() -> None:
    store = world()
    first, second = queue(store, "c1"), queue(store, "c2")
    assert ("2026-03-09T13:00:00+00:00", "2026-03-09T09:00:00-04:00") == (
        first["scheduled_at"],
        first["local_time"],
    )
    assert "2026-03-11T13:00:00+00:00" == second["scheduled_at"]
    assert first["scheduled_at"] == queue(store, "c1")["scheduled_at"]
    content = store.docs["companies/acme/content/c1"][0]
    assert ("scheduled", "20260309T1300Z", {"linkedin": "pending"}) == (
        content["status"],
        content["queue_slot"],
        {p: s["status"] for p, s in content["platform_status"].items()},
    )


def test_a_slot_left_by_rescheduled_content_is_free_again() -> None:
    store = world()
    queue(store, "c1")
    path = "companies/acme/content/c1"
    store.commit([Write(path, {"scheduled_at": SATURDAY + timedelta(days=30)}, "update")])
    assert "2026-03-09T13:00:00+00:00" == queue(store, "c2")["scheduled_at"]


def test_what_the_queue_refuses() -> None:
    store = world()
    with pytest.raises(PermissionDenied):
        add_to_queue(
            store,
            FakeTaskQueue(),
            SATURDAY,
            StaffIdentity("u1", "acme", Role.USER),
            company_id="acme",
            content_id="c1",
            body={},
        )
    with pytest.raises(InvalidInput, match="no platform named"):
        queue(store, "c1", platforms=None)
    published = {"status": "published"}
    store.commit([Write("companies/acme/content/c3", published, "update")])
    with pytest.raises(Refused, match="published already"):
        queue(store, "c3")
    update_schedule(store, SATURDAY, MANAGER, "acme", {"slots": {"mon": [], "wed": []}})
    with pytest.raises(Refused, match="no times"):
        queue(store, "c1")


def test_a_full_queue_is_refused_after_so_many_slots(monkeypatch: pytest.MonkeyPatch) -> None:
    store = world()
    monkeypatch.setattr(posting_queue, "MAX_SLOTS", 2)
    queue(store, "c1")
    queue(store, "c2")
    with pytest.raises(Refused, match="next 2 slots"):
        queue(store, "c3")
