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


def test_inviting_another_companys_staff_tells_nothing_of_them(
    db: Any, users: Any, staff_auth: Any, auth_emulator: Any, project_id: str
) -> None:
    """An e-mail already staff of globex is answered as an address someone merely signed
    up with (201, pending, the same fields): no 409 that would tell acme's admin who is
    globex's staff; globex's claims stay."""
    seed_company(db, "acme")
    seed_company(db, "globex")
    kim = users.post(
        "/companies/globex/users",
        json={"email": "kim@example.com"},
        headers=staff_auth("globex", "admin"),
    ).get_json()["id"]
    Browser(auth_emulator, project_id).sign_up("lou@example.com", "lous-password")
    admin = staff_auth("acme", "admin")
    answers = [
        users.post(USERS, json={"email": e}, headers=admin)
        for e in ("kim@example.com", "lou@example.com")
    ]
    shapes = [(a.status_code, a.get_json()["status"], sorted(a.get_json())) for a in answers]
    assert [(201, "pending", sorted(answers[1].get_json()))] * 2 == shapes
    assert {"company_id": "globex", "role": "user"} == auth_record(
        auth_emulator, project_id, kim
    ).custom_claims


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


class Browser:
    """What a person does in the browser against the Auth stand-in, through the Identity
    Toolkit calls the web SDK makes with the API key (the stand-in's is the project id)."""

    def __init__(self, auth_server: Any, project_id: str) -> None:
        self.base = f"http://{auth_server.address}/identitytoolkit.googleapis.com/v1"
        self.key = project_id

    def call(self, name: str, **body: Any) -> dict[str, Any]:
        import requests

        answer = requests.post(f"{self.base}/accounts:{name}?key={self.key}", json=body, timeout=10)
        return dict(answer.json())

    def sign_up(self, email: str, password: str) -> str:
        return str(self.call("signUp", email=email, password=password)["idToken"])

    def sign_in(self, email: str, password: str) -> str | None:
        return self.call("signInWithPassword", email=email, password=password).get("idToken")

    def follow(self, link: str, password: str | None = None) -> dict[str, Any]:
        """Open an action link: set a new password with a reset link, or confirm the
        address with a verification link."""
        from urllib.parse import parse_qs, urlsplit

        query = parse_qs(urlsplit(link).query)
        code = query["oobCode"][0]
        if query["mode"] == ["resetPassword"]:
            return self.call("resetPassword", oobCode=code, newPassword=password)
        return self.call("update", oobCode=code)


def bearer(token: str | None) -> dict[str, str]:
    assert token is not None
    return {"Authorization": f"Bearer {token}"}


def link_in(mail: dict[str, Any]) -> str:
    return next(w for w in str(mail["body"]).split() if "oobCode=" in w)


