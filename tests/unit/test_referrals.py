"""Referral rules and services, against in-memory fakes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shared.domain.identity import Role, StaffIdentity
from shared.domain.leads import lead_id_for
from shared.domain.referrals import (
    ATTEMPTS_PER_IP_PER_HOUR,
    CODE_ALPHABET,
    RedemptionRequest,
    ReferralCreate,
    ReferralStatus,
    marker_path,
    new_code,
    normalize_code,
    redemption_from_form,
)
from shared.errors import InvalidInput, NotFound, PermissionDenied, RateLimited, Refused
from shared.services.referral_codes import (
    create_referral,
    expire_referral,
    list_referrals,
)
from shared.services.referrals import redeem_referral
from tests.fakes import FakeClock, FakeStore, FakeTaskQueue
from tests.periodic_runs import run_periodic
from tests.support import lead_doc

KEY = "acme.secret"
ORIGIN = "https://acme.example"
CODE = "ABCD-EFGH-JK"
REFERRER = "jane.doe@gmail.com"
MANAGER = StaffIdentity("u1", "acme", Role.MANAGER)


def put(store: FakeStore, path: str, data: dict[str, Any]) -> None:
    store.docs[path] = (data, FakeClock().now())


def seed_referral(store: FakeStore, code: str = CODE, **fields: Any) -> None:
    data = {
        "code": code,
        "company_id": "acme",
        "status": "active",
        "referrer_lead_id": lead_id_for(REFERRER),
        "referrer_email": REFERRER,
        "offer_details": "10% off",
        "expires_at": FakeClock().now() + timedelta(days=30),
        "max_uses": 3,
        "times_used": 0,
        "referred_leads": [],
        "created_at": FakeClock().now(),
        **fields,
    }
    put(store, f"companies/acme/referrals/{code}", data)


def seed_lead(store: FakeStore, email: str, **fields: Any) -> None:
    put(store, *lead_doc(email, **fields))


@pytest.fixture
def store() -> FakeStore:
    s = FakeStore()
    company = {"name": "Acme", "public_form_key": KEY, "allowed_origins": [ORIGIN]}
    put(s, "companies/acme", company)
    seed_lead(s, REFERRER, status="converted", assigned_to="u2")
    seed_referral(s)
    return s


def redeem(
    store: FakeStore, email: str, code: str = CODE, ip: str = "1.2.3.4", **fields: Any
) -> Any:
    body = {"form_key": KEY, "code": code, "email": email, "name": "Friend", **fields}
    req = RedemptionRequest.model_validate(redemption_from_form(body, None))
    return redeem_referral(store, FakeClock(), req, ip, ORIGIN)


def doc(store: FakeStore, path: str) -> dict[str, Any]:
    return store.docs[path][0]


def reason(excinfo: pytest.ExceptionInfo[Refused]) -> str:
    return str(excinfo.value.details["reason"])


def test_codes_are_grouped_unambiguous_and_normalised() -> None:
    """Codes avoid 0/O/1/I/L, read as XXXX-XXXX-XX, and typing variants normalise."""
    code = new_code()
    assert [4, 4, 2] == [len(part) for part in code.split("-")]
    assert set() == set(code.replace("-", "")) - set(CODE_ALPHABET)
    assert not set("0O1IL") & set(CODE_ALPHABET)
    assert CODE == normalize_code(" abcd efgh-jk ")
    for bad in ("ABCD-EFGH-J0", "ABCD-EFGH-J", "ABCD-EFGH-JKL"):
        with pytest.raises(ValueError):
            normalize_code(bad)


def test_redemption_creates_referred_lead_and_counts_the_use(store: FakeStore) -> None:
    """A friend's redemption makes a referral lead, an interaction, a marker and one use."""
    result = redeem(store, "Friend@Example.com", code="abcd-efgh-jk", consent="on")
    lead_id = lead_id_for("friend@example.com")
    lead = doc(store, f"companies/acme/leads/{lead_id}")
    assert (True, lead_id, "10% off") == (result.created, result.lead_id, result.offer_details)
    assert ("referral", lead_id_for(REFERRER), CODE) == (
        lead["source"],
        lead["referred_by"],
        lead["referral_code"],
    )
    assert True is lead["consent"]["given"]
    code = doc(store, f"companies/acme/referrals/{CODE}")
    assert (1, [lead_id], "active") == (code["times_used"], code["referred_leads"], code["status"])
    assert lead_id == doc(store, marker_path("acme", "friend@example.com"))["lead_id"]
    assert 1 == len([p for p in store.docs if p.startswith(f"companies/acme/leads/{lead_id}/")])


