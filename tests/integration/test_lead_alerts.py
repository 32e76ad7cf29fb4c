"""A new lead is e-mailed to staff: posted through ``lead_intake``, its create event
delivered twice to ``on_lead_written``, the scheduled task run by ``run_task``; the mail
goes through the outbox backend, read back with the real client."""

from __future__ import annotations

from typing import Any

from tests.fakes import FakeTaskQueue
from tests.integration.event_support import ProjectFeed, deliver
from tests.outreach_support import run_due_tasks
from tests.support import docs, seed_company

KEY = "acme.public-key-123"
SETTINGS = {"min_submit_seconds": 0, "notify_new_leads": True}


def staff(db: Any, uid: str, email: str, role: str, status: str) -> None:
    profile = {"id": uid, "company_id": "acme", "email": email, "role": role, "status": status}
    db.document(f"companies/acme/users/{uid}").set(profile)


def post_lead(function_client: Any, email: str, status: int = 201) -> str:
    form = {"email": email, "name": "Jane Doe", "phone": "555-0100", "message": "Tap leaks."}
    res = function_client("lead_intake").post(f"/?key={KEY}", json=form)
    assert status == res.status_code, res.get_json()
    lead_id: str = res.get_json()["lead_id"]
    return lead_id


def alerts(db: Any) -> list[tuple[str, str]]:
    return sorted((m["to"], m["subject"]) for m in docs(db, "outbox").values())


def test_a_new_lead_is_mailed_once_to_the_admins(
    db: Any, feed: ProjectFeed, queue: FakeTaskQueue, function_client: Any
) -> None:
    """Every admin still to sign in or active gets one mail per new lead, however often
    its event is delivered; a user, a pending admin and a resubmission get nothing."""
    seed_company(db, settings=SETTINGS)
    staff(db, "owner", "owner@acme.example", "admin", "invited")
    staff(db, "boss", "boss@acme.example", "admin", "active")
    staff(db, "squat", "squat@acme.example", "admin", "pending")
    staff(db, "u1", "u1@acme.example", "user", "active")
    lead_id = post_lead(function_client, "jane@example.com")
    client = function_client("on_lead_written")
    assert [200, 200] == deliver(
        client, "on_lead_written", *feed.last(f"companies/acme/leads/{lead_id}")
    )
    run_due_tasks(db, function_client)
    subject = "New lead: Jane Doe"
    assert [("boss@acme.example", subject), ("owner@acme.example", subject)] == alerts(db)
    (body,) = {m["body"] for m in docs(db, "outbox").values()}
    assert all(part in body for part in ("jane@example.com", "555-0100", "Tap leaks."))
    post_lead(function_client, "jane@example.com", 200)  # the same person again: not new
    deliver(client, "on_lead_written", *feed.last(f"companies/acme/leads/{lead_id}"))
    run_due_tasks(db, function_client)
    assert 2 == len(alerts(db))


def test_an_assigned_lead_goes_to_its_assignee_and_companies_can_keep_quiet(
    db: Any, feed: ProjectFeed, queue: FakeTaskQueue, function_client: Any
) -> None:
    """A lead created with an owner is told to that owner alone; a company without
    ``notify_new_leads`` sends nothing."""
    seed_company(db, settings=SETTINGS)
    staff(db, "owner", "owner@acme.example", "admin", "active")
    staff(db, "u1", "u1@acme.example", "user", "active")
    lead = {"email": "bob@example.com", "name": "Bob", "assigned_to": "u1", "status": "new"}
    db.document("companies/acme/leads/bob").set({**lead, "company_id": "acme"})
    client = function_client("on_lead_written")
    deliver(client, "on_lead_written", *feed.last("companies/acme/leads/bob"))
    run_due_tasks(db, function_client)
    assert [("u1@acme.example", "New lead: Bob")] == alerts(db)
    seed_company(db, "quiet", settings={"min_submit_seconds": 0})
    db.document("companies/quiet/users/o").set({"email": "o@quiet.example", "role": "admin"})
    db.document("companies/quiet/leads/x").set({"email": "x@example.com", "status": "new"})
    deliver(client, "on_lead_written", *feed.last("companies/quiet/leads/x"))
    assert [] == run_due_tasks(db, function_client, "quiet")
