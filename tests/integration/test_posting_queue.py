"""The posting queue through ``staff_api`` (verified ID tokens) and the local Firestore
(real client): managers set the schedule, content put in the queue takes the next free
slot on the company's clock across a daylight-saving change, skips taken slots, and two
requests at once never take the same slot (one transaction each); the content resource
shows each platform's state, partial success included."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from shared import bootstrap
from shared.domain.common import stable_id
from shared.domain.content import publication_key
from tests.fakes import FakeClock
from tests.integration.event_support import memory_queue
from tests.support import docs, seed_company

BASE = "/companies/acme"
SATURDAY = datetime(2026, 3, 7, 15, 0, tzinfo=UTC)  # New York's clocks go forward on the 8th


@pytest.fixture
def api(db: Any, function_client: Any, staff_auth: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Acme on New York time, six social drafts, the clock on a Saturday before the US
    change; Cloud Tasks recorded in memory."""
    seed_company(db, settings={"time_zone": "America/New_York"})
    seed_company(db, "globex")
    for n in range(1, 7):
        draft = {"id": f"c{n}", "company_id": "acme", "title": f"Post {n}", "type": "social"}
        draft |= {"body": f"Tip {n}", "status": "draft", "platforms": ["linkedin"]}
        draft |= {"created_at": SATURDAY, "updated_at": SATURDAY}
        db.document(f"companies/acme/content/c{n}").set(draft)
    monkeypatch.setattr(bootstrap, "clock", FakeClock(SATURDAY))
    return function_client("staff_api")


def schedule(api: Any, headers: dict[str, str], slots: dict[str, list[str]]) -> Any:
    return api.patch(f"{BASE}/posting_schedule", json={"slots": slots}, headers=headers)


def queue(api: Any, headers: dict[str, str], content_id: str, **body: Any) -> Any:
    return api.post(f"{BASE}/content/{content_id}/queue", json=body, headers=headers)


def test_managers_set_the_schedule_and_everyone_reads_it(api: Any, staff_auth: Any) -> None:
    """PATCH replaces the days it names ([] clears one), times sorted; users read it with
    the time zone it is read in, but may not change it; a bad time is a 400."""
    manager, user = staff_auth("acme", "manager"), staff_auth("acme", "user")
    schedule(api, manager, {"mon": ["13:00", "09:00"], "tue": ["10:00"]})
    changed = schedule(api, manager, {"tue": [], "wed": ["09:00"]})
    assert (200, {"mon": ["09:00", "13:00"], "wed": ["09:00"]}) == (
        changed.status_code,
        changed.get_json()["slots"],
    )
    shown = api.get(f"{BASE}/posting_schedule", headers=user).get_json()
    assert ("America/New_York", True) == (shown["time_zone"], shown["updated_by"] is not None)
    assert [403, 400, 403, 405] == [
        schedule(api, user, {"fri": ["09:00"]}).status_code,
        schedule(api, manager, {"fri": ["9am"]}).status_code,
        api.get("/companies/globex/posting_schedule", headers=manager).status_code,
        api.post(f"{BASE}/posting_schedule", json={}, headers=manager).status_code,
    ]


