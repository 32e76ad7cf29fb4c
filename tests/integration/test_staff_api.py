"""The staff REST API through functions-framework, the local Firestore and real ID tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.domain.leads import lead_id_for
from tests.support import seed_company, seed_lead

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
LEADS = "/companies/acme/leads"


@pytest.fixture
def api(function_client: Any) -> Any:
    return function_client("staff_api")


def seed_listed_lead(db: Any, email: str, company_id: str = "acme", **fields: Any) -> str:
    """A lead as intake stores it, with what staff_api lists and sorts by; its id."""
    listed = {"status": "new", "score": 0, "assigned_to": None, "created_at": T0}
    return seed_lead(db, email, company_id, **(listed | {"updated_at": T0} | fields))


def seed_user(db: Any, uid: str, role: str, company_id: str = "acme") -> None:
    data = {"id": uid, "company_id": company_id, "email": f"{uid}@acme.example", "role": role}
    db.document(f"companies/{company_id}/users/{uid}").set(data | {"created_at": T0})


def test_every_resource_of_another_company_is_refused(
    db: Any, api: Any, function_client: Any, staff_auth: Any
) -> None:
    """An admin of acme gets 403 for each of globex's resources, whatever the method."""
    seed_company(db, "acme")
    seed_company(db, "globex")
    lead = seed_listed_lead(db, "x@globex.example", "globex")
    admin = staff_auth("acme", "admin", uid="a1")
    base = "/companies/globex"
    calls = [("GET", base), ("PATCH", base)]
    for resource in ("leads", "content", "campaigns", "reviews", "referrals"):
        calls += [("GET", f"{base}/{resource}"), ("GET", f"{base}/{resource}/some-id")]
        calls += [("POST", f"{base}/{resource}"), ("PATCH", f"{base}/{resource}/some-id")]
    for sub in ("notes", "interactions", "assignments"):
        calls += [("GET", f"{base}/leads/{lead}/{sub}"), ("POST", f"{base}/leads/{lead}/{sub}")]
    calls += [("DELETE", f"{base}/leads/{lead}")]
    statuses = {
        (m, p): api.open(p, method=m, json={"name": "x"}, headers=admin).status_code
        for m, p in calls
    }
    users = function_client("company_users")
    for m, p in [("GET", f"{base}/users"), ("POST", f"{base}/users"), ("GET", f"{base}/users/u")]:
        statuses[(m, p)] = users.open(p, method=m, json={}, headers=admin).status_code
    assert dict.fromkeys(statuses, 403) == statuses
    assert db.document(f"companies/globex/leads/{lead}").get().exists


def test_role_matrix(
    db: Any, api: Any, function_client: Any, staff_auth: Any, auth_emulator: Any
) -> None:
    """Users read and write only their own leads; managers all leads; admins also the
    company's settings and its staff."""
    seed_company(db, "acme")
    own, other = (
        seed_listed_lead(db, "own@x.example", assigned_to="u1"),
        seed_listed_lead(db, "o@x.example"),
    )
    users = function_client("company_users")
    actual = {}
    for role, uid in (("user", "u1"), ("manager", "m1"), ("admin", "a1")):
        h = staff_auth("acme", role, uid=uid)
        listed = api.get(LEADS, headers=h).get_json()["items"]
        actual[role] = {
            "list": sorted(i["id"] for i in listed),
            "read own": api.get(f"{LEADS}/{own}", headers=h).status_code,
            "read other": api.get(f"{LEADS}/{other}", headers=h).status_code,
            "write own": api.patch(f"{LEADS}/{own}", json={"tags": [role]}, headers=h).status_code,
            "write other": api.patch(
                f"{LEADS}/{other}", json={"tags": [role]}, headers=h
            ).status_code,
            "settings": api.patch(
                "/companies/acme", json={"settings": {"review_reminders": 1}}, headers=h
            ).status_code,
            "invite": users.post(
                "/companies/acme/users", json={"email": f"new-{role}@acme.example"}, headers=h
            ).status_code,
            "read staff": users.get("/companies/acme/users", headers=h).status_code,
        }
    lead_ids = sorted([own, other])
    expected = {
        "user": {"list": [own], "read own": 200, "read other": 403, "write own": 200,
                 "write other": 403, "settings": 403, "invite": 403, "read staff": 200},
        "manager": {"list": lead_ids, "read own": 200, "read other": 200, "write own": 200,
                    "write other": 200, "settings": 403, "invite": 403, "read staff": 200},
        "admin": {"list": lead_ids, "read own": 200, "read other": 200, "write own": 200,
                  "write other": 200, "settings": 200, "invite": 201, "read staff": 200},
    }  # fmt: skip
    assert expected == actual


