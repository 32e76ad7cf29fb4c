"""Replies to marketing e-mail go to a company only on identifiers we issued and can
verify (the send reference in In-Reply-To or References), through the ``email_events``
function and the local Firestore: two companies mail the same person; a reply naming
neither message (a mail client that dropped the headers, or anyone writing "From: her")
is filed under no company, kept at ``unmatched_replies`` for operators, whom the
Firestore rules alone let read it."""

from __future__ import annotations

import json
from typing import Any

from shared.campaigns.domain.email_events import read_send_reference
from shared.ports import SEND_HEADER
from shared.settings import get_settings
from tests.fakes import FakeTaskQueue
from tests.outreach_support import run_due_tasks
from tests.support import docs, seed_company

EMAIL = {"subject": "Spring", "body": "Hello {{ lead.first_name }}"}


def mail_jane(db: Any, function_client: Any, staff_auth: Any, company: str) -> str:
    """``company`` mails its lead Jane (jane@example.com) a campaign; the message's send
    reference (its Message-ID's local part)."""
    seed_company(db, company, public_form_key=f"{company}.public-key-123")
    lead = {"id": "jane", "email": "jane@example.com", "name": "Jane Doe", "status": "new"}
    lead |= {"company_id": company, "email_normalized": "jane@example.com"}
    lead |= {"consent": {"given": True, "text": "Yes, e-mail me"}}  # marketing needs it
    db.document(f"companies/{company}/leads/jane").set(lead)
    headers = staff_auth(company, "manager")
    created = function_client("staff_api").post(
        f"/companies/{company}/campaigns",
        json={"name": "Spring", "template": EMAIL},
        headers=headers,
    )
    start = {"action": "start", "campaign_id": created.get_json()["id"], "company_id": company}
    assert 200 == function_client("campaigns").post("/", json=start, headers=headers).status_code
    run_due_tasks(db, function_client, company)
    key = get_settings().signing_key.get_secret_value().encode()
    references = [str(d.get("headers")[SEND_HEADER]) for d in db.collection("outbox").stream()]
    (ours,) = [r for r in references if (read_send_reference(r, key) or ("",))[0] == company]
    return ours


def post(function_client: Any, event: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps({"events": [event]}).encode()
    res = function_client("email_events").post(
        "/", data=body, headers={"Content-Type": "application/json"}
    )
    assert 200 == res.status_code, res.get_json()
    result: dict[str, Any] = res.get_json()["results"][0]
    return result


def inbound(db: Any, company: str) -> list[str]:
    """The texts of the inbound interactions on the company's lead Jane."""
    interactions = docs(db, f"companies/{company}/leads/jane/interactions").values()
    return [i["body"] for i in interactions if i.get("direction") == "inbound"]


def test_a_reply_without_our_reference_is_filed_under_no_company(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """Acme then Globex mail Jane. Her reply naming no message of ours (or another
    sender's Message-ID) is 'unmatched': nothing on either company's timeline, no event
    stored under either; it is kept at unmatched_replies with what operators need."""
    mail_jane(db, function_client, staff_auth, "acme")
    mail_jane(db, function_client, staff_auth, "globex")
    reply = {"from": "Jane@Example.com", "subject": "Re: Spring", "text": "My card: 4111..."}
    results = [
        post(function_client, {"type": "replied", "event_id": "r-1", "reply": reply}),
        post(
            function_client,
            {
                "type": "replied",
                "event_id": "r-2",
                "message_id": "<abc@mail.other.example>",
                "reply": reply,
            },
        ),
    ]
    assert [("unmatched", None), ("unmatched", None)] == [
        (r["outcome"], r.get("send_id")) for r in results
    ]
    assert ([], [], {}, {}) == (
        inbound(db, "acme"),
        inbound(db, "globex"),
        docs(db, "companies/acme/email_events"),
        docs(db, "companies/globex/email_events"),
    )
    kept = sorted(docs(db, "unmatched_replies").values(), key=lambda r: r["event_id"])
    assert [
        ("r-1", "jane@example.com", "My card: 4111..."),
        ("r-2", "jane@example.com", "My card: 4111..."),
    ] == [(r["event_id"], r["from"], r["text"]) for r in kept]
    assert kept[0]["expires_at"] > kept[0]["received_at"]


def test_a_reply_naming_our_message_in_references_reaches_its_company(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """In-Reply-To names another message, but References holds Acme's Message-ID (after
    other ids): the reply is Acme's, matched by references, though Globex wrote later."""
    acme = mail_jane(db, function_client, staff_auth, "acme")
    mail_jane(db, function_client, staff_auth, "globex")
    event = {
        "type": "replied",
        "event_id": "r-3",
        "message_id": "<x1@mail.other.example>",
        "references": ["<x0@mail.other.example>", f"<{acme}@growthkit.local>"],
        "reply": {"from": "jane@example.com", "text": "Yes please"},
    }
    result = post(function_client, event)
    assert ("applied", "references") == (result["outcome"], result["matched_by"])
    assert (["Yes please"], []) == (inbound(db, "acme"), inbound(db, "globex"))


def test_unmatched_replies_are_readable_by_no_company_member(rules_db: Any, client_as: Any) -> None:
    """Outside every company: the Firestore rules let no signed-in staff member read or
    list them (operators read them with the admin SDK)."""
    from google.api_core.exceptions import PermissionDenied

    rules_db.document("unmatched_replies/r-1").set({"from": "jane@example.com", "text": "hi"})
    admin = client_as("a1", company_id="acme", role="admin")
    refused = []
    for read in (
        lambda: admin.document("unmatched_replies/r-1").get(),
        lambda: list(admin.collection("unmatched_replies").stream()),
        lambda: list(admin.collection_group("unmatched_replies").stream()),
    ):
        try:
            read()
        except PermissionDenied:
            refused.append(True)
    assert [True, True, True] == refused
