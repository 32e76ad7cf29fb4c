"""Staff accounts through ``company_users``: firebase-admin against the local Auth stand-in
for user management, while ID tokens are still verified for real."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from shared import bootstrap
from shared.adapters.user_admin import _client
from tests.support import docs, seed_company

USERS = "/companies/acme/users"


@pytest.fixture
def users(function_client: Any, auth_emulator: Any) -> Any:
    return function_client("company_users")


def auth_record(auth_server: Any, project_id: str, uid: str) -> Any:
    """The account as firebase-admin reads it back from the stand-in."""
    return _client(project_id, auth_server.address, False).get_user(uid)


def test_invite_sets_claims_and_a_profile(
    db: Any, users: Any, staff_auth: Any, auth_emulator: Any, project_id: str
) -> None:
    """An admin's invite creates the Auth account with company_id and role claims (read
    back through firebase-admin), the profile and one e-mail with a sign-in link; inviting
    again changes nothing."""
    seed_company(db, "acme")
    admin = staff_auth("acme", "admin", uid="a1")
    body = {
        "email": "Sam@Acme.example",
        "name": "Sam",
        "role": "manager",
        "timezone": "Europe/Paris",
    }
    first = users.post(USERS, json=body, headers=admin)
    again = users.post(USERS, json=body | {"role": "user"}, headers=admin)
    uid = first.get_json()["id"]
    record = auth_record(auth_emulator, project_id, uid)
    profile = db.document(f"companies/acme/users/{uid}").get().to_dict()
    assert (201, 200, uid) == (first.status_code, again.status_code, again.get_json()["id"])
    assert {"company_id": "acme", "role": "manager"} == record.custom_claims
    assert ("sam@acme.example", "Sam") == (record.email, record.display_name)
    mail = docs(db, "outbox")
    (invitation,) = mail.values()
    assert ("sam@acme.example", 1) == (
        invitation["to"],
        invitation["body"].count(auth_emulator.address),
    )
    expected = ("manager", "Europe/Paris", "invited", "a1")
    assert expected == (
        profile["role"],
        profile["timezone"],
        profile["status"],
        profile["created_by"],
    )


def test_staff_of_another_company_cannot_be_invited(db: Any, users: Any, staff_auth: Any) -> None:
    """An e-mail already staff of globex is refused with 409, and its claims stay."""
    seed_company(db, "acme")
    seed_company(db, "globex")
    email = {"email": "kim@example.com"}
    users.post("/companies/globex/users", json=email, headers=staff_auth("globex", "admin"))
    answer = users.post(USERS, json=email, headers=staff_auth("acme", "admin"))
    assert 409 == answer.status_code


def test_role_changes_reach_the_claims(
    db: Any, users: Any, staff_auth: Any, auth_emulator: Any, project_id: str
) -> None:
    """An admin promotes a user (claims follow); the user may edit their own profile but
    not their role; an admin may not change their own role."""
    seed_company(db, "acme")
    admin = staff_auth("acme", "admin", uid="a1")
    uid = users.post(USERS, json={"email": "lee@acme.example"}, headers=admin).get_json()["id"]
    promoted = users.patch(f"{USERS}/{uid}", json={"role": "manager"}, headers=admin)
    lee = staff_auth("acme", "manager", uid=uid)
    own = users.patch(f"{USERS}/me", json={"timezone": "Asia/Tokyo"}, headers=lee)
    self_promotion = users.patch(f"{USERS}/me", json={"role": "admin"}, headers=lee)
    bad_zone = users.patch(f"{USERS}/me", json={"timezone": "Mars/Olympus"}, headers=lee)
    db.document("companies/acme/users/a1").set(
        {"id": "a1", "company_id": "acme", "email": "a@x.example"}
    )
    admin_self = users.patch(f"{USERS}/a1", json={"role": "user"}, headers=admin)
    statuses = [r.status_code for r in (promoted, own, self_promotion, bad_zone, admin_self)]
    assert [200, 200, 403, 400, 409] == statuses
    assert "manager" == auth_record(auth_emulator, project_id, uid).custom_claims["role"]
    assert "Asia/Tokyo" == db.document(f"companies/acme/users/{uid}").get().get("timezone")


def test_removal_takes_the_claims_away(
    db: Any, users: Any, staff_auth: Any, auth_emulator: Any, project_id: str
) -> None:
    """DELETE drops the company claims (other claims stay) and the profile."""
    seed_company(db, "acme")
    admin = staff_auth("acme", "admin", uid="a1")
    uid = users.post(USERS, json={"email": "ex@acme.example"}, headers=admin).get_json()["id"]
    client = _client(project_id, auth_emulator.address, False)
    client.set_custom_user_claims(uid, {"company_id": "acme", "role": "user", "beta": True})
    removed = users.delete(f"{USERS}/{uid}", headers=admin)
    assert (204, {"beta": True}) == (removed.status_code, client.get_user(uid).custom_claims)
    assert not db.document(f"companies/acme/users/{uid}").get().exists


def test_an_invited_user_signs_in_with_a_token_from_the_stand_in(
    db: Any, users: Any, staff_auth: Any, auth_emulator: Any, project_id: str, monkeypatch: Any
) -> None:
    """The stand-in's ID token (signed, carrying the invite's claims) is verified by the
    functions against the stand-in's certificates, as ``make serve`` wires them; the
    sign-in is then recorded on the profile."""
    seed_company(db, "acme")
    uid = users.post(
        USERS, json={"email": "new@acme.example"}, headers=staff_auth("acme", "admin")
    ).get_json()["id"]
    monkeypatch.setenv("GROWTHKIT_ID_TOKEN_CERT_URL", auth_emulator.cert_url)
    bootstrap.reset()  # settings are read once per instance
    token = {"Authorization": f"Bearer {auth_emulator.id_token(project_id, uid)}"}
    session = users.post(f"{USERS}/me/session", headers=token)
    assert (200, "active") == (session.status_code, session.get_json()["status"])
    assert session.get_json()["last_login_at"] is not None


def test_unsigned_tokens_are_refused_with_the_stand_in_running(
    db: Any, users: Any, function_client: Any, staff_auth: Any, auth_emulator: Any, project_id: str
) -> None:
    """With user management on the stand-in, an unsigned token with admin claims (what
    Firebase's emulator would issue) is still a 401 for both functions."""
    seed_company(db, "acme")
    staff_auth("acme")  # real verification against the test certificates

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {"iss": f"https://securetoken.google.com/{project_id}", "aud": project_id,
              "sub": "a1", "iat": 1, "exp": 4102444800, "auth_time": 1,
              "company_id": "acme", "role": "admin"}  # fmt: skip
    unsigned = {"Authorization": f"Bearer {part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."}
    answers = (
        users.get(USERS, headers=unsigned).status_code,
        users.post(USERS, json={"email": "x@acme.example"}, headers=unsigned).status_code,
        function_client("staff_api").get("/companies/acme/leads", headers=unsigned).status_code,
    )
    assert (401, 401, 401) == answers


def test_removed_or_demoted_members_tokens_stop_working_at_once(
    db: Any,
    users: Any,
    function_client: Any,
    staff_auth: Any,
    auth_emulator: Any,
    project_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With revocation checked (production, ``make serve``): a manager's ID token works
    until an admin demotes them (401 at once, not in an hour); signed in again, the new
    token carries the new role; removed, that one is refused too. Each refusal says why."""
    monkeypatch.setenv("GROWTHKIT_CHECK_REVOKED_TOKENS", "true")
    bootstrap.reset()  # settings are read once per instance
    seed_company(db, "acme")
    # Callers are looked up now: the admin's token needs an account too.
    _client(project_id, auth_emulator.address, False).create_user(uid="a1")
    admin = staff_auth("acme", "admin", uid="a1")
    body = {"email": "pat@acme.example", "role": "manager"}
    uid = users.post(USERS, json=body, headers=admin).get_json()["id"]
    leads = function_client("staff_api")
    manager = staff_auth("acme", "manager", uid=uid)  # issued before the changes below
    assert 200 == leads.get("/companies/acme/leads", headers=manager).status_code
    assert 200 == users.patch(f"{USERS}/{uid}", json={"role": "user"}, headers=admin).status_code
    demoted = leads.get("/companies/acme/leads", headers=manager)
    assert (401, True) == (
        demoted.status_code,
        "revoked" in demoted.get_json()["error"]["message"],
    )
    time.sleep(1.1)  # revocation has a one-second grain: a new sign-in is a later second
    again = staff_auth("acme", "user", uid=uid, iat=int(time.time()))
    assert 200 == leads.get("/companies/acme/leads", headers=again).status_code
    time.sleep(1.1)  # the removal comes in a later second than that sign-in
    assert 204 == users.delete(f"{USERS}/{uid}", headers=admin).status_code
    assert 401 == leads.get("/companies/acme/leads", headers=again).status_code
    stranger = staff_auth("acme", "admin", uid="nobody")
    gone = users.get(USERS, headers=stranger)
    assert (401, True) == (
        gone.status_code,
        "no longer exists" in gone.get_json()["error"]["message"],
    )