def test_pagination_over_three_pages_is_stable(db: Any, api: Any, staff_auth: Any) -> None:
    """Seven leads, four sharing a creation time and three sharing a score, come back in
    pages of 3, 3 and 1: every lead once, ordered by the sort field then the id."""
    seed_company(db, "acme")
    times = [T0, T0, T0, T0, T0 + timedelta(hours=1), T0 - timedelta(hours=1), T0]
    for i, at in enumerate(times):
        seed_listed_lead(db, f"p{i}@x.example", created_at=at, score=[5, 5, 5, 9, 1, 0, 7][i])
    h = staff_auth("acme", "manager")
    for sort in ("-created_at", "score"):
        pages, cursor = [], None
        while True:
            args = {"limit": "3", "sort": sort} | ({"cursor": cursor} if cursor else {})
            body = api.get(LEADS, query_string=args, headers=h).get_json()
            pages.append([(i[sort.lstrip("-")], i["id"]) for i in body["items"]])
            cursor = body["next_cursor"]
            if cursor is None:
                break
        rows = [r for page in pages for r in page]
        assert [3, 3, 1] == [len(p) for p in pages]
        assert sorted(rows, reverse=sort.startswith("-")) == rows
        assert 7 == len(set(rows))


def test_a_cursor_only_fits_its_own_query(db: Any, api: Any, staff_auth: Any) -> None:
    """A cursor reused with another filter, or tampered with, is a 400, not a wrong page."""
    seed_company(db, "acme")
    for i in range(3):
        seed_listed_lead(db, f"p{i}@x.example")
    h = staff_auth("acme", "manager")
    cursor = api.get(LEADS, query_string={"limit": "1"}, headers=h).get_json()["next_cursor"]
    other = api.get(
        LEADS, query_string={"limit": "1", "status": "lost", "cursor": cursor}, headers=h
    )
    broken = api.get(LEADS, query_string={"cursor": cursor[:-3] + "xyz"}, headers=h)
    assert (400, 400) == (other.status_code, broken.status_code)


def test_patch_of_fixed_fields_is_refused(db: Any, api: Any, staff_auth: Any) -> None:
    """Immutable fields (the e-mail a lead's id comes from, its score, the owner, the
    audit trail) and unknown ones are a 400 naming each; nothing is written."""
    seed_company(db, "acme")
    lead = seed_listed_lead(db, "p@x.example")
    h = staff_auth("acme", "manager")
    body = {"email": "q@x.example", "score": 99, "assigned_to": "m1", "created_by": "m1", "x": 1}
    answer = api.patch(f"{LEADS}/{lead}", json=body, headers=h)
    fixed = "cannot be changed"
    expected = {"email": fixed, "score": fixed, "assigned_to": fixed, "created_by": fixed,
                "x": "unknown field"}  # fmt: skip
    assert (400, expected) == (answer.status_code, answer.get_json()["error"]["details"]["fields"])
    assert "p@x.example" == db.document(f"companies/acme/leads/{lead}").get().get("email")


