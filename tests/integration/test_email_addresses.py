"""An e-mail address is read one way wherever it enters (web forms, the outreach import,
the staff API, newsletter signups, suppressions, unsubscribe links) and checked again
when mail goes out, through the functions and the local Firestore with the real client.

The hole these close: ``<victim@example.com>`` passed the old check, was stored and
compared as that string (another lead id, another suppression id than
``victim@example.com``), and a mail server delivers it to the suppressed address."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlsplit

import pytest

from shared import bootstrap
from shared.campaigns.domain.compliance import suppression_path
from shared.campaigns.services.policy import links_from_settings
from shared.domain.leads import lead_id_for
from shared.errors import InvalidInput
from shared.ports import OutboundMessage
from tests.fakes import FakeTaskQueue
from tests.integration.test_compliance_http import send_campaign
from tests.support import SITE, docs, seed_company, seed_lead

KEY = "acme.public-key-123"
VICTIM = "victim@example.com"
# What mail software reads as (or around) victim@example.com, and what is no address.
NOT_PLAIN = [
    "<victim@example.com>",
    '"Victim" <victim@example.com>',
    "Victim <victim@example.com>",
    "victim@example.com, other@example.com",
    "victim@example.com\nBcc: other@example.com",
    "victim@example.com (Victim)",
    '"victim"@example.com',
    "victim@[127.0.0.1]",
    "mailto:victim@example.com",
    "victim@@example.com",
    "vi\u0441tim@example.com",  # a Cyrillic "c"
    "victim@example.com\x00",
    ".victim@example.com",
    "victim@localhost",
]
# Spellings of the same plain address: stored once, as victim@example.com.
SAME = ["victim@example.com\n", " VICTIM@Example.COM ", "Victim@example.com\t"]
EMAIL = {"subject": "Spring", "body": "Hello {{ lead.first_name }}"}


def refused_field(res: Any, field: str) -> str:
    assert 400 == res.status_code, (res.status_code, res.get_data())
    message: str = res.get_json()["error"]["details"]["fields"][field]
    return message


def test_a_web_form_takes_only_a_plain_address(db: Any, function_client: Any) -> None:
    """Each not-plain address is a 400 naming the field and stores nothing; blanks and
    case around a plain one are canonicalised into one lead."""
    seed_company(db)
    client = function_client("lead_intake")
    for address in NOT_PLAIN:
        res = client.post("/", json={"form_key": KEY, "email": address})
        assert "not a valid email address" in refused_field(res, "email"), address
    assert {} == docs(db, "companies/acme/leads")
    statuses = [
        client.post("/", json={"form_key": KEY, "email": address}).status_code for address in SAME
    ]
    leads = docs(db, "companies/acme/leads")
    assert ([201, 200, 200], [lead_id_for(VICTIM)]) == (statuses, list(leads))
    lead = leads[lead_id_for(VICTIM)]
    assert (VICTIM, VICTIM, 3) == (
        lead["email"],
        lead["email_normalized"],
        lead["submission_count"],
    )


def test_staff_api_newsletter_and_suppressions_take_only_a_plain_address(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """Leads and outreach contacts made by staff, newsletter signups and suppressions staff
    record: a not-plain address is a 400 and nothing is stored; a suppression written
    with capitals is found by the plain address."""
    seed_company(db)
    api, manager = function_client("staff_api"), staff_auth("acme", "manager")
    signup = function_client("newsletter_signup")
    for address in NOT_PLAIN:
        lead = api.post("/companies/acme/leads", json={"email": address}, headers=manager)
        contact = {"email": address}
        made = api.post("/companies/acme/outreach_contacts", json=contact, headers=manager)
        sup = {"channel": "email", "address": address}
        suppressed = api.post("/companies/acme/suppressions", json=sup, headers=manager)
        sub = signup.post("/", json={"form_key": KEY, "email": address}, headers={"Origin": SITE})
        assert [400, 400, 400, 400] == [r.status_code for r in (lead, made, suppressed, sub)], (
            address
        )
    for collection in ("leads", "outreach_contacts", "suppressions", "newsletter_subscriptions"):
        assert {} == docs(db, f"companies/acme/{collection}"), collection
    sup = {"channel": "email", "address": " Victim@Example.com"}
    assert 201 == api.post("/companies/acme/suppressions", json=sup, headers=manager).status_code
    stored = db.document(suppression_path("acme", "email", VICTIM)).get().to_dict()
    assert VICTIM == stored["address"]


def test_the_outreach_import_refuses_rows_without_a_plain_address(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """Each row whose contact e-mail is not plain is reported and creates no contact; a
    capitalised one is stored canonical."""
    seed_company(db)
    bad = [a for a in NOT_PLAIN if "\x00" not in a]  # NUL refuses the whole file
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["business_name", "domain", "contact_email"])
    writer.writerows([f"Biz {i}", f"biz{i}.example", a] for i, a in enumerate(bad))
    writer.writerow(["Ok", "ok.example", "Ann@OK.example"])
    text = out.getvalue()
    res = function_client("outreach_import").post(
        "/", data=text, headers={**staff_auth("acme", "manager"), "Content-Type": "text/csv"}
    )
    report = res.get_json()
    assert 200 == res.status_code, report
    assert len(bad) == len(report["errors"])
    assert all("contact_email" in e["fields"] for e in report["errors"]), report["errors"]
    contacts = docs(db, "companies/acme/outreach_contacts")
    assert [("ann@ok.example", "ann@ok.example")] == [
        (c["email"], c["email_normalized"]) for c in contacts.values()
    ]


def seed_spelled_lead(db: Any, lead_id: str, email: str) -> None:
    """A lead as the old check stored it: the address as sent, lower-cased as its key."""
    consent = {"given": True, "text": "Yes, e-mail me"}
    fields = {"name": "Vic Tim", "status": "new", "consent": consent}
    seed_lead(db, email, lead_id=lead_id, email_normalized=email.strip().lower(), **fields)


def test_no_spelling_of_a_suppressed_address_gets_marketing(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """The victim unsubscribed; leads stored before this fix under other spellings of the
    address (angle brackets, a display name, capitals) get no campaign mail: a send
    checks the address it would really go to, and sends only to a plain one."""
    seed_company(db)
    api, manager = function_client("staff_api"), staff_auth("acme", "manager")
    sup = {"channel": "email", "address": VICTIM}
    assert 201 == api.post("/companies/acme/suppressions", json=sup, headers=manager).status_code
    seed_spelled_lead(db, "angle", "<victim@example.com>")
    seed_spelled_lead(db, "named", '"Victim" <victim@example.com>')
    seed_spelled_lead(db, "caps", " Victim@Example.COM")
    seed_spelled_lead(db, "ann", "ann@example.com")
    campaign_id, _ = send_campaign(db, function_client, staff_auth, "News", template=EMAIL)
    assert ["ann@example.com"] == [d["to"] for d in docs(db, "outbox").values()]
    recipients = docs(db, f"companies/acme/campaigns/{campaign_id}/recipients")
    reasons = {k: r.get("reason") for k, r in recipients.items() if k != "ann"}
    assert {
        "angle": "blocked: not a plain e-mail address",
        "named": "blocked: not a plain e-mail address",
        "caps": "blocked: suppressed (manual)",
    } == reasons


def test_an_unsubscribe_link_mailed_to_a_bracketed_address_suppresses_the_address(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """A link mailed before this fix names the address as it was sent
    (``<victim@example.com>``): following it suppresses victim@example.com itself, so
    the next campaign does not mail them."""
    seed_company(db)
    link = links_from_settings().unsubscribe_url("acme", "email", "<victim@example.com>", "s1")
    res = function_client("unsubscribe").post(f"/?{urlsplit(link).query}")
    assert 200 == res.status_code, res.get_data()
    stored = db.document(suppression_path("acme", "email", VICTIM)).get().to_dict()
    assert (VICTIM, "unsubscribed") == (stored["address"], stored["reason"])
    seed_spelled_lead(db, "vic", VICTIM)
    send_campaign(db, function_client, staff_auth, "News", template=EMAIL)
    assert [] == [d["to"] for d in docs(db, "outbox").values()]


def test_the_messenger_sends_only_to_a_plain_address(db: Any, functions_env: None) -> None:
    """The last gate, for any mail (transactional too): a not-plain recipient is refused
    for good and nothing is recorded; a capitalised one goes to the canonical address."""
    messenger = bootstrap.messenger()
    for i, address in enumerate(NOT_PLAIN):
        with pytest.raises(InvalidInput):
            messenger.send(OutboundMessage("email", address, "Hi", "Hello", f"k{i}"))
    assert {} == docs(db, "outbox")
    messenger.send(OutboundMessage("email", " Victim@Example.COM", "Hi", "Hello", "k-ok"))
    assert [VICTIM] == [d["to"] for d in docs(db, "outbox").values()]


def test_a_lead_stored_with_a_bracketed_address_can_still_be_edited(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """Staff can still work a lead stored before this fix (a PATCH keeps its stored key
    instead of reading its address again), and no mail goes to it."""
    seed_company(db)
    seed_spelled_lead(db, "angle", "<victim@example.com>")
    api, manager = function_client("staff_api"), staff_auth("acme", "manager")
    res = api.patch("/companies/acme/leads/angle", json={"status": "lost"}, headers=manager)
    assert (200, "lost") == (res.status_code, res.get_json()["status"])


def test_an_invitation_takes_only_a_plain_address(
    db: Any, function_client: Any, staff_auth: Any, auth_emulator: Any
) -> None:
    """Inviting staff reads the address the same way: not plain is a 400, and neither an
    Auth account nor a profile nor a mail is made."""
    seed_company(db)
    admin = staff_auth("acme", "admin")
    users = function_client("company_users")
    for address in ("<sam@acme.example>", '"Sam" <sam@acme.example>'):
        res = users.post("/companies/acme/users", json={"email": address}, headers=admin)
        assert "not a valid email address" in refused_field(res, "email"), address
    assert ({}, {}) == (docs(db, "companies/acme/users"), docs(db, "outbox"))
