"""Codes allowing many uses keep their count in shards: created, redeemed, listed and used
up through the functions and the local Firestore with the real client."""

from __future__ import annotations

import threading
from typing import Any

from shared.domain.counters import SHARDS, shard_path
from shared.domain.leads import lead_id_for
from tests.integration.event_support import RoundTrips
from tests.support import docs, seed_company

KEY = "acme.public-key-123"
REFERRER = "jane.doe@gmail.com"


def popular_code(db: Any, function_client: Any, staff_auth: Any, max_uses: int = 100) -> str:
    """A code created by a manager through referral_codes; returns the code."""
    seed_company(db)
    lead = lead_id_for(REFERRER)
    db.document(f"companies/acme/leads/{lead}").set(
        {"id": lead, "company_id": "acme", "email": REFERRER, "email_normalized": REFERRER}
    )
    body = {"referrer_email": REFERRER, "max_uses": max_uses, "offer_details": "10% off"}
    res = function_client("referral_codes").post("/", json=body, headers=staff_auth("acme"))
    assert 201 == res.status_code
    return str(res.get_json()["referral"]["code"])


def shards(db: Any, code: str) -> list[dict[str, Any]]:
    return list(docs(db, f"companies/acme/referrals/{code}/shards").values())


def redeem(client: Any, email: str, code: str, ip: str = "10.1.1.1") -> Any:
    body = {"form_key": KEY, "code": code, "email": email}
    return client.post("/", json=body, headers={"X-Forwarded-For": ip})


def test_popular_code_has_shards_and_lists_their_total(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """200 uses over 16 shards; three redemptions touch shards only; the list adds up."""
    code = popular_code(db, function_client, staff_auth, max_uses=200)
    assert (SHARDS, 200) == (len(shards(db, code)), sum(s["limit"] for s in shards(db, code)))
    before = db.document(f"companies/acme/referrals/{code}").get().update_time
    client = function_client("redeem_referral")
    assert [201] * 3 == [redeem(client, f"f{i}@example.com", code).status_code for i in range(3)]
    assert before == db.document(f"companies/acme/referrals/{code}").get().update_time
    listed = function_client("referral_codes").get("/", headers=staff_auth("acme"))
    (referral,) = listed.get_json()["referrals"]
    assert (3, 3, "active") == (
        referral["times_used"],
        len(referral["referred_leads"]),
        referral["status"],
    )


def test_sharded_redemption_is_three_round_trips(
    db: Any, function_client: Any, staff_auth: Any, firestore_server: Any, project_id: str
) -> None:
    """BeginTransaction, one batched read (with one shard), one commit."""
    code = popular_code(db, function_client, staff_auth)
    client = function_client("redeem_referral")
    trips = RoundTrips(firestore_server, project_id)
    assert 201 == redeem(client, "new@example.com", code).status_code
    assert {"BeginTransaction": 1, "BatchGetDocuments": 1, "Commit": 1} == trips.delta()


def test_concurrent_redemptions_never_exceed_a_sharded_limit(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """Five uses left over three shards, twenty friends at once: exactly five get it, and
    the code is then listed as used."""
    code = popular_code(db, function_client, staff_auth)
    left = {0: 2, 7: 2, 13: 1}
    parent = f"companies/acme/referrals/{code}"
    for index in range(SHARDS):
        shard = db.document(shard_path(parent, index))
        shard.update({"times_used": shard.get().get("limit") - left.get(index, 0)})
    client, statuses = function_client("redeem_referral"), list[int]()

    def attempt(i: int) -> None:
        statuses.append(redeem(client, f"f{i}@example.com", code, f"10.0.0.{i}").status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert [201] * 5 + [409] * 15 == sorted(statuses)
    assert (100, 5) == (
        sum(s["times_used"] for s in shards(db, code)),
        len(docs(db, "companies/acme/referral_redemptions")),
    )
    used = function_client("referral_codes").get("/?status=used", headers=staff_auth("acme"))
    assert [code] == [r["code"] for r in used.get_json()["referrals"]]


def test_expiring_a_sharded_code_stops_its_redemptions(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """The code's own document still decides whether it can be redeemed at all."""
    code = popular_code(db, function_client, staff_auth)
    staff = function_client("referral_codes")
    expire = {"action": "expire", "code": code}
    assert 200 == staff.post("/", json=expire, headers=staff_auth("acme")).status_code
    res = redeem(function_client("redeem_referral"), "late@example.com", code)
    assert (409, "expired") == (res.status_code, res.get_json()["error"]["details"]["reason"])
