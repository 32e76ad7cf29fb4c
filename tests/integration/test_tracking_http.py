"""Opens and clicks through the public tracking functions against the local Firestore:
a scanner's click redirects but is not counted, a person's is; the pixel is a GIF, and
Apple's privacy proxy opening it counts for nothing; a forged link goes nowhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from shared import bootstrap
from shared.campaigns.domain.tracking import PIXEL, links_in
from tests.fakes import FakeClock, FakeTaskQueue
from tests.outreach_support import run_due_tasks
from tests.support import docs, seed_company

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15"
TEMPLATE = {"subject": "Spring", "body": "Our offer: https://acme.example/spring?ref=mail"}


@pytest.fixture
def sent(db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any) -> dict[str, Any]:
    """A campaign e-mail sent to Ann (through the outbox); its links and campaign id."""
    seed_company(db)
    lead = {"id": "ann", "email": "ann@example.com", "name": "Ann Doe", "status": "new"}
    lead["consent"] = {"given": True}  # marketing reaches only people who consented
    db.document("companies/acme/leads/ann").set(lead)
    headers = staff_auth("acme", "manager")
    body = {"name": "Spring", "template": TEMPLATE}
    created = function_client("staff_api").post(
        "/companies/acme/campaigns", json=body, headers=headers
    )
    campaign_id = created.get_json()["id"]
    start = {"action": "start", "campaign_id": campaign_id}
    function_client("campaigns").post("/", json=start, headers=headers)
    run_due_tasks(db, function_client)
    (message,) = [d.to_dict() for d in db.collection("outbox").stream()]
    pixel = next(u for u in links_in(message["html"]) if "/track_open?" in u)
    return {"click": links_in(message["body"])[0], "open": pixel, "campaign": campaign_id}


def later(monkeypatch: pytest.MonkeyPatch, **delta: float) -> None:
    """The functions' clock moved on from now (the message was sent just now)."""
    monkeypatch.setattr(bootstrap, "clock", FakeClock(datetime.now(UTC) + timedelta(**delta)))


def query(url: str) -> str:
    return "/?" + urlsplit(url).query


def test_a_scanner_click_redirects_but_is_not_counted(
    db: Any, sent: dict[str, Any], function_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A security scanner's click and a click two seconds after sending both reach the
    original URL and are recorded, uncounted; a person's click a minute later counts as
    the message's open and click and moves the lead's timeline entry to clicked."""
    client = function_client("track_click")
    scanner = client.get(query(sent["click"]), headers={"User-Agent": "Proofpoint URL Defense"})
    at_once = client.get(query(sent["click"]), headers={"User-Agent": BROWSER})
    stats = db.document(f"companies/acme/campaigns/{sent['campaign']}").get().get("stats")
    assert (302, 302, "https://acme.example/spring?ref=mail") == (
        scanner.status_code,
        at_once.status_code,
        scanner.headers["Location"],
    )
    assert (None, None) == (stats.get("clicked"), stats.get("opened"))
    later(monkeypatch, minutes=1)
    person = client.get(query(sent["click"]), headers={"User-Agent": BROWSER})
    events = sorted(
        (e["counted"], e["reason"] or "")
        for e in docs(db, "companies/acme/tracking_events").values()
    )
    assert [(False, "scanner_user_agent"), (False, "seconds_after_sending"), (True, "")] == events
    stats = db.document(f"companies/acme/campaigns/{sent['campaign']}").get().get("stats")
    (timeline,) = docs(db, "companies/acme/leads/ann/interactions").values()
    assert (302, 1, 1, "clicked") == (
        person.status_code,
        stats["clicked"],
        stats["opened"],
        timeline["status"],
    )


def test_the_pixel_is_a_gif_and_apples_proxy_does_not_count(
    db: Any, sent: dict[str, Any], function_client: Any
) -> None:
    """Apple Mail Privacy Protection fetches the pixel from Apple's network: a GIF all
    the same, recorded, not counted."""
    client = function_client("track_open")
    res = client.get(
        query(sent["open"]), headers={"User-Agent": "Mozilla/5.0", "X-Forwarded-For": "17.58.0.9"}
    )
    (event,) = docs(db, "companies/acme/tracking_events").values()
    assert (200, "image/gif", PIXEL) == (res.status_code, res.mimetype, res.get_data())
    assert (False, "apple_mail_privacy_proxy") == (event["counted"], event["reason"])


def test_a_forged_link_goes_nowhere(db: Any, sent: dict[str, Any], function_client: Any) -> None:
    """A token whose URL was swapped fails its signature: a 400, no Location."""
    token = urlsplit(sent["click"]).query.removeprefix("t=")
    payload, signature = token.split(".")
    res = function_client("track_click").get(f"/?t={payload[:-3]}abc.{signature}")
    assert (400, None) == (res.status_code, res.headers.get("Location"))
