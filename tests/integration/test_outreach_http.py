"""Outreach through the functions, real ID tokens and the local Firestore: a CSV import
with bad rows, a campaign saved through staff_api, previewed through ``campaigns`` (the
missing field caught there) and sent by ``run_task``."""

from __future__ import annotations

from typing import Any

from shared.campaigns.domain.outreach import business_id, contact_id
from tests.fakes import FakeTaskQueue
from tests.integration.event_support import ProjectFeed, deliver
from tests.outreach_support import run_due_tasks
from tests.support import docs, seed_company

# Cold outreach reaches contacts with a lawful basis a manager recorded (here, by import).
CSV = """Business Name,Website,Industry,Email,First Name,Title,Lawful Basis
Acme Plumbing Ltd,https://www.acme.example,plumbing,ann@acme.example,Ann,Owner,legitimate_interest
Bolt Electric,bolt.example,electric,carl@bolt.example,Carl,,legitimate_interest
,nobody.example,,x@nobody.example,,,
Cog Works,cog,,dora@cog.example,Dora,CEO,
Acme Plumbing,acme.example,plumbing,ANN@acme.example,Ann,Owner,legitimate_interest
"""
TEMPLATE = {
    "subject": "{{ business.name }} and {{ company.name }}",
    "body": "Dear {{ contact.title }} {{ contact.first_name }}, shall we talk?",
}


def import_csv(function_client: Any, headers: dict[str, str], text: str = CSV) -> Any:
    client = function_client("outreach_import")
    return client.post("/", data=text, headers={**headers, "Content-Type": "text/csv"})


