"""Text that ends in a header is one line, through the functions and the local Firestore
with the real client: names and company names (in subjects), subject templates and the
thank-you URL (a Location header). A line break there injects a header ("Jane\\r\\nBcc:
...") or makes the mail library refuse the message: it was stored, then the send raised.
Now it is a 400 where it is typed, and text stored before goes out on one line."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from shared import bootstrap
from tests.integration.event_support import memory_queue
from tests.integration.test_messaging import Mailbox, free_port
from tests.support import SITE, docs, seed_company

KEY = "acme.public-key-123"
# (Blanks around a value are trimmed as ever; these are inside it.)
BROKEN = ["Jane\r\nBcc: x@evil.example", "Jane\nDoe", "Jane\x00", "Jane\u2028Doe", "Jane\x85Doe"]


def field_of(res: Any) -> str:
    """The one field a 400 names."""
    assert 400 == res.status_code, (res.status_code, res.get_data())
    (field,) = res.get_json()["error"]["details"]["fields"]
    return str(field)


def test_visitors_names_are_one_line(db: Any, function_client: Any) -> None:
    """Lead forms, newsletter signups and downloads: a name with a line break or a control
    character is a 400 naming it, and nothing is stored."""
    seed_company(db)
    db.document("companies/acme/resources/guide").set({"title": "Guide", "file_url": SITE})
    forms = {
        "lead_intake": {"form_key": KEY, "email": "jane@example.com"},
        "newsletter_signup": {"form_key": KEY, "email": "jane@example.com"},
        "download_resource": {"form_key": KEY, "email": "jane@example.com", "resource_id": "guide"},
    }
    for function, body in forms.items():
        client = function_client(function)
        for name in BROKEN:
            res = client.post("/", json={**body, "name": name}, headers={"Origin": SITE})
            assert "name" == field_of(res), (function, name)
    for collection in ("leads", "newsletter_subscriptions", "resource_downloads"):
        assert {} == docs(db, f"companies/acme/{collection}"), collection
    assert {} == docs(db, "outbox")


def test_staff_names_subjects_and_urls_are_one_line(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """Through the staff API: a lead's name, the company's name and thank-you URL, a
    resource's file URL (the download's Location), an outreach contact's and a
    business's names, a campaign's subject template; through the workflows function, a
    send_email subject. Each is a 400 naming the field."""
    seed_company(db)
    api, admin = function_client("staff_api"), staff_auth("acme", "admin")
    broken = "Jane\r\nBcc: x@evil.example"
    writes = [
        ("post", "leads", {"email": "jane@example.com", "name": broken}, "name"),
        ("patch", "", {"name": broken}, "name"),
        ("patch", "", {"settings": {"thank_you_url": f"{SITE}/\r\nX: 1"}}, "thank_you_url"),
        ("post", "resources", {"title": "Guide", "file_url": f"{SITE}/a\x00b"}, "file_url"),
        ("post", "outreach_contacts", {"email": "a@b.example", "first_name": broken}, "first_name"),
        ("post", "businesses", {"name": broken}, "name"),
        (
            "post",
            "campaigns",
            {"name": "C", "template": {"subject": broken, "body": "Hi"}},
            "subject",
        ),
    ]
    for method, collection, body, field in writes:
        path = f"/companies/acme/{collection}".rstrip("/")
        res = getattr(api, method)(path, json=body, headers=admin)
        assert field == field_of(res).rsplit(".", 1)[-1], (collection, body)
    step = {"id": "hello", "type": "send_email", "subject": broken, "body": "Hi"}
    flow = {"name": "W", "trigger": {"type": "manual"}, "steps": [step]}
    res = function_client("workflows").post("/", json={"id": "w", "workflow": flow}, headers=admin)
    assert 400 == res.status_code, res.get_json()
    assert "Acme Plumbing" == db.document("companies/acme").get().get("name")
    stored = ("leads", "outreach_contacts", "businesses", "campaigns", "workflows", "resources")
    for collection in stored:
        assert {} == docs(db, f"companies/acme/{collection}"), collection


def test_the_import_refuses_rows_with_line_breaks_in_names(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """A CSV cell may hold a line break (quoted); in a name it makes the row an error."""
    seed_company(db)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["business_name", "domain", "contact_email", "contact_first_name"])
    writer.writerow(["Acme\r\nBcc: x@evil.example", "acme.example", "", ""])
    writer.writerow(["Bolt", "bolt.example", "carl@bolt.example", "Carl\nBcc: x@evil.example"])
    writer.writerow(["Cog", "cog.example", "dora@cog.example", "Dora"])
    res = function_client("outreach_import").post(
        "/",
        data=out.getvalue(),
        headers={**staff_auth("acme", "manager"), "Content-Type": "text/csv"},
    )
    report = res.get_json()
    assert [(2, ["business_name"]), (3, ["contact_first_name"])] == [
        (e["row"], list(e["fields"])) for e in report["errors"]
    ]
    assert ["Cog"] == [b["name"] for b in docs(db, "companies/acme/businesses").values()]


@pytest.fixture
def mailbox(functions_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A real SMTP server on a free port, the SMTP messenger pointed at it."""
    handler, port = Mailbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("GROWTHKIT_MAIL_BACKEND", "smtp")
    monkeypatch.setenv("GROWTHKIT_SMTP_PORT", str(port))
    monkeypatch.setenv("GROWTHKIT_SMTP_TLS", "none")  # a plain local server
    bootstrap.reset()
    yield handler
    controller.stop()


def test_names_stored_before_go_out_on_one_line(
    db: Any, mailbox: Mailbox, function_client: Any, staff_auth: Any, monkeypatch: Any
) -> None:
    """A company name stored with a line break (before this check) in a review request's
    subject: the mail reaches the SMTP server with the subject on one line and no
    injected header (the send raised: a 500 after the review was reserved). A thank-you
    URL stored with one is not used: the lead is stored and answered, without a
    redirect."""
    memory_queue(monkeypatch)  # the reminders' tasks, recorded in memory
    settings = {"min_submit_seconds": 0, "review_urls": {"google": "https://g.example/acme"}}
    settings["thank_you_url"] = f"{SITE}/thanks\r\nSet-Cookie: x=1"
    seed_company(db, name="Acme\r\nBcc: x@evil.example", settings=settings)
    lead = {"id": "l1", "company_id": "acme", "email": "jane@example.com", "name": "Jane"}
    db.document("companies/acme/leads/l1").set({**lead, "email_normalized": lead["email"]})
    res = function_client("request_review").post(
        "/", json={"lead_id": "l1"}, headers=staff_auth("acme", "manager")
    )
    assert 201 == res.status_code, res.get_json()
    (mail,) = mailbox.messages()
    subject = "How was your experience with Acme Bcc: x@evil.example?"
    assert (subject, None) == (str(mail["Subject"]), mail["Bcc"])
    assert ["jane@example.com"] == [r for e in mailbox.envelopes for r in e.rcpt_tos]
    form = f"form_key={KEY}&email=bob%40example.com"
    posted = function_client("lead_intake").post(
        "/", data=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (201, None) == (posted.status_code, posted.headers.get("Location"))
