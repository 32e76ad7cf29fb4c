"""A ``user`` sees only the leads assigned to them, on every path that reads a lead: each
path is called through its function, a real ID token and the local Firestore, as the
user, about a lead assigned to someone else (and, where the path serves it, their own)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import bootstrap
from shared.domain.leads import lead_id_for
from tests.fakes import FakeTaskQueue
from tests.support import docs, seed_company

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
MINE, THEIRS = lead_id_for("mine@example.com"), lead_id_for("theirs@example.com")
SETTINGS = {"review_urls": {"google": "https://g.example/acme"}, "review_cooldown_days": 30}


@pytest.fixture
def acme(db: Any, monkeypatch: pytest.MonkeyPatch, functions_env: None) -> FakeTaskQueue:
    """Acme with a lead of user u1 and one of user u2; Cloud Tasks recorded in memory."""
    seed_company(db, settings=SETTINGS)
    for uid in ("u1", "u2"):
        db.document(f"companies/acme/users/{uid}").set({"id": uid, "role": "user"})
    for lead_id, email, owner in ((MINE, "mine", "u1"), (THEIRS, "theirs", "u2")):
        address = f"{email}@example.com"
        lead = {"id": lead_id, "company_id": "acme", "email": address, "name": email.title()}
        lead |= {"email_normalized": address, "assigned_to": owner, "status": "new"}
        db.document(f"companies/acme/leads/{lead_id}").set(lead | {"created_at": T0})
    fake = FakeTaskQueue()
    monkeypatch.setattr(bootstrap, "task_queue", functools.cache(lambda: fake))
    return fake


def _campaign(function_client: Any, manager: dict[str, str]) -> str:
    body = {"name": "Spring", "template": {"subject": "Hi", "body": "Hi {{ lead.email }}"}}
    created = function_client("staff_api").post(
        "/companies/acme/campaigns", json=body, headers=manager
    )
    assert 201 == created.status_code, created.get_json()
    return str(created.get_json()["id"])


def test_campaign_preview_and_marks_are_for_those_who_may_see_the_leads(
    db: Any, acme: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """A user cannot render every lead through a preview with a template of their own
    (previews are for the roles that send); nor mark the outcome of another's lead."""
    manager, user = staff_auth("acme", "manager"), staff_auth("acme", "user", uid="u1")
    campaign_id = _campaign(function_client, manager)
    campaigns = function_client("campaigns")
    template = {"subject": "x", "body": "{{ lead.email }} {{ lead.name }}"}
    body = {"action": "preview", "campaign_id": campaign_id, "template": template}
    previewed = campaigns.post("/", json=body, headers=user)
    assert 403 == previewed.status_code, previewed.get_json()
    assert "theirs@example.com" not in previewed.get_data(as_text=True)
    assert 200 == campaigns.post("/", json=body, headers=manager).status_code
    for lead_id in (MINE, THEIRS):
        recipient = {"id": lead_id, "company_id": "acme", "campaign_id": campaign_id}
        db.document(f"companies/acme/campaigns/{campaign_id}/recipients/{lead_id}").set(
            recipient | {"kind": "lead", "status": "contacted"}
        )
    mark = {"action": "mark", "campaign_id": campaign_id, "status": "responded"}
    marked = {
        who: campaigns.post("/", json=mark | {"recipient_id": lead}, headers=user).status_code
        for who, lead in (("mine", MINE), ("theirs", THEIRS))
    }
    assert {"mine": 200, "theirs": 403} == marked


