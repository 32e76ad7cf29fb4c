"""The caller's address behind Google's front end, through the real functions and the
local Firestore: what the caller writes into ``X-Forwarded-For`` is not its address.

Google's front end appends the address it took the connection from to whatever
``X-Forwarded-For`` the caller sent, so a request reaches the function as
``<anything the caller wrote>, <its real address>``. These tests send exactly that.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared import bootstrap
from shared.domain.leads import lead_id_for
from shared.domain.referrals import ATTEMPTS_PER_IP_PER_HOUR, CODE_ALPHABET
from tests.support import seed_company

KEY = "acme.public-key-123"
REAL = "203.0.113.7"  # what Google's front end saw and appended


def forged(i: int) -> dict[str, str]:
    """A different made-up address each time, in front of the real one."""
    return {"X-Forwarded-For": f"1.2.3.{i}, {REAL}"}


def test_a_forged_forwarded_for_neither_dodges_the_per_ip_limit_nor_plants_a_consent_ip(
    db: Any, function_client: Any
) -> None:
    """Three leads an hour per address: the fourth post from the same address is a 429
    however the caller rewrites X-Forwarded-For, and the consent evidence and the
    submission record name the real address, never the one the caller wrote."""
    settings = {"min_submit_seconds": 0, "submissions_per_ip_per_hour": 3}
    seed_company(db, settings=settings)
    intake = function_client("lead_intake")
    statuses = [
        intake.post(
            "/",
            json={"form_key": KEY, "email": f"v{i}@example.com", "consent": True},
            headers=forged(i),
        ).status_code
        for i in range(5)
    ]
    assert [201, 201, 201, 429, 429] == statuses
    lead = db.document(f"companies/acme/leads/{lead_id_for('v0@example.com')}").get().to_dict()
    (interaction,) = [
        d.to_dict()
        for d in db.collection(f"companies/acme/leads/{lead['id']}/interactions").stream()
    ]
    assert (REAL, REAL) == (lead["consent"]["ip"], interaction["metadata"]["ip"])


def test_a_forged_forwarded_for_does_not_dodge_the_referral_guessing_limit(
    db: Any, function_client: Any
) -> None:
    """Guessing codes: after the hourly allowance the same address gets 429s whatever it
    writes in X-Forwarded-For."""
    seed_company(db)
    redeem = function_client("redeem_referral")
    statuses = [
        redeem.post(
            "/",
            json={"form_key": KEY, "code": guess(i), "email": f"g{i}@example.com"},
            headers=forged(i),
        ).status_code
        for i in range(ATTEMPTS_PER_IP_PER_HOUR + 2)
    ]
    assert [404] * ATTEMPTS_PER_IP_PER_HOUR + [429, 429] == statuses


def guess(i: int) -> str:
    """A well-formed code nobody issued."""
    return f"ABCD-EFGH-{CODE_ALPHABET[i % 31]}{CODE_ALPHABET[i // 31]}"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        ("1", f"1.2.3.4, {REAL}", REAL),  # Cloud Functions / Cloud Run: the front end only
        ("2", f"1.2.3.4, {REAL}, 130.211.0.1", REAL),  # behind an external load balancer
        ("0", f"1.2.3.4, {REAL}", "127.0.0.1"),  # no proxy in front: the connection's peer
        ("2", REAL, "127.0.0.1"),  # fewer entries than proxies: not through them
        ("1", "1.2.3.4, not-an-address", "127.0.0.1"),
    ],
)
def test_the_address_is_counted_from_the_right_by_the_trusted_proxies(
    db: Any,
    function_client: Any,
    monkeypatch: pytest.MonkeyPatch,
    proxies: str,
    forwarded: str,
    expected: str,
) -> None:
    """``GROWTHKIT_TRUSTED_PROXIES`` proxies each append one address: the client's is the
    one the outermost of them appended; anything else is the connection's own peer."""
    monkeypatch.setenv("GROWTHKIT_TRUSTED_PROXIES", proxies)
    bootstrap.reset()
    seed_company(db)
    body = {"form_key": KEY, "email": "p@example.com", "consent": True}
    res = function_client("lead_intake").post(
        "/", json=body, headers={"X-Forwarded-For": forwarded}
    )
    lead = db.document(f"companies/acme/leads/{lead_id_for('p@example.com')}").get().to_dict()
    assert (201, expected) == (res.status_code, lead["consent"]["ip"])
