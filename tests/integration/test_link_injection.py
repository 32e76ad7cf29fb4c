"""A visitor cannot put links into a company's own e-mail: what a visitor typed into a
public form (name, custom fields), filled into a workflow or campaign e-mail, is plain
text; only the links staff wrote in the template are clickable and tracked. Click links
expire. Through lead_intake, workflows, staff_api, campaigns, run_task and track_click
with the local Firestore and the real clients; mail read from the outbox."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from shared import bootstrap
from shared.campaigns.domain.compliance import sign, unsign
from shared.domain.leads import lead_id_for
from shared.settings import get_settings
from tests.fakes import FakeClock
from tests.integration.event_support import memory_queue
from tests.outreach_support import run_due_tasks
from tests.support import SITE, seed_company

KEY = "acme.public-key-123"
EVIL = "https://evil.example/login"
OFFER = "https://acme.example/offer"
BROWSER = {
    "User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
}


@pytest.fixture
def visitor(
    db: Any, function_client: Any, functions_env: None, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A lead from the public form whose name and custom field carry a URL; its id."""
    memory_queue(monkeypatch)
    seed_company(db)
    form = {"email": "jane@example.com", "name": f"Jane {EVIL}", "budget": f"see {EVIL}?b=1"}
    form |= {"consent": True, "consent_text": "Yes, e-mail me"}  # marketing needs it
    res = function_client("lead_intake").post(f"/?key={KEY}", json=form, headers={"Origin": SITE})
    assert 201 == res.status_code, res.get_json()
    return lead_id_for("jane@example.com")


def outbox(db: Any) -> dict[str, Any]:
    (message,) = [d.to_dict() for d in db.collection("outbox").stream()]
    return message


def click_targets(message: dict[str, Any]) -> list[str]:
    """The URL signed into every track_click link of both parts."""
    key = get_settings().signing_key.get_secret_value().encode()
    tokens = re.findall(r"/track_click\?t=([A-Za-z0-9_.\-%]+)", message["body"] + message["html"])
    return sorted({unsign(t.replace("%3D", "="), key, "click")["u"] for t in tokens})


def hrefs(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]*)"', html)


def assert_plain(message: dict[str, Any]) -> None:
    """The visitor's URL is there as text, in no link; the staff's link is tracked."""
    assert [OFFER] == click_targets(message)
    assert not [h for h in hrefs(message["html"]) if "evil" in h]
    assert EVIL in message["body"] and EVIL in message["html"]


def test_a_visitors_url_in_a_workflow_email_is_plain_text(
    db: Any, visitor: str, function_client: Any, staff_auth: Any
) -> None:
    body = f"Hi {{name}}, our offer: {OFFER} (budget: {{custom_fields.budget}})"
    email = {"type": "send_email", "subject": "Hi {first_name}", "body": body}
    workflow = {"name": "Welcome", "trigger": {"type": "manual"}, "steps": [email]}
    client, headers = function_client("workflows"), staff_auth("acme")
    assert (
        201 == client.post("/", json={"id": "w", "workflow": workflow}, headers=headers).status_code
    )
    enrol = {"action": "enrol", "id": "w", "lead_id": visitor}
    assert 201 == client.post("/", json=enrol, headers=headers).status_code
    run_due_tasks(db, function_client)
    assert_plain(outbox(db))


def test_a_visitors_url_in_a_campaign_email_is_plain_text(
    db: Any, visitor: str, function_client: Any, staff_auth: Any
) -> None:
    template = {
        "subject": "Spring",
        "body": f"Hello {{{{ lead.name }}}}: {OFFER} ({{{{ lead.custom_fields.budget }}}})",
    }
    headers = staff_auth("acme", "manager")
    created = function_client("staff_api").post(
        "/companies/acme/campaigns", json={"name": "Spring", "template": template}, headers=headers
    )
    start = {"action": "start", "campaign_id": created.get_json()["id"]}
    function_client("campaigns").post("/", json=start, headers=headers)
    run_due_tasks(db, function_client)
    assert_plain(outbox(db))


def test_click_links_expire_with_a_page_not_a_redirect(
    db: Any, visitor: str, function_client: Any, staff_auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A click link works for a year (``click_link_max_age_days``); then, and for a
    token without an issue time (signed before links expired), a browser gets a page
    saying the link expired, and no Location."""
    email = {"type": "send_email", "subject": "Hi", "body": f"Offer: {OFFER}"}
    workflow = {"name": "W", "trigger": {"type": "manual"}, "steps": [email]}
    client, headers = function_client("workflows"), staff_auth("acme")
    client.post("/", json={"id": "w", "workflow": workflow}, headers=headers)
    client.post("/", json={"action": "enrol", "id": "w", "lead_id": visitor}, headers=headers)
    run_due_tasks(db, function_client)
    link = urlsplit(re.findall(r"https?://\S+/track_click\?t=\S+", outbox(db)["body"])[0])
    token = parse_qs(link.query)["t"][0]
    key = get_settings().signing_key.get_secret_value().encode()
    legacy = sign({k: v for k, v in unsign(token, key, "click").items() if k != "i"}, key)
    answers = []
    for days, t in ((364, token), (366, token), (0, legacy)):
        at = datetime.now(UTC) + timedelta(days=days)
        monkeypatch.setattr(bootstrap, "clock", FakeClock(at))
        res = function_client("track_click").get(f"/?t={t}", headers=BROWSER)
        page = "expired" in res.get_data(as_text=True) and res.mimetype
        answers.append((res.status_code, res.headers.get("Location"), page))
    assert [(302, OFFER), (409, None), (409, None)] == [(s, loc) for s, loc, _ in answers]
    assert ["text/html", "text/html"] == [page for _, _, page in answers[1:]]