def test_review_requests_and_completions_only_for_the_users_leads(
    db: Any, acme: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """Asking another's customer for a review is refused and sends nothing; completing a
    review of another's lead is refused; their own lead works as before."""
    user = staff_auth("acme", "user", uid="u1")
    reviews = function_client("request_review")
    refused = reviews.post("/", json={"lead_id": THEIRS}, headers=user)
    assert 403 == refused.status_code, refused.get_json()
    assert {} == docs(db, "outbox")
    assert 201 == reviews.post("/", json={"lead_id": MINE}, headers=user).status_code
    manager = staff_auth("acme", "manager")
    theirs = reviews.post("/", json={"lead_id": THEIRS}, headers=manager).get_json()["id"]
    done = {"action": "complete", "review_id": theirs, "rating": 5}
    assert 403 == reviews.post("/", json=done, headers=user).status_code
    assert db.document(f"companies/acme/reviews/{theirs}").get().get("rating") is None


def test_reviews_and_referrals_list_only_the_users_leads(
    db: Any, acme: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """The staff API's reviews and referrals, and the referral_codes list, show a user
    what concerns their own leads; another's is missing, as if it did not exist."""
    manager, user = staff_auth("acme", "manager"), staff_auth("acme", "user", uid="u1")
    reviews, codes = function_client("request_review"), function_client("referral_codes")
    ids = {}
    for lead_id in (MINE, THEIRS):
        review = reviews.post("/", json={"lead_id": lead_id}, headers=manager).get_json()["id"]
        body = {"referrer_lead_id": lead_id}
        code = codes.post("/", json=body, headers=manager).get_json()
        ids[lead_id] = (review, code["referral"]["code"])
    api = function_client("staff_api")
    listed = {
        name: [i[key] for i in api.get(f"/companies/acme/{name}", headers=user).get_json()["items"]]
        for name, key in (("reviews", "id"), ("referrals", "code"))
    }
    assert {"reviews": [ids[MINE][0]], "referrals": [ids[MINE][1]]} == listed
    got = {
        name: api.get(f"/companies/acme/{name}/{ids[THEIRS][i]}", headers=user).status_code
        for i, name in enumerate(("reviews", "referrals"))
    }
    assert {"reviews": 404, "referrals": 404} == got
    shown = codes.get("/", headers=user)
    assert [ids[MINE][1]] == [r["code"] for r in shown.get_json()["referrals"]]
    assert "theirs@example.com" not in shown.get_data(as_text=True)
    assert 2 == len(codes.get("/", headers=manager).get_json()["referrals"])


def test_workflow_enrolment_and_executions_only_for_the_users_leads(
    db: Any, acme: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """A user cannot enrol another's lead in a workflow (which would message it), nor
    read the enrolment of another's lead."""
    manager, user = staff_auth("acme", "manager"), staff_auth("acme", "user", uid="u1")
    flows = function_client("workflows")
    step = {"type": "send_email", "subject": "Hi", "body": "Welcome"}
    workflow = {"name": "Welcome", "trigger": {"type": "lead_created"}, "steps": [step]}
    assert (
        201 == flows.post("/", json={"id": "w", "workflow": workflow}, headers=manager).status_code
    )
    enrol = {"action": "enrol", "id": "w"}
    refused = flows.post("/", json=enrol | {"lead_id": THEIRS}, headers=user)
    assert 403 == refused.status_code, refused.get_json()
    theirs = flows.post("/", json=enrol | {"lead_id": THEIRS}, headers=manager).get_json()
    mine = flows.post("/", json=enrol | {"lead_id": MINE}, headers=user)
    assert 201 == mine.status_code, mine.get_json()
    read = {
        who: flows.get(
            "/", query_string={"execution_id": e["enrolment"]["execution_id"]}, headers=user
        )
        for who, e in (("mine", mine.get_json()), ("theirs", theirs))
    }
    assert {"mine": 200, "theirs": 403} == {k: v.status_code for k, v in read.items()}


def test_consultations_about_another_users_lead(
    db: Any, acme: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """A user cannot book a consultation about another's lead (its reminders would mail
    the lead), and does not see those booked by others about such a lead."""
    manager, user = staff_auth("acme", "manager"), staff_auth("acme", "user", uid="u1")
    api, base = function_client("consultations"), "/companies/acme/consultations"
    start = (datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)

    def booking(hours: int, lead_id: str) -> dict[str, Any]:
        at = (start + timedelta(hours=hours)).isoformat()
        return {"scheduled_at": at, "attendee_email": "a@example.com", "lead_id": lead_id}

    refused = api.post(base, json=booking(0, THEIRS), headers=user)
    assert 403 == refused.status_code, refused.get_json()
    theirs = api.post(base, json=booking(2, THEIRS) | {"host_uid": "u2"}, headers=manager)
    mine = api.post(base, json=booking(4, MINE), headers=user)
    assert (201, 201) == (theirs.status_code, mine.status_code), theirs.get_json()
    listed = api.get(base, headers=user).get_json()["items"]
    assert [mine.get_json()["id"]] == [i["id"] for i in listed]
    assert 404 == api.get(f"{base}/{theirs.get_json()['id']}", headers=user).status_code
