"""Marketing goes only to people with consent on record or a lawful basis staff recorded
(who and when), through the functions and the local Firestore with the real client:
campaigns to leads and to outreach contacts, and workflow e-mail. Transactional mail (a
review request) skips that, never a do-not-contact.

The hole: a leads campaign mailed all 8 leads, 5 of them with ``consent.given = false``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.fakes import FakeTaskQueue
from tests.integration.test_compliance_http import send_campaign
from tests.outreach_support import run_due_tasks, zone_at_hour
from tests.support import docs, seed_company, seed_lead

EMAIL = {"subject": "Spring", "body": "Hello {{ lead.first_name }}"}
SMS = {"body": "Spring offer for {{ lead.first_name }}"}
NO_CONSENT = "no marketing consent on record"


def seed_pat(db: Any, i: int, consent: bool, **fields: Any) -> None:
    """Pat{i} <p{i}@example.com>, a new lead, with or without marketing consent."""
    given = {"given": consent, **({"text": "Yes, e-mail me"} if consent else {})}
    fields = {"name": f"Pat{i}", "status": "new", "consent": given, **fields}
    seed_lead(db, f"p{i}@example.com", lead_id=f"l{i}", **fields)


def outbox(db: Any) -> list[str]:
    return sorted(d["to"] for d in docs(db, "outbox").values())


def test_a_leads_campaign_mails_only_consent_or_a_basis_a_manager_recorded(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """Eight leads, three with consent. A manager records a lawful basis on one more
    (kept with who and when); a user may not record one; a basis written without who
    and when counts for nothing. The campaign mails four; the others are excluded,
    saying why."""
    seed_company(db)
    for i in range(8):
        seed_pat(db, i, consent=i < 3)
    db.document("companies/acme/leads/l4").update({"assigned_to": "u-user"})
    db.document("companies/acme/leads/l5").update({"lawful_basis": "legitimate_interest"})
    api = function_client("staff_api")
    basis = {"lawful_basis": "legitimate_interest"}
    manager = staff_auth("acme", "manager", uid="u-manager")
    res = api.patch("/companies/acme/leads/l3", json=basis, headers=manager)
    assert 200 == res.status_code, res.get_json()
    recorded = res.get_json()["lawful_basis"]
    assert ("legitimate_interest", "u-manager") == (recorded["basis"], recorded["set_by"])
    assert datetime.fromisoformat(recorded["set_at"]) is not None
    user = staff_auth("acme", "user", uid="u-user")
    assert 403 == api.patch("/companies/acme/leads/l4", json=basis, headers=user).status_code
    campaign_id, _ = send_campaign(db, function_client, staff_auth, "Spring", template=EMAIL)
    assert ["p0@example.com", "p1@example.com", "p2@example.com", "p3@example.com"] == outbox(db)
    recipients = docs(db, f"companies/acme/campaigns/{campaign_id}/recipients")
    assert {f"l{i}": NO_CONSENT for i in range(4, 8)} == {
        k: r["reason"] for k, r in recipients.items() if r["status"] == "excluded"
    }


def test_another_edit_records_no_basis_and_needs_no_manager(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """A user's edit of their lead leaves its basis as it is: a user may edit a lead whose
    basis a manager recorded, and a value written around the API stays unrecorded (no
    one is made its author)."""
    seed_company(db)
    seed_pat(db, 0, consent=False, assigned_to="u-user", lawful_basis="legitimate_interest")
    user = staff_auth("acme", "user", uid="u-user")
    res = function_client("staff_api").patch(
        "/companies/acme/leads/l0", json={"status": "contacted"}, headers=user
    )
    assert 200 == res.status_code, res.get_json()
    assert "legitimate_interest" == res.get_json()["lawful_basis"]


def test_consent_withdrawn_after_the_start_stops_the_send(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """A lead selected when the campaign started but without consent when its batch runs
    is not mailed: the send itself asks the rule again."""
    seed_company(db)
    seed_pat(db, 0, consent=True)
    seed_pat(db, 1, consent=True)
    headers = staff_auth("acme", "manager")
    body = {"name": "Later", "template": EMAIL}
    created = function_client("staff_api").post(
        "/companies/acme/campaigns", json=body, headers=headers
    )
    campaign_id = created.get_json()["id"]
    start = {"action": "start", "campaign_id": campaign_id}
    assert 200 == function_client("campaigns").post("/", json=start, headers=headers).status_code
    db.document("companies/acme/leads/l1").update({"consent": {"given": False}})
    run_due_tasks(db, function_client)
    assert ["p0@example.com"] == outbox(db)
    l1 = db.document(f"companies/acme/campaigns/{campaign_id}/recipients/l1").get().to_dict()
    assert ("excluded", NO_CONSENT) == (l1["status"], l1["reason"])


def test_marketing_texts_need_the_persons_own_consent(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """An SMS campaign: consent on record gets the text; a basis staff recorded covers
    e-mail only."""
    seed_company(db)
    daytime = zone_at_hour(12)  # quiet hours are not what this test is about
    seed_pat(db, 0, consent=True, phone="+15550100000", timezone=daytime)
    seed_pat(db, 1, consent=False, phone="+15550100001", timezone=daytime)
    manager = staff_auth("acme", "manager")
    basis = {"lawful_basis": "existing_customer"}
    res = function_client("staff_api").patch(
        "/companies/acme/leads/l1", json=basis, headers=manager
    )
    assert 200 == res.status_code, res.get_json()
    campaign_id, _ = send_campaign(
        db, function_client, staff_auth, "Texts", channel="sms", template=SMS
    )
    assert ["+15550100000"] == outbox(db)
    l1 = db.document(f"companies/acme/campaigns/{campaign_id}/recipients/l1").get().to_dict()
    assert "no consent to marketing texts on record" == l1["reason"]


def test_a_workflow_email_skips_a_lead_without_consent(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """The same step, two leads: the one with consent gets the mail, the other's step is
    skipped with the reason and the enrolment goes on."""
    seed_company(db)
    seed_pat(db, 0, consent=True)
    seed_pat(db, 1, consent=False)
    step = {"id": "hello", "type": "send_email", "subject": "Hi {first_name}", "body": "Hi"}
    flow = {"name": "Welcome", "trigger": {"type": "manual"}, "steps": [step]}
    client, headers = function_client("workflows"), staff_auth("acme", "manager")
    assert 201 == client.post("/", json={"id": "w", "workflow": flow}, headers=headers).status_code
    runs = {}
    for lead in ("l0", "l1"):
        enrol = {"action": "enrol", "id": "w", "lead_id": lead}
        res = client.post("/", json=enrol, headers=headers)
        runs[lead] = res.get_json()["enrolment"]["execution_id"]
    run_due_tasks(db, function_client)
    assert ["p0@example.com"] == outbox(db)
    executions = docs(db, "companies/acme/workflow_executions")
    outcomes = {k: [s["outcome"] for s in executions[v]["steps"]] for k, v in runs.items()}
    assert {"l0": ["sent"], "l1": [f"skipped: {NO_CONSENT}"]} == outcomes


def test_cold_outreach_needs_a_basis_recorded_on_the_contact(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """A manager's import records a lawful basis on the contacts whose row names one
    (with who and when), as the staff API does on a contact a manager adds; the cold
    outreach campaign mails only those."""
    seed_company(db)
    manager = staff_auth("acme", "manager", uid="u-manager")
    csv = (
        "business_name,domain,contact_email,contact_first_name,lawful_basis\n"
        "Acme Ltd,acme.example,ann@acme.example,Ann,legitimate_interest\n"
        "Bolt,bolt.example,carl@bolt.example,Carl,\n"
    )
    imported = function_client("outreach_import").post(
        "/", data=csv, headers={**manager, "Content-Type": "text/csv"}
    )
    assert (200, []) == (imported.status_code, imported.get_json()["errors"])
    contacts = {c["email"]: c for c in docs(db, "companies/acme/outreach_contacts").values()}
    recorded = contacts["ann@acme.example"]["lawful_basis"]
    assert ("legitimate_interest", "u-manager") == (recorded["basis"], recorded["set_by"])
    dora = {
        "email": "dora@cog.example",
        "first_name": "Dora",
        "lawful_basis": "legitimate_interest",
    }
    made = function_client("staff_api").post(
        "/companies/acme/outreach_contacts", json=dora, headers=manager
    )
    assert ("u-manager", "legitimate_interest") == (
        made.get_json()["lawful_basis"]["set_by"],
        made.get_json()["lawful_basis"]["basis"],
    )
    template = {"subject": "Hello", "body": "Dear {{ contact.first_name }}"}
    target = {"audience": "contacts"}
    send_campaign(
        db,
        function_client,
        staff_auth,
        "Cold",
        type="cold_outreach",
        target=target,
        template=template,
    )
    assert ["ann@acme.example", "dora@cog.example"] == outbox(db)


def test_a_review_request_is_transactional_but_respects_do_not_contact(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """A customer without marketing consent still gets the review request about their
    purchase; one who asked not to be contacted does not."""
    seed_company(db, settings={"review_urls": {"google": "https://g.example/acme"}})
    seed_pat(db, 0, consent=False)
    seed_pat(db, 1, consent=True, do_not_contact=True)
    client, headers = function_client("request_review"), staff_auth("acme", "manager")
    asked = client.post("/", json={"lead_id": "l0"}, headers=headers)
    refused = client.post("/", json={"lead_id": "l1"}, headers=headers)
    assert (201, 409) == (asked.status_code, refused.status_code)
    assert ["p0@example.com"] == outbox(db)