def test_create_and_patch_record_who_and_when(db: Any, api: Any, staff_auth: Any) -> None:
    """A campaign created by one manager and changed by another keeps both."""
    seed_company(db, "acme")
    created = api.post(
        "/companies/acme/campaigns",
        json={"name": "Spring"},
        headers=staff_auth("acme", "manager", uid="m1"),
    )
    item = created.get_json()
    path = f"/companies/acme/campaigns/{item['id']}"
    changed = api.patch(
        path, json={"budget_spent": 120.0}, headers=staff_auth("acme", "manager", uid="m2")
    )  # (a campaign's status changes through the campaigns function)
    stored = db.document(f"companies/acme/campaigns/{item['id']}").get().to_dict()
    assert (201, 200) == (created.status_code, changed.status_code)
    assert ("m1", "m2", 120.0) == (
        stored["created_by"],
        stored["updated_by"],
        stored["budget_spent"],
    )
    assert stored["updated_at"] >= stored["created_at"]


def test_idempotency_key_returns_the_first_create(db: Any, api: Any, staff_auth: Any) -> None:
    """The same POST retried with its Idempotency-Key makes one document: 201, then 200."""
    seed_company(db, "acme")
    h = staff_auth("acme", "manager", uid="m1") | {"Idempotency-Key": "draft-42"}
    first = api.post("/companies/acme/content", json={"title": "Hello"}, headers=h)
    again = api.post("/companies/acme/content", json={"title": "Hello"}, headers=h)
    assert (201, 200) == (first.status_code, again.status_code)
    assert first.get_json()["id"] == again.get_json()["id"]
    assert 1 == len(list(db.collection("companies/acme/content").stream()))


def test_private_notes_and_mentions(db: Any, api: Any, staff_auth: Any) -> None:
    """A private note is listed for its author only; another's is a 404, even to an admin.
    Mentions resolve to staff by e-mail or its local part."""
    seed_company(db, "acme")
    seed_user(db, "m2", "manager")
    lead = seed_listed_lead(db, "p@x.example")
    notes = f"{LEADS}/{lead}/notes"
    m1, m2 = staff_auth("acme", "manager", uid="m1"), staff_auth("acme", "admin", uid="m2")
    team = api.post(notes, json={"body": "Call back, @m2 please"}, headers=m1).get_json()
    mine = api.post(
        notes, json={"body": "Seems price-sensitive", "private": True}, headers=m1
    ).get_json()
    seen_by = {
        "m1": sorted(n["id"] for n in api.get(notes, headers=m1).get_json()["items"]),
        "m2": sorted(n["id"] for n in api.get(notes, headers=m2).get_json()["items"]),
    }
    assert {"m1": sorted([team["id"], mine["id"]]), "m2": [team["id"]]} == seen_by
    assert (["m2"], ["m2"]) == (team["mentions"], team["mentioned_uids"])
    assert 404 == api.get(f"{notes}/{mine['id']}", headers=m2).status_code
    assert 403 == api.patch(f"{notes}/{team['id']}", json={"body": "no"}, headers=m2).status_code


def test_assignment_keeps_history_and_moves_the_lead(db: Any, api: Any, staff_auth: Any) -> None:
    """A manager assigns a lead twice; the lead follows and the history says from, to, by
    and why. Users cannot assign, and an assignee must be staff of the company."""
    seed_company(db, "acme")
    seed_user(db, "u1", "user")
    seed_user(db, "u2", "user")
    lead = seed_listed_lead(db, "p@x.example")
    path = f"{LEADS}/{lead}/assignments"
    m1 = staff_auth("acme", "manager", uid="m1")
    first = api.post(path, json={"to": "u1", "reason": "Territory"}, headers=m1)
    second = api.post(path, json={"to": "u2"}, headers=m1)
    by_user = api.post(path, json={"to": "u1"}, headers=staff_auth("acme", "user", uid="u2"))
    stranger = api.post(path, json={"to": "nobody"}, headers=m1)
    history = api.get(path, query_string={"sort": "created_at"}, headers=m1).get_json()["items"]
    assert (201, 201, 403, 400) == (
        first.status_code,
        second.status_code,
        by_user.status_code,
        stranger.status_code,
    )
    assert [(None, "u1", "m1", "Territory"), ("u1", "u2", "m1", None)] == [
        (h["from_uid"], h["to_uid"], h["by"], h["reason"]) for h in history
    ]
    assert "u2" == db.document(f"companies/acme/leads/{lead}").get().get("assigned_to")