def test_code_is_used_up_at_max_uses(store: FakeStore) -> None:
    """The third use flips the code to used; a fourth friend is refused."""
    for i in range(3):
        redeem(store, f"f{i}@example.com")
    assert "used" == doc(store, f"companies/acme/referrals/{CODE}")["status"]
    with pytest.raises(Refused) as excinfo:
        redeem(store, "f4@example.com")
    assert "used_up" == reason(excinfo)


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("J.ane.Doe+friends@googlemail.com", "self_referral"),
        ("JANE.DOE@gmail.com", "self_referral"),
    ],
)
def test_self_referral_is_refused_whatever_the_address_variant(
    store: FakeStore, email: str, expected: str
) -> None:
    """Gmail dots, +tags, case and googlemail.com all name the referrer."""
    with pytest.raises(Refused) as excinfo:
        redeem(store, email)
    assert expected == reason(excinfo)
    assert 0 == doc(store, f"companies/acme/referrals/{CODE}")["times_used"]


def test_a_friend_is_referred_only_once_per_company(store: FakeStore) -> None:
    """A second code cannot refer the same person, even under a +tag variant."""
    seed_referral(store, "WXYZ-2345-67")
    redeem(store, "bob@example.com")
    with pytest.raises(Refused) as excinfo:
        redeem(store, "Bob+again@example.com", code="WXYZ-2345-67")
    assert "already_referred" == reason(excinfo)


def test_existing_customers_are_not_referable(store: FakeStore) -> None:
    """A lead already converted cannot be counted as a referral."""
    seed_lead(store, "client@example.com", status="converted")
    with pytest.raises(Refused) as excinfo:
        redeem(store, "client@example.com")
    assert "existing_customer" == reason(excinfo)


def test_an_open_lead_is_updated_and_keeps_its_source(store: FakeStore) -> None:
    """An existing, unconverted lead is merged: its first source stays, referred_by is set."""
    seed_lead(store, "prospect@example.com", source="web_form", submission_count=1)
    result = redeem(store, "prospect@example.com", phone="555")
    lead = doc(store, f"companies/acme/leads/{lead_id_for('prospect@example.com')}")
    assert (False, "web_form", "555", 2) == (
        result.created,
        lead["source"],
        lead["phone"],
        lead["submission_count"],
    )
    assert lead_id_for(REFERRER) == lead["referred_by"]


@pytest.mark.parametrize(
    "fields",
    [{"status": "expired"}, {"expires_at": FakeClock().now() - timedelta(seconds=1)}],
)
def test_expired_codes_are_refused(store: FakeStore, fields: dict[str, Any]) -> None:
    """A code marked expired, or past its expiry but not yet swept, is refused."""
    seed_referral(store, **fields)
    with pytest.raises(Refused) as excinfo:
        redeem(store, "late@example.com")
    assert "expired" == reason(excinfo)


def test_refused_attempts_count_towards_the_ip_limit(store: FakeStore) -> None:
    """Guessing codes: unknown codes are 404s, counted per IP, until the limit refuses all."""
    for _ in range(ATTEMPTS_PER_IP_PER_HOUR):
        with pytest.raises(NotFound):
            redeem(store, "guesser@example.com", code="ZZZZ-ZZZZ-ZZ")
    with pytest.raises(RateLimited):
        redeem(store, "guesser@example.com")
    other_ip = redeem(store, "guesser@example.com", ip="5.6.7.8")
    assert lead_id_for("guesser@example.com") == other_ip.lead_id


def test_wrong_form_key_and_foreign_origin(store: FakeStore) -> None:
    """A key of no company is a 404; other sites may not post."""
    with pytest.raises(NotFound):
        redeem(store, "a@example.com", form_key="acme.wrong")
    req = RedemptionRequest.model_validate(
        {"form_key": KEY, "code": CODE, "email": "a@example.com"}
    )
    with pytest.raises(PermissionDenied):
        redeem_referral(store, FakeClock(), req, "1.2.3.4", "https://evil.example")


def test_malformed_code_is_a_validation_error() -> None:
    """A code with letters outside the alphabet never reaches the store."""
    with pytest.raises(ValidationError):
        RedemptionRequest.model_validate({"form_key": KEY, "code": "OOPS", "email": "a@b.co"})