@pytest.fixture
def stand_in_tokens(
    db: Any, auth_emulator: Any, project_id: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Every token from the stand-in, checked against its certificates with revocation
    checked, as ``make serve`` and production run; returns an acme admin's headers."""
    monkeypatch.setenv("GROWTHKIT_ID_TOKEN_CERT_URL", auth_emulator.cert_url)
    monkeypatch.setenv("GROWTHKIT_CHECK_REVOKED_TOKENS", "true")
    bootstrap.reset()
    seed_company(db, "acme")
    claims = json.dumps({"company_id": "acme", "role": "admin"})
    account = {"localId": "a1", "email": "boss@acme.example", "customAttributes": claims}
    auth_emulator.accounts.create(project_id, account | {"emailVerified": True})
    return bearer(auth_emulator.id_token(project_id, "a1"))


def test_an_address_someone_registered_first_gets_no_claims_from_an_invitation(
    db: Any, users: Any, auth_emulator: Any, project_id: str, stand_in_tokens: dict[str, str]
) -> None:
    """A squatter signs up with vic's address before acme invites vic as admin. The invite
    puts no claims on that account (it waits, pending); the squatter's session is refused,
    even once the address is verified (tricking vic into clicking a verification link),
    as long as the password is the squatter's. Vic sets a password through the
    invitation's link, which locks the squatter out, signs in with the verified address
    and only then gets acme's claims."""
    browser, admin = Browser(auth_emulator, project_id), stand_in_tokens
    squatter = browser.sign_up("vic@acme.example", "squatter-pw")
    invited = users.post(USERS, json={"email": "Vic@acme.example", "role": "admin"}, headers=admin)
    uid = invited.get_json()["id"]
    assert not auth_record(auth_emulator, project_id, uid).custom_claims
    assert (201, "pending") == (invited.status_code, invited.get_json()["status"])
    assert 403 == users.post(f"{USERS}/me/session", headers=bearer(squatter)).status_code
    client = _client(project_id, auth_emulator.address, False)
    assert browser.follow(client.generate_email_verification_link("vic@acme.example"))
    verified = browser.sign_in("vic@acme.example", "squatter-pw")
    refused = users.post(f"{USERS}/me/session", headers=bearer(verified))
    assert (403, None) == (
        refused.status_code,
        auth_record(auth_emulator, project_id, uid).custom_claims,
    )
    (invitation,) = docs(db, "outbox").values()
    time.sleep(1.1)  # validSince has a one-second grain: the new password is a later second
    assert "PASSWORD_RESET" == browser.follow(link_in(invitation), "vics-own-pw")["requestType"]
    assert browser.sign_in("vic@acme.example", "squatter-pw") is None
    assert 401 == users.post(f"{USERS}/me/session", headers=bearer(verified)).status_code
    session = users.post(
        f"{USERS}/me/session", headers=bearer(browser.sign_in("vic@acme.example", "vics-own-pw"))
    )
    assert (200, "active") == (session.status_code, session.get_json()["status"])
    claims = auth_record(auth_emulator, project_id, uid).custom_claims
    assert {"company_id": "acme", "role": "admin"} == claims


def two_admins(db: Any, auth_emulator: Any, project_id: str) -> dict[str, dict[str, str]]:
    """Acme with admins a1 and a2 (profiles and Auth accounts); their headers by uid."""
    seed_company(db, "acme")
    claims = json.dumps({"company_id": "acme", "role": "admin"})
    headers = {}
    for uid in ("a1", "a2"):
        account = {"localId": uid, "email": f"{uid}@acme.example", "customAttributes": claims}
        auth_emulator.accounts.create(project_id, account)
        profile = {"id": uid, "company_id": "acme", "email": f"{uid}@acme.example"}
        db.document(f"companies/acme/users/{uid}").set(
            profile | {"role": "admin", "status": "active"}
        )
        headers[uid] = bearer(auth_emulator.id_token(project_id, uid))
    return headers


def race(function_client: Any, calls: list[tuple[str, str, dict[str, str], Any]]) -> list[int]:
    """The calls at once, each from its own client and thread; their statuses in order."""
    import threading

    barrier, statuses = threading.Barrier(len(calls)), [0] * len(calls)

    def call(i: int, method: str, path: str, headers: dict[str, str], body: Any) -> None:
        client = function_client("company_users")
        barrier.wait()
        statuses[i] = client.open(path, method=method, json=body, headers=headers).status_code

    threads = [threading.Thread(target=call, args=(i, *c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.parametrize(
    ("method", "body"), [("PATCH", {"role": "manager"}), ("DELETE", None)], ids=["demote", "remove"]
)
def test_two_admins_taking_each_other_away_at_once_leave_one_admin(
    db: Any,
    function_client: Any,
    auth_emulator: Any,
    project_id: str,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    body: Any,
) -> None:
    """a1 demotes (or removes) a2 while a2 does the same to a1: one succeeds, the other
    is refused (409: the last admin), and one admin remains, in profile and claims."""
    monkeypatch.setenv("GROWTHKIT_ID_TOKEN_CERT_URL", auth_emulator.cert_url)
    bootstrap.reset()
    headers = two_admins(db, auth_emulator, project_id)
    calls = [
        (method, f"{USERS}/a2", headers["a1"], body),
        (method, f"{USERS}/a1", headers["a2"], body),
    ]
    assert [200 if body else 204, 409] == sorted(race(function_client, calls))
    admins = [
        uid
        for uid in ("a1", "a2")
        if (db.document(f"companies/acme/users/{uid}").get().to_dict() or {}).get("role") == "admin"
        and (auth_record(auth_emulator, project_id, uid).custom_claims or {}).get("role") == "admin"
    ]
    assert 1 == len(admins), admins


def test_the_last_admin_guard_holds_while_the_other_transaction_is_open(
    db: Any, functions_env: None
) -> None:
    """Two demotions through the real client, the second begun while the first, its
    admins read, has not committed yet: the first demotes, the second then reads one
    admin and is refused. The guard rests on the transaction, not on the timing."""
    import threading
    import time

    from shared import bootstrap
    from shared.errors import Refused
    from shared.services import users

    seed_company(db, "acme")
    for uid in ("a1", "a2"):
        db.document(f"companies/acme/users/{uid}").set({"id": uid, "role": "admin"})
    store, first_has_read, outcomes = bootstrap.document_store(), threading.Event(), {}

    def demote(uid: str, first: bool) -> None:
        def attempt(tx: Any) -> Any:
            users._refuse_last_admin(tx, "acme", uid)  # the guard's reads
            if first and not first_has_read.is_set():
                first_has_read.set()
                time.sleep(0.5)  # still open while the second one starts
            return users._update_profile(tx, "acme", uid, {"role": "manager"})

        if not first:
            first_has_read.wait(timeout=10)
        try:
            store.run_transaction(attempt)
            outcomes[uid] = "demoted"
        except Refused:
            outcomes[uid] = "refused"

    threads = [threading.Thread(target=demote, args=a) for a in (("a2", True), ("a1", False))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    roles = {u: db.document(f"companies/acme/users/{u}").get().get("role") for u in ("a1", "a2")}
    assert ({"a2": "demoted", "a1": "refused"}, {"a1": "admin", "a2": "manager"}) == (
        outcomes,
        roles,
    )
