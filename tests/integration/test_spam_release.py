"""Spam submissions for staff, through the functions, the local Firestore and real ID
tokens: a visitor faster than the minimum fill time was told "thanks" and set apart;
managers list what was set apart and release a false positive into the lead it would have
been, through the intake path (deduplicated, with the consent evidence as sent, the
workflows firing as for any new lead), once however often they press the button."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from shared.domain.leads import lead_id_for
from tests.fakes import FakeTaskQueue
from tests.integration.event_support import ProjectFeed, deliver, memory_queue
from tests.support import SITE, docs, seed_company

KEY = "acme.public-key-123"
SPAM = "/companies/acme/spam_submissions"
FAST = {
    "form_key": KEY,
    "email": "Quick@Example.com",
    "name": "Quinn Quick",
    "message": "Need a plumber today!",
    "form_id": "quote-form",
    "consent": True,
    "consent_text": "Yes, e-mail me offers.",
    "consent_text_version": "2026-11",
}


@pytest.fixture
def feed(firestore_server: Any, project_id: str) -> Iterator[ProjectFeed]:
    captured = ProjectFeed(firestore_server.store, project_id)
    yield captured
    captured.close()


@pytest.fixture
def queue(functions_env: None, monkeypatch: pytest.MonkeyPatch) -> FakeTaskQueue:
    return memory_queue(monkeypatch)


@pytest.fixture
def held(db: Any, queue: FakeTaskQueue, function_client: Any) -> str:
    """A too-fast post (the form shown a moment ago, 3 s required): answered as received,
    kept apart; its id."""
    seed_company(db, settings={"min_submit_seconds": 3})
    body = FAST | {"started_at": time.time() * 1000}
    res = function_client("lead_intake").post(
        "/", json=body, headers={"Origin": SITE, "X-Forwarded-For": "203.0.113.5"}
    )
    assert (200, "received") == (res.status_code, res.get_json()["status"])
    assert {} == docs(db, "companies/acme/leads")
    (spam_id,) = docs(db, "companies/acme/spam_submissions")
    return str(spam_id)


def test_managers_list_what_was_set_apart(
    db: Any, held: str, function_client: Any, staff_auth: Any
) -> None:
    """Managers and admins read the list (newest first, filtered by reason and status);
    users may not; nobody writes it through the API."""
    api = function_client("staff_api")
    res = api.get(f"{SPAM}?reason=too_fast&status=held", headers=staff_auth("acme", "manager"))
    assert 200 == res.status_code, res.get_data(as_text=True)
    (item,) = res.get_json()["items"]
    assert (held, "too_fast", "held", "quick@example.com", "203.0.113.5") == (
        item["id"],
        item["reason"],
        item["status"],
        item["submission"]["email"],
        item["ip"],
    )
    assert (
        []
        == api.get(f"{SPAM}?reason=honeypot", headers=staff_auth("acme", "admin")).get_json()[
            "items"
        ]
    )
    assert 403 == api.get(SPAM, headers=staff_auth("acme", "user")).status_code
    assert 405 == api.post(SPAM, json={}, headers=staff_auth("acme", "admin")).status_code


def test_a_release_makes_the_lead_intake_would_have_made_once(
    db: Any,
    held: str,
    feed: ProjectFeed,
    queue: FakeTaskQueue,
    function_client: Any,
    staff_auth: Any,
) -> None:
    """The lead, with the consent evidence as the visitor sent it (text, version, form,
    their address and time), and the form interaction; a lead_created workflow enrols it
    from the lead's own event; pressing release again changes nothing."""
    manager = staff_auth("acme", "manager", uid="m1")
    flows = function_client("workflows")
    step = {"type": "send_email", "subject": "Hi {first_name}", "body": "Welcome"}
    workflow = {"name": "Welcome", "trigger": {"type": "lead_created"}, "steps": [step]}
    made = flows.post("/", json={"id": "welcome", "workflow": workflow}, headers=manager)
    assert 201 == made.status_code
    sent_at = docs(db, "companies/acme/spam_submissions")[held]["created_at"]
    api = function_client("staff_api")

    res = api.post(f"{SPAM}/{held}/release", headers=manager)
    assert 200 == res.status_code, res.get_data(as_text=True)
    lead_id = lead_id_for("quick@example.com")
    assert ("released", lead_id, "m1") == (
        res.get_json()["status"],
        res.get_json()["lead_id"],
        res.get_json()["released_by"],
    )
    lead = db.document(f"companies/acme/leads/{lead_id}").get()
    consent = lead.get("consent")
    assert ("Quinn Quick", "quick@example.com", 1) == (
        lead.get("name"),
        lead.get("email_normalized"),
        lead.get("submission_count"),
    )
    assert (True, "Yes, e-mail me offers.", "2026-11", "quote-form", "203.0.113.5", sent_at) == (
        consent["given"],
        consent["text"],
        consent["text_version"],
        consent["form_id"],
        consent["ip"],
        consent["given_at"],
    )
    (form,) = docs(db, f"companies/acme/leads/{lead_id}/interactions").values()
    assert ("form", "Need a plumber today!", held) == (
        form["type"],
        form["body"],
        form["metadata"]["released_from_spam"],
    )
    assert [200] == deliver(
        function_client("on_lead_workflows"),
        "on_lead_workflows",
        *feed.last(f"companies/acme/leads/{lead_id}"),
        times=1,
    )
    executions = docs(db, "companies/acme/workflow_executions").values()
    assert [("welcome", lead_id)] == [(e["workflow_id"], e["lead_id"]) for e in executions]

    before = lead.update_time
    again = api.post(f"{SPAM}/{held}/release", headers=staff_auth("acme", "admin"))
    assert (200, lead_id, "m1") == (
        again.status_code,
        again.get_json()["lead_id"],
        again.get_json()["released_by"],
    )
    assert before == db.document(f"companies/acme/leads/{lead_id}").get().update_time
    assert 1 == len(docs(db, f"companies/acme/leads/{lead_id}/interactions"))


def test_a_release_merges_into_the_lead_of_the_same_address(
    db: Any, held: str, function_client: Any, staff_auth: Any
) -> None:
    """The person wrote again (slowly) before staff looked: the release is one more
    submission of that lead, which keeps what it had."""
    res = function_client("lead_intake").post(
        "/", json={"form_key": KEY, "email": "quick@example.com", "name": "Q. Quick"}
    )
    assert 201 == res.status_code
    api = function_client("staff_api")
    released = api.post(f"{SPAM}/{held}/release", headers=staff_auth("acme", "manager"))
    assert 200 == released.status_code, released.get_data(as_text=True)
    lead = db.document(f"companies/acme/leads/{lead_id_for('quick@example.com')}").get()
    assert ("Q. Quick", 2, True) == (
        lead.get("name"),
        lead.get("submission_count"),
        lead.get("consent")["given"],
    )


def test_only_managers_release_and_unknown_ids_are_404(
    db: Any, held: str, function_client: Any, staff_auth: Any
) -> None:
    api = function_client("staff_api")
    assert 403 == api.post(f"{SPAM}/{held}/release", headers=staff_auth("acme", "user")).status_code
    missing = api.post(f"{SPAM}/nope/release", headers=staff_auth("acme", "manager"))
    assert 404 == missing.status_code
    read = api.get(f"{SPAM}/{held}/release", headers=staff_auth("acme", "manager"))
    assert 405 == read.status_code
    assert {} == docs(db, "companies/acme/leads")