def test_a_csv_with_bad_rows_imports_the_good_ones_and_reports_each_bad_row(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """Row 4 has no business name, row 5 a bad domain; row 6 repeats row 2's business and
    contact (case and legal form aside). The good rows are stored; importing again
    creates nothing."""
    seed_company(db)
    res = import_csv(function_client, staff_auth("acme", "manager"))
    body = res.get_json()
    assert 200 == res.status_code, body
    assert [
        (4, {"business_name": "Field required"}),
        (5, {"domain": "not a domain name (e.g. acme.example)"}),
    ] == [(e["row"], e["fields"]) for e in body["errors"]]
    assert [(6, "contact", "row 2")] == [
        (d["row"], d["kind"], d["duplicate_of"]) for d in body["duplicates"]
    ]
    businesses, contacts = (
        docs(db, "companies/acme/businesses"),
        docs(db, "companies/acme/outreach_contacts"),
    )
    assert {
        business_id("Acme Plumbing", "acme.example"),
        business_id("Bolt Electric", "bolt.example"),
    } == set(businesses)
    assert {contact_id("ann@acme.example"), contact_id("carl@bolt.example")} == set(contacts)
    again = import_csv(function_client, staff_auth("acme", "manager")).get_json()
    assert (0, 0, 5) == (  # 2 businesses, 2 contacts, and row 6 again
        again["businesses_created"],
        again["contacts_created"],
        len(again["duplicates"]),
    )


def test_only_managers_import(db: Any, function_client: Any, staff_auth: Any) -> None:
    """A user is refused (403) and nothing is stored; a body that is no CSV is a 400."""
    seed_company(db)
    assert 403 == import_csv(function_client, staff_auth("acme", "user")).status_code
    assert {} == docs(db, "companies/acme/businesses")
    empty = function_client("outreach_import").post("/", json={}, headers=staff_auth("acme"))
    assert 400 == empty.status_code


def test_preview_catches_the_missing_field_and_sending_leaves_that_contact_out(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """Carl has no title: the preview shows Ann's message and, for Carl, which field is
    missing. Sent, Ann gets her message and Carl's recipient is excluded with the
    reason; no message with a blank went out."""
    seed_company(db)
    manager = staff_auth("acme", "manager")
    import_csv(function_client, manager)
    campaign = {
        "name": "Plumbers",
        "type": "cold_outreach",
        "target": {"audience": "contacts"},
        "template": TEMPLATE,
    }
    created = function_client("staff_api").post(
        "/companies/acme/campaigns", json=campaign, headers=manager
    )
    assert 201 == created.status_code, created.get_json()
    campaign_id = created.get_json()["id"]
    campaigns = function_client("campaigns")
    preview = campaigns.post(
        "/", json={"action": "preview", "campaign_id": campaign_id}, headers=manager
    )
    shown = {r["id"]: r for r in preview.get_json()["recipients"]}
    ann, carl = contact_id("ann@acme.example"), contact_id("carl@bolt.example")
    assert ("Dear Owner Ann, shall we talk?", "template: body: contact.title is missing") == (
        shown[ann]["body"],
        shown[carl]["error"],
    )
    started = campaigns.post(
        "/", json={"action": "start", "campaign_id": campaign_id}, headers=manager
    )
    assert (200, "sending") == (started.status_code, started.get_json()["campaign"]["status"])
    run_due_tasks(db, function_client)
    outbox = [d.to_dict() for d in db.collection("outbox").stream()]
    assert [("ann@acme.example", "Acme Plumbing Ltd and Acme Plumbing")] == [
        (m["to"], m["subject"]) for m in outbox
    ]
    recipients = docs(db, f"companies/acme/campaigns/{campaign_id}/recipients")
    assert ("contacted", "excluded", "template: body: contact.title is missing") == (
        recipients[ann]["status"],
        recipients[carl]["status"],
        recipients[carl]["reason"],
    )
    progress = campaigns.get("/", query_string={"id": campaign_id}, headers=manager).get_json()
    assert ("completed", 1, 1) == (
        progress["campaign"]["status"],
        progress["stats"]["sent"],
        progress["stats"]["excluded"],
    )
    messages = {
        m["contact_id"]: m["status"] for m in docs(db, "companies/acme/outreach_messages").values()
    }
    assert {ann: "sent", carl: "failed"} == messages


def test_campaign_status_changes_are_refused_when_they_do_not_apply(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """Pausing a draft is a 409 naming the status; a status is not written by PATCH; a
    user cannot start a campaign."""
    seed_company(db)
    manager = staff_auth("acme", "manager")
    api = function_client("staff_api")
    created = api.post("/companies/acme/campaigns", json={"name": "Spring"}, headers=manager)
    campaign_id = created.get_json()["id"]
    campaigns = function_client("campaigns")
    paused = campaigns.post(
        "/", json={"action": "pause", "campaign_id": campaign_id}, headers=manager
    )
    patched = api.patch(
        f"/companies/acme/campaigns/{campaign_id}", json={"status": "sending"}, headers=manager
    )
    by_user = campaigns.post(
        "/",
        json={"action": "start", "campaign_id": campaign_id},
        headers=staff_auth("acme", "user"),
    )
    assert (409, "draft", 400, 403) == (
        paused.status_code,
        paused.get_json()["error"]["details"]["status"],
        patched.status_code,
        by_user.status_code,
    )


def test_outreach_resources_through_staff_api(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """Imported businesses list for any staff; a business made by hand with a name and
    domain already known is a 409; a user records a do-not-contact request (its id from
    the address, written normalised), which managers read and only admins delete."""
    seed_company(db)
    manager, user, admin = (staff_auth("acme", r) for r in ("manager", "user", "admin"))
    import_csv(function_client, manager)
    api = function_client("staff_api")
    listed = api.get("/companies/acme/businesses", headers=user).get_json()["items"]
    twin = {"name": "ACME Plumbing", "domain": "acme.example"}
    again = api.post("/companies/acme/businesses", json=twin, headers=manager)
    assert (2, 409) == (len(listed), again.status_code)
    dnc = {"channel": "sms", "address": "+1 (555) 010-2030", "detail": "asked by phone"}
    created = api.post("/companies/acme/suppressions", json=dnc, headers=user)
    item = created.get_json()
    path = f"/companies/acme/suppressions/{item['id']}"
    assert (201, "+15550102030", "manual") == (created.status_code, item["address"], item["reason"])
    assert 403 == api.get("/companies/acme/suppressions", headers=user).status_code
    assert [item["id"]] == [
        s["id"]
        for s in api.get("/companies/acme/suppressions?channel=sms", headers=manager).get_json()[
            "items"
        ]
    ]
    assert (403, 204) == (
        api.delete(path, headers=manager).status_code,
        api.delete(path, headers=admin).status_code,
    )
    bad = api.post("/companies/acme/suppressions", json={"address": "nope"}, headers=user)
    assert 400 == bad.status_code


def test_a_conversion_event_marks_the_campaign_recipient_converted(
    db: Any, firestore_server: Any, project_id: str, queue: FakeTaskQueue, function_client: Any
) -> None:
    """The lead's change to converted, delivered twice as a real CloudEvent: its
    recipient (found by a collection-group query) is converted and counted once."""
    seed_company(db)
    recipient = {"id": "l1", "company_id": "acme", "campaign_id": "c1", "kind": "lead"}
    db.document("companies/acme/campaigns/c1").set({"name": "Spring", "status": "completed"})
    db.document("companies/acme/campaigns/c1/recipients/l1").set(
        {**recipient, "status": "contacted"}
    )
    feed = ProjectFeed(firestore_server.store, project_id)
    try:
        db.document("companies/acme/leads/l1").set({"email": "a@example.com", "status": "new"})
        db.document("companies/acme/leads/l1").update({"status": "converted"})
        client = function_client("on_lead_campaigns")
        statuses = deliver(client, "on_lead_campaigns", *feed.last("companies/acme/leads/l1"))
    finally:
        feed.close()
    stored = db.document("companies/acme/campaigns/c1/recipients/l1").get().get("status")
    stats = db.document("companies/acme/campaigns/c1").get().get("stats")
    assert ([200, 200], "converted", 1) == (statuses, stored, stats["converted"])