def test_deleting_a_lead_takes_its_notes(db: Any, api: Any, staff_auth: Any) -> None:
    """DELETE answers 204; the lead and its sub-documents are gone; users may not."""
    seed_company(db, "acme")
    lead = seed_listed_lead(db, "p@x.example", assigned_to="u1")
    user, manager = staff_auth("acme", "user", uid="u1"), staff_auth("acme", "manager")
    api.post(f"{LEADS}/{lead}/notes", json={"body": "hi"}, headers=user)
    refused = api.delete(f"{LEADS}/{lead}", headers=user).status_code
    deleted = api.delete(f"{LEADS}/{lead}", headers=manager).status_code
    assert (403, 204) == (refused, deleted)
    assert [] == list(db.collection(f"companies/acme/leads/{lead}/notes").stream())
    assert not db.document(f"companies/acme/leads/{lead}").get().exists


def test_company_settings_are_merged_and_checked(db: Any, api: Any, staff_auth: Any) -> None:
    """A PATCH of one setting keeps the others; a bad value, an unknown setting and the
    form key are 400s naming the field."""
    seed_company(db, "acme")
    admin = staff_auth("acme", "admin")

    def patch(body: dict[str, Any]) -> tuple[int, Any]:
        answer = api.patch("/companies/acme", json=body, headers=admin)
        return answer.status_code, answer.get_json().get("error", {}).get("details", {})

    assert (200, {}) == patch({"settings": {"review_reminders": 1}, "industry": "Plumbing"})
    refused = [
        patch({"settings": {"review_reminders": "many"}}),
        patch({"settings": {"nope": 1}}),
        patch({"public_form_key": "acme.guessable"}),
    ]
    assert [400, 400, 400] == [status for status, _ in refused]
    assert [["settings.review_reminders"], ["settings.nope"], ["public_form_key"]] == [
        list(details["fields"]) for _, details in refused
    ]
    stored = db.document("companies/acme").get().to_dict()
    assert (1, 0, "Plumbing") == (
        stored["settings"]["review_reminders"],
        stored["settings"]["min_submit_seconds"],
        stored["industry"],
    )


def test_integers_firestore_cannot_store_are_a_400(db: Any, api: Any, staff_auth: Any) -> None:
    """Firestore's integers are 64-bit: a bigger one anywhere in a JSON body (a lead's
    custom fields, a scoring rule's criterion value) is refused as the body arrives, with
    a message, instead of failing the write with a 500; the limits themselves pass."""
    seed_company(db)
    admin = staff_auth("acme", "admin")
    too_big = (2**63, -(2**63) - 1, 10**30)
    for number in too_big:
        lead = {"email": f"n{number}@example.com", "custom_fields": {"x": number}}
        rule = {
            "name": "Big",
            "category": "demographic",
            "criteria": [{"field": "f", "op": "==", "value": {"n": [number]}}],
            "points": 5,
        }
        for path, body in ((LEADS, lead), ("/companies/acme/scoring_rules", rule)):
            res = api.post(path, json=body, headers=admin)
            assert (400, True) == (res.status_code, "64 bits" in res.get_json()["error"]["message"])
    edge = {"email": "edge@example.com", "custom_fields": {"max": 2**63 - 1, "min": -(2**63)}}
    assert 201 == api.post(LEADS, json=edge, headers=admin).status_code
    stored = db.document(f"companies/acme/leads/{lead_id_for('edge@example.com')}").get()
    assert {"max": 2**63 - 1, "min": -(2**63)} == stored.get("custom_fields")
    assert [] == [d.id for d in db.collection("companies/acme/scoring_rules").stream()]
