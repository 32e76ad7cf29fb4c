"""Referrals through functions-framework and the local Firestore with the real client."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.domain.leads import lead_id_for
from shared.domain.referrals import marker_path
from tests.integration.event_support import memory_queue
from tests.integration.periodic_support import drain
from tests.support import SITE, docs, seed_company, seed_lead

KEY = "acme.public-key-123"
FORM = "application/x-www-form-urlencoded"
REFERRER = "jane.doe@gmail.com"


def seed_code(db: Any, code: str, company_id: str = "acme", **fields: Any) -> None:
    """A code stored directly (the staff function is exercised in its own tests)."""
    now = datetime.now(UTC)
    data = {
        "code": code,
        "company_id": company_id,
        "status": "active",
        "referrer_lead_id": lead_id_for(REFERRER),
        "referrer_email": REFERRER,
        "offer_details": "A free inspection",
        "expires_at": now + timedelta(days=30),
        "max_uses": 5,
        "times_used": 0,
        "referred_leads": [],
        "created_at": now,
        "updated_at": now,
    }
    db.document(f"companies/{company_id}/referrals/{code}").set({**data, **fields})


def redeem(client: Any, email: str, code: str, ip: str = "10.1.1.1") -> Any:
    return client.post(
        "/",
        json={"form_key": KEY, "code": code, "email": email, "name": "Friend"},
        headers={"X-Forwarded-For": ip},
    )


def code_doc(db: Any, code: str, company_id: str = "acme") -> dict[str, Any]:
    return db.document(f"companies/{company_id}/referrals/{code}").get().to_dict()


def test_staff_create_list_then_browser_redemption(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """A manager makes a code, a friend redeems it from a plain form, a user lists it."""
    seed_company(db)
    seed_lead(db, REFERRER, status="converted", assigned_to="user-1")
    staff = function_client("referral_codes")
    expires = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    body = {"referrer_email": REFERRER, "offer_details": "10% off", "expires_at": expires}
    created = staff.post("/", json=body, headers=staff_auth("acme", "manager"))
    assert 201 == created.status_code
    code = created.get_json()["referral"]["code"]
    public = function_client("redeem_referral")
    pre = public.options(f"/?key={KEY}", headers={"Origin": SITE})
    assert (204, SITE) == (pre.status_code, pre.headers["Access-Control-Allow-Origin"])
    form = f"code={code.lower()}&email=bob%40example.com&name=Bob&consent=on"
    res = public.post(f"/?key={KEY}", data=form, headers={"Origin": SITE, "Content-Type": FORM})
    assert (201, "10% off") == (res.status_code, res.get_json()["offer_details"])
    lead = db.document(f"companies/acme/leads/{lead_id_for('bob@example.com')}").get().to_dict()
    assert ("referral", lead_id_for(REFERRER), True) == (
        lead["source"],
        lead["referred_by"],
        lead["consent"]["given"],
    )
    listed = staff.get("/?status=active", headers=staff_auth("acme", "user"))
    assert [(code, 1)] == [(r["code"], r["times_used"]) for r in listed.get_json()["referrals"]]


def test_concurrent_redemptions_never_exceed_max_uses(db: Any, function_client: Any) -> None:
    """Twenty friends at once on a five-use code: exactly five get it."""
    seed_company(db)
    seed_code(db, "RACE-AAAA-22", max_uses=5)
    statuses: list[int] = []
    # Apps built here, not in the threads: CPython 3.11's ast.parse (werkzeug compiles
    # routes with it) is not thread-safe.
    clients = [function_client("redeem_referral") for _ in range(20)]

    def attempt(i: int) -> None:
        res = redeem(clients[i], f"f{i}@example.com", "RACE-AAAA-22", f"10.0.0.{i}")
        statuses.append(res.status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert [201] * 5 + [409] * 15 == sorted(statuses)
    stored = code_doc(db, "RACE-AAAA-22")
    assert (5, 5, "used") == (
        stored["times_used"],
        len(set(stored["referred_leads"])),
        stored["status"],
    )
    assert 5 == len(docs(db, "companies/acme/leads"))
    assert 5 == len(docs(db, "companies/acme/referral_redemptions"))


def test_refusals_have_distinct_statuses_and_reasons(db: Any, function_client: Any) -> None:
    """Self-referral (Gmail variant), a second referral, an expired and an unknown code."""
    seed_company(db)
    seed_code(db, "GDGD-AAAA-22")
    seed_code(db, "MMMM-AAAA-22")
    seed_code(db, "PAST-CCCC-22", expires_at=datetime.now(UTC) - timedelta(minutes=1))
    client = function_client("redeem_referral")

    def outcome(email: str, code: str) -> tuple[int, str | None]:
        res = redeem(client, email, code)
        error = res.get_json().get("error") or {}
        return res.status_code, error.get("details", {}).get("reason")

    assert (409, "self_referral") == outcome("J.ane.Doe+promo@googlemail.com", "GDGD-AAAA-22")
    assert 201 == redeem(client, "sam@example.com", "GDGD-AAAA-22").status_code
    assert (409, "already_referred") == outcome("Sam+2@example.com", "MMMM-AAAA-22")
    assert (409, "expired") == outcome("pat@example.com", "PAST-CCCC-22")
    assert (404, "unknown_code") == outcome("pat@example.com", "ZZZZ-ZZZZ-ZZ")
    bad = client.post("/", json={"form_key": KEY, "code": "nope", "email": "not-an-email"})
    assert {"code", "email"} == set(bad.get_json()["error"]["details"]["fields"])
    assert 1 == code_doc(db, "GDGD-AAAA-22")["times_used"]
    assert 0 == code_doc(db, "MMMM-AAAA-22")["times_used"]


def test_refusals_are_readable_by_the_companys_pages(db: Any, function_client: Any) -> None:
    """A refused redemption posted from an allowed page (found by ``?key=``) carries the
    CORS headers, so the page can say why; another origin is refused (403) without them."""
    seed_company(db)
    seed_code(db, "PAST-CCCC-22", expires_at=datetime.now(UTC) - timedelta(minutes=1))
    client = function_client("redeem_referral")
    body = {"code": "PAST-CCCC-22", "email": "pat@example.com"}

    def refused(origin: str) -> tuple[int, str | None]:
        res = client.post(f"/?key={KEY}", json=body, headers={"Origin": origin})
        return res.status_code, res.headers.get("Access-Control-Allow-Origin")

    assert [(409, SITE), (403, None)] == [refused(SITE), refused("https://evil.example")]


def test_existing_customer_is_not_referable(db: Any, function_client: Any) -> None:
    """A converted lead redeeming a code is refused, and no marker is left behind."""
    seed_company(db)
    seed_code(db, "GDGD-AAAA-22")
    seed_lead(db, "client@example.com", status="converted")
    res = redeem(function_client("redeem_referral"), "client@example.com", "GDGD-AAAA-22")
    assert (409, "existing_customer") == (
        res.status_code,
        res.get_json()["error"]["details"]["reason"],
    )
    assert not db.document(marker_path("acme", "client@example.com")).get().exists


def test_redemption_takes_three_round_trips(
    db: Any, function_client: Any, firestore_server: Any, project_id: str
) -> None:
    """BeginTransaction, one batched read, one commit: nothing is queried."""
    seed_company(db)
    seed_code(db, "GDGD-AAAA-22")
    client = function_client("redeem_referral")
    database = f"projects/{project_id}/databases/(default)"
    before = firestore_server.counters.for_database(database)
    assert 201 == redeem(client, "new@example.com", "GDGD-AAAA-22").status_code
    after = firestore_server.counters.for_database(database)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert {"BeginTransaction": 1, "BatchGetDocuments": 1, "Commit": 1} == {
        k: v for k, v in delta.items() if v
    }


def test_staff_permissions(db: Any, function_client: Any, staff_auth: Any) -> None:
    """Other companies get 403, users may list but not create or expire, no token is 401."""
    seed_company(db)
    seed_code(db, "GDGD-AAAA-22")
    client = function_client("referral_codes")
    other = staff_auth("beta", "admin")
    assert 403 == client.get("/?company_id=acme", headers=other).status_code
    create = {"company_id": "acme", "referrer_email": REFERRER}
    assert 403 == client.post("/", json=create, headers=other).status_code
    expire = {"company_id": "acme", "action": "expire", "code": "GDGD-AAAA-22"}
    assert 403 == client.post("/", json=expire, headers=other).status_code
    user = staff_auth("acme", "user")
    assert 200 == client.get("/", headers=user).status_code
    assert 403 == client.post("/", json=expire, headers=user).status_code
    assert 401 == client.get("/").status_code
    res = client.post("/", json=expire, headers=staff_auth("acme", "admin"))
    assert (200, "expired") == (res.status_code, code_doc(db, "GDGD-AAAA-22")["status"])


def test_periodic_expiry_is_idempotent(
    db: Any, function_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only active codes past due flip to expired, in every company (a task each); a rerun
    schedules nothing."""
    queue = memory_queue(monkeypatch)
    seed_company(db)
    past = datetime.now(UTC) - timedelta(hours=1)
    seed_code(db, "PAST-AAAA-22", expires_at=past)
    seed_code(db, "PAST-BBBB-22", company_id="beta", expires_at=past)
    seed_code(db, "USED-AAAA-22", status="used", expires_at=past)
    seed_code(db, "KEEP-AAAA-22")
    client = function_client("expire_referrals")
    headers = {
        "X-CloudScheduler-JobName": "growthkit-expire-referrals",
        "X-CloudScheduler-ScheduleTime": datetime.now(UTC).isoformat(),
    }
    first = client.post("/", headers=headers)
    assert (200, 2) == (first.status_code, first.get_json()["scheduled"])
    drain(function_client, queue)
    states = [
        code_doc(db, "PAST-AAAA-22")["status"],
        code_doc(db, "PAST-BBBB-22", "beta")["status"],
        code_doc(db, "USED-AAAA-22")["status"],
        code_doc(db, "KEEP-AAAA-22")["status"],
    ]
    assert ["expired", "expired", "used", "active"] == states
    updated = code_doc(db, "PAST-AAAA-22")["updated_at"]
    later = {**headers, "X-CloudScheduler-ScheduleTime": datetime.now(UTC).isoformat()}
    assert 0 == client.post("/", headers=later).get_json()["scheduled"]
    assert updated == code_doc(db, "PAST-AAAA-22")["updated_at"]


def test_a_redemption_fills_blanks_of_a_known_lead_and_keeps_what_it_sent(
    db: Any, function_client: Any
) -> None:
    """A redemption for an existing lead's address is anyone's post: the lead keeps its
    name and phone, gets the blank filled, and the redemption's interaction keeps what
    was sent."""
    seed_company(db)
    seed_code(db, "KEEP-AAAA-22")
    lead_id = seed_lead(db, "bob@example.com", name="Bob", status="new")
    body = {"form_key": KEY, "code": "KEEP-AAAA-22", "email": "bob@example.com"}
    body |= {"name": "Robert", "phone": "+15550100"}
    assert 200 == function_client("redeem_referral").post("/", json=body).status_code
    lead = db.document(f"companies/acme/leads/{lead_id}").get().to_dict()
    assert ("Bob", "+15550100") == (lead["name"], lead["phone"])
    (interaction,) = docs(db, f"companies/acme/leads/{lead_id}/interactions").values()
    assert {"name": "Robert", "phone": "+15550100"} == interaction["metadata"]["submitted"]