def test_the_queue_takes_the_next_free_slot_across_the_change(
    db: Any, api: Any, staff_auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mondays and Wednesdays at 09:00 New York time: the first item goes on Monday the
    9th, after the clocks moved (13:00 UTC, not winter's 14:00), the next on Wednesday;
    a slot taken is skipped; asking again for queued content keeps its slot; the publish
    task is scheduled for the slot; the content resource shows it."""
    tasks = memory_queue(monkeypatch)
    manager = staff_auth("acme", "manager")
    schedule(api, manager, {"mon": ["09:00"], "wed": ["09:00"]})
    first, second = queue(api, manager, "c1"), queue(api, manager, "c2")
    assert (200, "2026-03-09T13:00:00+00:00", "2026-03-09T09:00:00-04:00") == (
        first.status_code,
        first.get_json()["scheduled_at"],
        first.get_json()["local_time"],
    )
    assert "2026-03-11T13:00:00+00:00" == second.get_json()["scheduled_at"]
    again = queue(api, manager, "c1")
    assert first.get_json()["scheduled_at"] == again.get_json()["scheduled_at"]
    assert ["20260309T1300Z", "20260311T1300Z"] == sorted(docs(db, "companies/acme/queue_slots"))
    key = publication_key("c1", datetime(2026, 3, 9, 13, 0, tzinfo=UTC))
    assert first.get_json()["task_id"] == stable_id(key)
    assert any(t.name.endswith(stable_id(key)) for t in tasks.tasks.values())
    shown = api.get(f"{BASE}/content/c1", headers=staff_auth("acme", "user")).get_json()
    assert ("scheduled", "2026-03-09T13:00:00Z", "20260309T1300Z", "pending") == (
        shown["status"],
        shown["scheduled_at"],
        shown["queue_slot"],
        shown["platform_status"]["linkedin"]["status"],
    )


def test_two_requests_at_once_never_take_the_same_slot(
    db: Any, function_client: Any, api: Any, staff_auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six items queued by three pairs of simultaneous requests: six different slots, the
    first six of the schedule, each held by exactly one item."""
    memory_queue(monkeypatch)
    manager = staff_auth("acme", "manager")
    schedule(api, manager, {day: ["09:00", "15:00"] for day in ("mon", "tue", "wed")})
    answers: dict[str, Any] = {}

    def race(pair: tuple[str, str]) -> None:
        barrier = threading.Barrier(2)
        clients = {cid: function_client("staff_api") for cid in pair}

        def one(cid: str) -> None:
            barrier.wait()
            answers[cid] = queue(clients[cid], manager, cid)

        threads = [threading.Thread(target=one, args=(cid,)) for cid in pair]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    for pair in (("c1", "c2"), ("c3", "c4"), ("c5", "c6")):
        race(pair)
    assert [200] * 6 == [answers[f"c{n}"].status_code for n in range(1, 7)]
    taken = sorted(a.get_json()["scheduled_at"] for a in answers.values())
    slots = docs(db, "companies/acme/queue_slots")
    assert (6, 6) == (len(set(taken)), len(slots))
    assert taken[0] == "2026-03-09T13:00:00+00:00" and taken[-1] == "2026-03-11T19:00:00+00:00"
    holders = {slot["content_id"] for slot in slots.values()}
    assert {f"c{n}" for n in range(1, 7)} == holders


def test_the_content_resource_shows_each_platforms_state(
    db: Any, api: Any, staff_auth: Any
) -> None:
    """Published on LinkedIn, failed on X (reconnect): the item reads failed with the
    reason, and each platform's state with its URL or error."""
    states = {
        "linkedin": {
            "status": "published",
            "url": "https://www.linkedin.com/feed/update/urn:li:share:1",
            "attempts": 1,
        },
        "twitter": {"status": "failed", "error": "reconnect", "attempts": 1},
    }
    db.document("companies/acme/content/c1").update(
        {
            "platforms": ["linkedin", "twitter"],
            "platform_status": states,
            "status": "failed",
            "failure_reason": "reconnect",
        }
    )
    shown = api.get(f"{BASE}/content/c1", headers=staff_auth("acme", "user")).get_json()
    assert ("failed", "reconnect") == (shown["status"], shown["failure_reason"])
    assert {
        p: (s["status"], s["url"], s["error"]) for p, s in shown["platform_status"].items()
    } == {
        "linkedin": ("published", states["linkedin"]["url"], None),
        "twitter": ("failed", None, "reconnect"),
    }
    listed = api.get(f"{BASE}/content?status=failed", headers=staff_auth("acme", "user"))
    assert ["c1"] == [i["id"] for i in listed.get_json()["items"]]


def test_who_may_queue_and_what(api: Any, staff_auth: Any, monkeypatch: Any) -> None:
    memory_queue(monkeypatch)
    manager = staff_auth("acme", "manager")
    no_schedule = queue(api, manager, "c1")
    schedule(api, manager, {"mon": ["09:00"]})
    answers = [
        no_schedule.status_code,
        queue(api, staff_auth("acme", "user"), "c1").status_code,
        queue(api, staff_auth("globex", "admin"), "c1").status_code,
        queue(api, manager, "missing").status_code,
        queue(api, manager, "c1", platforms=["instagram"]).status_code,
        api.get(f"{BASE}/content/c1/queue", headers=manager).status_code,
    ]
    assert [409, 403, 403, 404, 400, 405] == answers