def codes(*values: str) -> Iterator[str]:
    yield from values


def test_create_retries_on_collision_and_copies_the_referrer(store: FakeStore) -> None:
    """A drawn code that exists is never overwritten: another one is drawn."""
    drawn = codes(CODE, "WXYZ-2345-67")
    req = ReferralCreate(referrer_email="Jane.Doe@gmail.com", offer_details="A free check")
    created = create_referral(store, FakeClock(), MANAGER, req, lambda: next(drawn))
    stored = doc(store, "companies/acme/referrals/WXYZ-2345-67")
    assert ("WXYZ-2345-67", REFERRER, lead_id_for(REFERRER)) == (
        created.code,
        stored["referrer_email"],
        stored["referrer_lead_id"],
    )
    assert "10% off" == doc(store, f"companies/acme/referrals/{CODE}")["offer_details"]


def test_create_is_refused_for_users_other_companies_and_bad_input(store: FakeStore) -> None:
    """Managers create codes for their own company, for known leads, expiring later."""
    req = ReferralCreate(company_id="acme", referrer_lead_id=lead_id_for(REFERRER))
    with pytest.raises(PermissionDenied):
        create_referral(store, FakeClock(), StaffIdentity("u2", "acme", Role.USER), req)
    with pytest.raises(PermissionDenied):
        create_referral(store, FakeClock(), StaffIdentity("u3", "other", Role.ADMIN), req)
    past = ReferralCreate(referrer_email=REFERRER, expires_at=FakeClock().now())
    with pytest.raises(InvalidInput):
        create_referral(store, FakeClock(), MANAGER, past)
    with pytest.raises(NotFound):
        create_referral(store, FakeClock(), MANAGER, ReferralCreate(referrer_email="x@y.co"))
    with pytest.raises(ValidationError):
        ReferralCreate(offer_details="nobody refers")


def test_list_by_status_and_expire(store: FakeStore) -> None:
    """Users may list; managers expire a code, and expiring it again changes nothing."""
    seed_referral(store, "WXYZ-2345-67", status="used")
    user = StaffIdentity("u2", "acme", Role.USER)
    assert [CODE] == [r.code for r in list_referrals(store, user, "acme", ReferralStatus.ACTIVE)]
    assert 2 == len(list_referrals(store, user, "acme", None))
    with pytest.raises(PermissionDenied):
        expire_referral(store, FakeClock(), user, "acme", CODE)
    assert "expired" == expire_referral(store, FakeClock(), MANAGER, "acme", CODE).status
    written_at = store.docs[f"companies/acme/referrals/{CODE}"][1]
    assert "expired" == expire_referral(store, FakeClock(), MANAGER, "acme", CODE).status
    assert written_at == store.docs[f"companies/acme/referrals/{CODE}"][1]
    with pytest.raises(NotFound):
        expire_referral(store, FakeClock(), MANAGER, "acme", "ZZZZ-ZZZZ-ZZ")


def test_periodic_expiry_flips_only_past_due_active_codes(store: FakeStore) -> None:
    """Across companies and pages, only active codes past expires_at expire; twice is once."""
    clock = FakeClock()
    past = clock.now() - timedelta(minutes=1)
    for i in range(5):
        seed_referral(store, f"PAST-{i + 2}AAA-AA", expires_at=past)
    put(store, "companies/beta/referrals/BETA-AAAA-AA", {"status": "active", "expires_at": past})
    seed_referral(store, "USED-AAAA-AA", status="used", expires_at=past)
    seed_referral(store, "NEXP-AAAA-AA", expires_at=None)
    answers = run_periodic(store, FakeTaskQueue(), "expire_referrals", clock.now())
    expired = [a["result"]["result"] for a in answers if "result" in a and a["result"]]
    assert (2, 6) == (answers[0]["scheduled"], sum(expired))
    statuses = {p.rsplit("/", 1)[1]: d.get("status") for p, (d, _) in store.docs.items()}
    assert {"expired"} == {v for k, v in statuses.items() if k.startswith(("PAST", "BETA"))}
    assert ("used", "active", "active") == (
        statuses["USED-AAAA-AA"],
        statuses["NEXP-AAAA-AA"],
        statuses[CODE],
    )
    later = clock.now() + timedelta(hours=1)
    assert 0 == run_periodic(store, FakeTaskQueue(), "expire_referrals", later)[0]["scheduled"]
