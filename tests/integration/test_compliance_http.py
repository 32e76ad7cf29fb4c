"""Opting out through the public functions, against the local Firestore: a STOP reply
suppresses the next SMS, and a marketing e-mail arrives at a real SMTP server (aiosmtpd)
with its List-Unsubscribe headers, whose one-click POST unsubscribes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from shared import bootstrap
from shared.adapters.sms import signature
from shared.campaigns.domain.compliance import suppression_path
from tests.fakes import FakeTaskQueue
from tests.outreach_support import run_due_tasks, zone_at_hour
from tests.support import Mailbox, docs, seed_company, seed_lead

SMS = {"body": "Spring offer for {{ lead.first_name }}"}
EMAIL = {"subject": "Spring", "body": "Hello {{ lead.first_name }}, see https://acme.example"}


def seed_consenting(db: Any, lead_id: str, **fields: Any) -> None:
    """{lead_id}@example.com, a new lead: marketing reaches only people who consented."""
    fields = {
        "name": f"{lead_id.title()} Doe",
        "status": "new",
        "consent": {"given": True},
        **fields,
    }
    seed_lead(db, f"{lead_id}@example.com", lead_id=lead_id, **fields)


def send_campaign(
    db: Any, function_client: Any, staff_auth: Any, name: str, **fields: Any
) -> tuple[str, list[Any]]:
    """Save a campaign through staff_api, start it, run its tasks; (its id, the results)."""
    headers = staff_auth("acme", "manager")
    body = {"name": name, **fields}
    created = function_client("staff_api").post(
        "/companies/acme/campaigns", json=body, headers=headers
    )
    campaign_id = created.get_json()["id"]
    start = {"action": "start", "campaign_id": campaign_id}
    assert 200 == function_client("campaigns").post("/", json=start, headers=headers).status_code
    return campaign_id, run_due_tasks(db, function_client)


def test_a_stop_reply_suppresses_the_next_sms(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """Ann replies STOP (the provider's webhook, form-encoded): she is told she is out, and
    the next campaign's SMS goes to Bob only; HELP answers with the help text; Bob's
    answer marks him responded, with the reply on his timeline."""
    seed_company(db)
    daytime = zone_at_hour(12)  # quiet hours are not what this test is about
    seed_consenting(db, "ann", phone="+1 (555) 010-2030", timezone=daytime)
    seed_consenting(db, "bob", phone="+15550109999", timezone=daytime)
    inbound = function_client("sms_inbound")
    stop = inbound.post("/?company_id=acme", data={"From": "+15550102030", "Body": "STOP"})
    assert (200, "text/xml") == (stop.status_code, stop.mimetype)
    assert "you are unsubscribed" in stop.get_data(as_text=True)
    helped = inbound.post("/?company_id=acme", data={"From": "+15550102030", "Body": "HELP"})
    assert "Reply STOP to opt out, START to opt back in" in helped.get_data(as_text=True)
    campaign_id, _ = send_campaign(
        db, function_client, staff_auth, "Spring SMS", channel="sms", template=SMS
    )
    outbox = [(d.get("channel"), d.get("to")) for d in db.collection("outbox").stream()]
    assert [("sms", "+15550109999")] == outbox
    ann = db.document(f"companies/acme/campaigns/{campaign_id}/recipients/ann").get()
    assert ("excluded", "blocked: suppressed (sms_stop)") == (ann.get("status"), ann.get("reason"))
    answer = {"From": "+15550109999", "Body": "Sounds good", "MessageSid": "SM42"}
    assert 200 == inbound.post("/?company_id=acme", data=answer).status_code
    bob = db.document(f"companies/acme/campaigns/{campaign_id}/recipients/bob").get()
    replies = [
        i.get("status") for i in db.collection("companies/acme/leads/bob/interactions").stream()
    ]
    # The campaign's SMS only went to the outbox (queued); Bob's answer is on record.
    assert ("responded", ["queued", "replied"]) == (bob.get("status"), sorted(replies))


def test_start_lifts_a_stop_and_signed_webhooks_only_when_a_token_is_set(
    db: Any, function_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the provider's token configured an unsigned webhook is a 401; a signed STOP
    suppresses and a signed START lifts it."""
    seed_company(db)
    monkeypatch.setenv("GROWTHKIT_SMS_AUTH_TOKEN", "provider-secret")
    bootstrap.reset()
    inbound = function_client("sms_inbound")
    url = "http://127.0.0.1:8080/sms_inbound?company_id=acme"

    def post(body: str, signed: bool = True) -> Any:
        form = {"From": "+15550102030", "Body": body}
        sig = signature(url, form, "provider-secret") if signed else "forged"
        return inbound.post("/?company_id=acme", data=form, headers={"X-Twilio-Signature": sig})

    path = suppression_path("acme", "sms", "+15550102030")
    assert 401 == post("STOP", signed=False).status_code
    assert not db.document(path).get().exists
    assert 200 == post("Stop please").status_code
    assert db.document(path).get().exists
    assert "subscribed again" in post("START").get_data(as_text=True)
    assert not db.document(path).get().exists


def test_list_unsubscribe_headers_arrive_and_one_click_unsubscribes(
    db: Any, queue: FakeTaskQueue, smtp_mailbox: Mailbox, function_client: Any, staff_auth: Any
) -> None:
    """The e-mail at the SMTP server has List-Unsubscribe (https) and the one-click
    header, the postal address and an HTML part; GET on the link asks to confirm, the
    one-click POST suppresses the address, and the next campaign does not mail it."""
    seed_company(db)
    seed_consenting(db, "ann")
    campaign_id, _ = send_campaign(db, function_client, staff_auth, "News", template=EMAIL)
    (mail,) = smtp_mailbox.messages()
    link = str(mail["List-Unsubscribe"]).strip("<>")
    text, page = (p.get_payload(decode=True).decode() for p in mail.get_payload())
    assert "List-Unsubscribe=One-Click" == mail["List-Unsubscribe-Post"]
    assert "1 Main Street, Springfield" in text and "/track_open?t=" in page
    parts = urlsplit(link)
    client = function_client("unsubscribe")
    confirm = client.get(f"/?{parts.query}")
    assert (200, True) == (
        confirm.status_code,
        '<form method="post">' in confirm.get_data(as_text=True),
    )
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    done = client.post(f"/?{parts.query}", data="List-Unsubscribe=One-Click", headers=form)
    suppression = db.document(suppression_path("acme", "email", "ann@example.com")).get()
    assert (200, "unsubscribed", "one_click") == (
        done.status_code,
        suppression.get("reason"),
        suppression.get("source"),
    )
    stats = db.document(f"companies/acme/campaigns/{campaign_id}").get().get("stats")
    assert 1 == stats["unsubscribed"]
    send_campaign(db, function_client, staff_auth, "More news", template=EMAIL)
    assert 1 == len(smtp_mailbox.messages())


def test_a_tampered_unsubscribe_link_is_refused(db: Any, function_client: Any) -> None:
    """A token changed by one character is a 400 and suppresses nobody."""
    seed_company(db)
    res = function_client("unsubscribe").post("/?t=eyJwIjoidW5zdWIifQ.AAAA")
    assert (400, {}) == (res.status_code, docs(db, "companies/acme/suppressions"))


def test_staff_set_a_leads_time_zone(db: Any, function_client: Any, staff_auth: Any) -> None:
    """``timezone`` on a lead (quiet hours run on its clock) is written through staff_api,
    and an unknown zone is a 400 naming the field."""
    seed_company(db)
    seed_consenting(db, "ann")
    api, headers = function_client("staff_api"), staff_auth("acme", "manager")
    ok = api.patch("/companies/acme/leads/ann", json={"timezone": "Asia/Tokyo"}, headers=headers)
    bad = api.patch("/companies/acme/leads/ann", json={"timezone": "Mars/Base"}, headers=headers)
    stored = db.document("companies/acme/leads/ann").get().get("timezone")
    assert (200, 400, "Asia/Tokyo") == (ok.status_code, bad.status_code, stored)
    assert "timezone" in bad.get_json()["error"]["details"]["fields"]
