"""Website analytics events through the functions and the local Firestore: a snippet's
batch (as sendBeacon posts it) stored, rolled up the next night, summarised for staff."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import bootstrap
from tests.fakes import FakeClock, FakeTaskQueue
from tests.integration.periodic_support import drain
from tests.support import SITE, docs, seed_company

YESTERDAY = (datetime.now(UTC) - timedelta(days=1)).replace(hour=15, minute=0, microsecond=0)
KEY = "acme.public-key-123"


def beacon(client: Any, events: list[dict[str, Any]], origin: str = SITE) -> Any:
    """What ``navigator.sendBeacon`` sends: a text/plain JSON body, with the page's Origin."""
    body = json.dumps({"form_key": KEY, "events": events})
    headers = {"Origin": origin, "Content-Type": "text/plain;charset=UTF-8", "User-Agent": "UA/1"}
    return client.post("/", data=body, headers=headers)


def page_views(n: int, session: str = "session-0001") -> list[dict[str, Any]]:
    return [
        {
            "type": "page_view",
            "name": f"/p{i % 2}",
            "session_id": session,
            "event_id": f"ev-{session}-{i}",
        }
        for i in range(n)
    ]


@pytest.fixture
def tracked(db: Any, function_client: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Acme and globex; events arriving yesterday afternoon."""
    seed_company(db)
    seed_company(db, "globex")
    monkeypatch.setattr(bootstrap, "clock", FakeClock(YESTERDAY))
    return function_client("track_events")


def test_batch_stored_rolled_up_and_summarised(
    db: Any,
    tracked: Any,
    queue: FakeTaskQueue,
    function_client: Any,
    staff_auth: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """202 with CORS; the events stored with IP and user agent; a retried batch adds
    nothing; the night's roll-up writes the event metrics, which the summary returns."""
    first = beacon(tracked, page_views(3) + page_views(1, "session-0002"))
    again = beacon(tracked, page_views(3))
    assert (202, SITE, {"stored": 4, "duplicates": 0}, 3) == (
        first.status_code,
        first.headers.get("Access-Control-Allow-Origin"),
        first.get_json(),
        again.get_json()["duplicates"],
    )
    stored = list(docs(db, "companies/acme/analytics_events").values())
    assert (4, "UA/1") == (len(stored), stored[0]["user_agent"])
    monkeypatch.setattr(bootstrap, "clock", FakeClock(datetime.now(UTC)))
    # Just after midnight, so the run is never in the future whenever the test runs.
    night = (YESTERDAY + timedelta(days=1)).replace(hour=0, minute=0, second=1)
    run = {"X-CloudScheduler-ScheduleTime": night.isoformat()}
    assert 200 == function_client("rollup_analytics").post("/", headers=run).status_code
    drain(function_client, queue)  # acme's rollup task
    day = YESTERDAY.date().isoformat()
    summary = function_client("analytics_summary").get(
        f"/?from={day}&to={day}", headers=staff_auth("acme", "user")
    )
    totals = summary.get_json()["totals"]
    assert ({"total": 4, "sessions": 2}, {"page_view": 4}) == (
        totals["events"],
        totals["events_by_type"],
    )


def test_refusals(db: Any, tracked: Any, function_client: Any, staff_auth: Any) -> None:
    """Another origin 403, a wrong key 404, 101 events 400 naming the field, a preflight
    from the site 204; globex's staff cannot read acme's summary."""
    wrong_key = tracked.post("/", json={"form_key": "acme.nope", "events": page_views(1)})
    answers = [
        beacon(tracked, page_views(1), "https://evil.example").status_code,
        wrong_key.status_code,
        beacon(tracked, page_views(101)).status_code,
        tracked.options(f"/?key={KEY}", headers={"Origin": SITE}).status_code,
        function_client("analytics_summary")
        .get("/?company_id=acme", headers=staff_auth("globex", "admin"))
        .status_code,
    ]
    assert [403, 404, 400, 204, 403] == answers
    assert {} == docs(db, "companies/acme/analytics_events")


def test_one_address_sends_at_most_its_hourly_budget(db: Any, tracked: Any) -> None:
    """``events_per_ip_per_hour`` (here 5) counts stored events per IP address and hour:
    the batch that would pass it is refused whole with 429, a retried batch costs nothing,
    and another address still gets through."""
    db.document("companies/acme").update({"settings.events_per_ip_per_hour": 5})

    def send(events: list[dict[str, Any]], ip: str) -> Any:
        body = json.dumps({"form_key": KEY, "events": events})
        headers = {"Origin": SITE, "Content-Type": "text/plain", "X-Forwarded-For": ip}
        return tracked.post("/", data=body, headers=headers)

    first, retried = send(page_views(4), "203.0.113.7"), send(page_views(4), "203.0.113.7")
    over = send(page_views(2, "session-0002"), "203.0.113.7")
    other = send(page_views(2, "session-0003"), "198.51.100.2")
    assert (202, 202, 429, 202) == tuple(r.status_code for r in (first, retried, over, other))
    assert "Too many analytics events" in over.get_json()["error"]["message"]
    stored = docs(db, "companies/acme/analytics_events").values()
    assert {"203.0.113.7": 4, "198.51.100.2": 2} == dict(Counter(e["ip"] for e in stored))


def test_todays_figures_are_live_until_the_rollup_stores_them(
    db: Any,
    function_client: Any,
    staff_auth: Any,
    queue: FakeTaskQueue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Events and a lead this afternoon: the summary (default range) shows today's
    figures at once, marked live, from the day's counters and documents. Just after
    midnight, before the 00:15 rollup, that day is still shown live; once rolled up, the
    same figures come from the stored metrics."""
    seed_company(db)
    today = datetime.now(UTC).replace(hour=15, minute=0, second=0, microsecond=0)
    clock = FakeClock(today)
    monkeypatch.setattr(bootstrap, "clock", clock)
    beacon(function_client("track_events"), page_views(3))
    lead = {"form_key": KEY, "email": "live@example.com"}
    assert 201 == function_client("lead_intake").post("/", json=lead).status_code
    summary, user = function_client("analytics_summary"), staff_auth("acme", "user")
    date = today.date().isoformat()

    def shown(query: str = "") -> tuple[list[tuple[str, bool]], dict[str, Any]]:
        body = summary.get(f"/{query}", headers=user).get_json()
        return [(d["date"], d.get("live", False)) for d in body["days"]], body["totals"]

    days, totals = shown()
    yesterday = (today - timedelta(days=1)).date().isoformat()  # no rollup stored it yet
    assert [(yesterday, True), (date, True)] == days
    assert (3, 1) == (totals["events"]["total"], totals["leads"]["total"])
    clock.current = today.replace(hour=0, minute=5) + timedelta(days=1)
    assert ([(date, True)], totals) == shown(f"?from={date}&to={date}")
    run = {"X-CloudScheduler-ScheduleTime": clock.current.replace(minute=0).isoformat()}
    assert 200 == function_client("rollup_analytics").post("/", headers=run).status_code
    assert 1 == len(drain(function_client, queue))  # the company's rollup task
    assert ([(date, False)], totals) == shown(f"?from={date}&to={date}")
