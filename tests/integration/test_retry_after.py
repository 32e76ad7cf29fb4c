"""Every rate-limited answer says when to come back: a 429 carries ``Retry-After``, the
seconds until the window that refused it frees, through the real functions and the local
Firestore. The clock stands at 14:30:15, so an hourly window frees in 1,785 s and a
per-minute window in 45 s.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared import bootstrap
from shared.domain.referrals import ATTEMPTS_PER_IP_PER_HOUR, CODE_ALPHABET
from tests.fakes import FakeClock
from tests.support import SITE, seed_company

KEY = "acme.public-key-123"
NOW = datetime.now(UTC).replace(hour=14, minute=30, second=15, microsecond=0)
UNTIL_THE_HOUR = 29 * 60 + 45
UNTIL_THE_MINUTE = 45
BROWSER = "text/html,application/xhtml+xml,*/*;q=0.8"


@pytest.fixture(autouse=True)
def frozen(functions_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bootstrap, "clock", FakeClock(NOW))


def limited(db: Any, **settings: Any) -> None:
    seed_company(db, settings={"min_submit_seconds": 0, **settings})


def refused_after(client: Any, allowed: int, post: Any) -> Any:
    """The first answer past ``allowed`` accepted posts (each must have been accepted)."""
    for i in range(allowed):
        res = post(client, i)
        assert res.status_code < 400, res.get_data(as_text=True)
    return post(client, allowed)


def test_lead_intake_per_ip_hour(db: Any, function_client: Any) -> None:
    """Past the per-IP hourly limit: 429 with the seconds until the hour is over."""
    limited(db, submissions_per_ip_per_hour=2)

    def post(client: Any, i: int) -> Any:
        return client.post("/", json={"form_key": KEY, "email": f"p{i}@example.com"})

    res = refused_after(function_client("lead_intake"), 2, post)
    assert (429, str(UNTIL_THE_HOUR)) == (res.status_code, res.headers.get("Retry-After"))
    assert "resource-exhausted" == res.get_json()["error"]["code"]


def test_lead_intake_company_minute(db: Any, function_client: Any) -> None:
    """Past the company's per-minute limit (posts from many addresses): the seconds until
    the minute is over."""
    limited(db, submissions_per_company_per_minute=2)

    def post(client: Any, i: int) -> Any:
        body = {"form_key": KEY, "email": f"m{i}@example.com"}
        return client.post("/", json=body, headers={"X-Forwarded-For": f"10.0.0.{i}"})

    res = refused_after(function_client("lead_intake"), 2, post)
    assert (429, str(UNTIL_THE_MINUTE)) == (res.status_code, res.headers.get("Retry-After"))


def test_a_browser_form_post_gets_the_header_on_its_page(db: Any, function_client: Any) -> None:
    """The HTML refusal of a form post keeps the header, and says when in words."""
    limited(db, submissions_per_ip_per_hour=1)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": BROWSER}

    def post(client: Any, i: int) -> Any:
        return client.post("/", data=f"form_key={KEY}&email=f{i}%40example.com", headers=headers)

    res = refused_after(function_client("lead_intake"), 1, post)
    page = res.get_data(as_text=True)
    assert (429, "text/html", str(UNTIL_THE_HOUR)) == (
        res.status_code,
        res.mimetype,
        res.headers.get("Retry-After"),
    )
    assert "try again in 30 minutes" in page, page


def test_download_resource(db: Any, function_client: Any, staff_auth: Any) -> None:
    """A download's form counts as a submission: the same limit, the same header."""
    limited(db, submissions_per_ip_per_hour=1)
    db.document("companies/acme/resources/guide").set(
        {"title": "Guide", "file_url": "https://files.acme.example/g.pdf", "active": True}
    )

    def post(client: Any, i: int) -> Any:
        form = {"key": KEY, "resource_id": "guide", "email": f"d{i}@example.com"}
        return client.post("/", data=form, headers={"Origin": SITE})

    res = refused_after(function_client("download_resource"), 1, post)
    assert (429, str(UNTIL_THE_HOUR)) == (res.status_code, res.headers.get("Retry-After"))


def test_newsletter_signup(db: Any, function_client: Any) -> None:
    """Signups count against the form limits: the same header."""
    limited(db, submissions_per_ip_per_hour=1)

    def post(client: Any, i: int) -> Any:
        body = {"form_key": KEY, "email": f"n{i}@example.com"}
        return client.post("/", json=body, headers={"Origin": SITE})

    res = refused_after(function_client("newsletter_signup"), 1, post)
    assert (429, str(UNTIL_THE_HOUR)) == (res.status_code, res.headers.get("Retry-After"))


def test_referral_code_guessing(db: Any, function_client: Any) -> None:
    """Past the hourly allowance of attempts (each an unknown code, 404): the header."""
    seed_company(db)

    def post(client: Any, i: int) -> Any:
        code = f"ABCD-EFGH-{CODE_ALPHABET[i % 31]}{CODE_ALPHABET[i // 31]}"
        return client.post("/", json={"form_key": KEY, "code": code, "email": "g@example.com"})

    client = function_client("redeem_referral")
    statuses = [post(client, i).status_code for i in range(ATTEMPTS_PER_IP_PER_HOUR)]
    assert [404] * ATTEMPTS_PER_IP_PER_HOUR == statuses
    res = post(client, ATTEMPTS_PER_IP_PER_HOUR)
    assert (429, str(UNTIL_THE_HOUR)) == (res.status_code, res.headers.get("Retry-After"))


def test_track_events(db: Any, function_client: Any) -> None:
    """Past an address's hourly budget of events: the header."""
    limited(db, events_per_ip_per_hour=2)

    def post(client: Any, i: int) -> Any:
        event = {"type": "page_view", "name": "/", "session_id": "session-01"}
        event["event_id"] = f"event-{i:04d}"
        body = json.dumps({"form_key": KEY, "events": [event]})
        return client.post("/", data=body, headers={"Content-Type": "text/plain"})

    res = refused_after(function_client("track_events"), 2, post)
    assert (429, str(UNTIL_THE_HOUR)) == (res.status_code, res.headers.get("Retry-After"))
