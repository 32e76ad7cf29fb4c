"""Abuse of the public endpoints: bursts of concurrent posts against the rate limits.

50 posts leave 50 threads at once (a barrier) over real HTTP to a threaded server, so
the counters are read and written concurrently, as a burst from a script would. The clock
is frozen inside one minute and one hour so that no window boundary splits a burst.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from shared import bootstrap
from shared.domain.referrals import ATTEMPTS_PER_IP_PER_HOUR, CODE_ALPHABET
from tests.fakes import FakeClock
from tests.support import seed_company

KEY = "acme.public-key-123"
BURST = 50
FROZEN = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)


def post(url: str, body: dict[str, Any], ip: str) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Forwarded-For": ip},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as res:
            return int(res.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def burst(url: str, bodies: list[dict[str, Any]], ips: list[str]) -> Counter[int]:
    """Post every body at once (one thread each); the statuses answered."""
    statuses: Counter[int] = Counter()
    lock, start = threading.Lock(), threading.Barrier(len(bodies))

    def send(body: dict[str, Any], ip: str) -> None:
        start.wait()
        status = post(url, body, ip)
        with lock:
            statuses[status] += 1

    threads = [threading.Thread(target=send, args=pair) for pair in zip(bodies, ips, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch, functions_env: None) -> FakeClock:
    """The functions' clock, stopped at half past the hour."""
    clock = FakeClock(FROZEN)
    monkeypatch.setattr(bootstrap, "clock", clock)
    return clock


def guess(i: int) -> str:
    """A well-formed code nobody issued (malformed ones are refused before any lookup)."""
    return f"ABCD-EFGH-{CODE_ALPHABET[i % 31]}{CODE_ALPHABET[i // 31]}"


def leads(n: int) -> list[dict[str, Any]]:
    return [{"form_key": KEY, "email": f"burst{i}@example.com"} for i in range(n)]


def test_burst_from_one_ip_stops_at_the_hourly_limit(db: Any, serve: Any, frozen: Any) -> None:
    """50 concurrent posts from one address, 20 allowed an hour: exactly 20 get in."""
    seed_company(db, settings={"min_submit_seconds": 0, "submissions_per_ip_per_hour": 20})
    statuses = burst(serve("lead_intake"), leads(BURST), ["203.0.113.7"] * BURST)
    stored = len(list(db.collection("companies/acme/leads").stream()))
    assert ({201: 20, 429: 30}, 20) == (dict(statuses), stored)


def test_burst_from_many_ips_stops_at_the_company_limit(db: Any, serve: Any, frozen: Any) -> None:
    """50 concurrent posts from 50 addresses, 20 a minute for the company: exactly 20."""
    settings = {"min_submit_seconds": 0, "submissions_per_company_per_minute": 20}
    seed_company(db, settings=settings)
    ips = [f"198.51.100.{i}" for i in range(BURST)]
    statuses = burst(serve("lead_intake"), leads(BURST), ips)
    stored = len(list(db.collection("companies/acme/leads").stream()))
    assert ({201: 20, 429: 30}, 20) == (dict(statuses), stored)


def test_spam_counts_against_the_limit_too(db: Any, serve: Any, frozen: Any) -> None:
    """A bot filling the honeypot cannot store unlimited spam records."""
    seed_company(db, settings={"min_submit_seconds": 0, "submissions_per_ip_per_hour": 20})
    bodies = [{**body, "website": "http://spam.example"} for body in leads(BURST)]
    statuses = burst(serve("lead_intake"), bodies, ["203.0.113.9"] * BURST)
    spam = len(list(db.collection("companies/acme/spam_submissions").stream()))
    assert ({200: 20, 429: 30}, 20) == (dict(statuses), spam)


def test_referral_code_guessing_is_limited_and_logged(
    db: Any, serve: Any, frozen: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """50 concurrent guesses from one address: 20 are looked up (404), 30 refused (429),
    and both the guesses and the limit are logged."""
    seed_company(db)
    guesses = [
        {"form_key": KEY, "email": f"guess{i}@example.com", "code": guess(i)} for i in range(BURST)
    ]
    caplog.set_level(logging.INFO, logger="growthkit.referrals")
    statuses = burst(serve("redeem_referral"), guesses, ["192.0.2.66"] * BURST)
    logged = Counter(
        "limit" if "limit hit" in r.getMessage() else "refused"
        for r in caplog.records
        if r.name == "growthkit.referrals"
    )
    assert {404: ATTEMPTS_PER_IP_PER_HOUR, 429: BURST - ATTEMPTS_PER_IP_PER_HOUR} == dict(statuses)
    assert {"refused": ATTEMPTS_PER_IP_PER_HOUR, "limit": BURST - ATTEMPTS_PER_IP_PER_HOUR} == (
        dict(logged)
    )
