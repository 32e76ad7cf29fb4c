"""The seeded world hostile traffic runs against: two companies, and one of everything in
Acme (a lead with a note, a referral code, a review with a due reminder, a content draft,
a campaign with a template, a workflow with a branch, an imported business and contact, an
inactive scoring rule), created through the functions themselves where
a function writes them, so the seed is exactly what the code writes.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from localcloud.eventarc import event_data, event_headers, matches
from shared.devstack.manifest import growthkit_manifest
from shared.domain.leads import lead_id_for
from shared.domain.reviews import reminder_task_id
from shared.domain.tasks import task_path
from tests.hostile.traffic import Credentials, HostileRequest
from tests.integration.event_support import ProjectFeed
from tests.support import SITE, seed_company

KEY = "acme.public-key-123"
JANE = "jane@example.com"
LEAD = lead_id_for(JANE)
CONTENT = "c1"
# Limits far above what a test sends: rate limiting has its own tests (test_rate_limits).
SETTINGS = {
    "min_submit_seconds": 0,
    "submissions_per_ip_per_hour": 1_000_000,
    "submissions_per_company_per_minute": 1_000_000,
    "review_urls": {"google": "https://g.example/acme"},
}


@dataclass
class World:
    """Clients of every function, credentials, known ids and real CloudEvent deliveries."""

    db: Any
    client_factory: Any
    credentials: Credentials
    hints: dict[str, list[Any]]
    deliveries: dict[str, tuple[dict[str, str], bytes]] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, name: str) -> Any:
        if name not in self._clients:
            self._clients[name] = self.client_factory(name)
        return self._clients[name]

    def send(self, name: str, req: HostileRequest) -> Any:
        return self.client(name).open(
            req.path, method=req.method, headers=req.headers, data=req.body
        )


def credentials(token_issuer: Any, project_id: str, staff: Any) -> Credentials:
    """Good tokens for Acme staff; tokens of another company, expired, for another
    project, without a role, with a forged signature, and unsigned."""
    expired = token_issuer.token(project_id, expires_in=-600, company_id="acme", role="admin")
    foreign = token_issuer.token("another-project", company_id="acme", role="admin")
    roleless = token_issuer.token(project_id, company_id="acme")
    good = staff("acme", role="admin")["Authorization"]
    header, payload, signature = good.removeprefix("Bearer ").split(".")
    unsigned_header = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).decode()
    return Credentials(
        good=[
            good,
            staff("acme", role="manager")["Authorization"],
            staff("acme", role="user")["Authorization"],
        ],
        bad=[
            staff("other", role="admin")["Authorization"],
            f"Bearer {expired}",
            f"Bearer {foreign}",
            f"Bearer {roleless}",
            f"Bearer {header}.{payload}.{signature[::-1]}",
            f"Bearer {unsigned_header.rstrip('=')}.{payload}.",
        ],
    )


def seed(world: World, feed: ProjectFeed) -> None:
    """Acme's lead, code, review (with its first reminder due) and draft; the deliveries
    Eventarc made of those writes."""
    seed_company(world.db, settings=SETTINGS)
    seed_company(world.db, "other", settings=SETTINGS)
    admin = {"Authorization": world.credentials.good[0]}
    lead = world.client("lead_intake").post(
        "/", json={"form_key": KEY, "email": JANE, "name": "Jane"}
    )
    assert 201 == lead.status_code, lead.get_data()
    code = world.client("referral_codes").post(
        "/", json={"referrer_email": JANE, "max_uses": 1000}, headers=admin
    )
    assert 201 == code.status_code, code.get_data()
    review = world.client("request_review").post("/", json={"lead_id": LEAD}, headers=admin)
    assert 201 == review.status_code, review.get_data()
    review_id = review.get_json()["id"]
    reminder = reminder_task_id("acme", review_id, 1)
    past = datetime.now(UTC) - timedelta(minutes=1)
    world.db.document(task_path("acme", reminder)).update({"scheduled_for": past})
    world.db.document(f"companies/acme/content/{CONTENT}").set(
        {"title": "Spring", "type": "social", "body": "Hi", "status": "draft"}
    )
    made = _seed_later(world, admin)
    world.hints.update(
        code=[code.get_json()["referral"]["code"]],
        review_id=[review_id],
        task_id=[reminder],
        **made,
    )
    world.hints["id"] = sorted(
        {LEAD, CONTENT, review_id, *(v for k in IDS for v in made.get(k, []))}
    )
    world.deliveries.update(_deliveries(feed))


IDS = ("campaign_id", "workflow_id", "contact_id", "business_id", "note_id", "rule_id")
WORKFLOW = {
    "name": "Welcome",
    "trigger": {"type": "manual"},
    "steps": [
        {"id": "hello", "type": "send_email", "subject": "Hi {first_name}", "body": "Welcome"},
        {
            "id": "check",
            "type": "branch",
            "branch": {
                "condition": {"kind": "field", "field": "status", "op": "==", "value": "new"},
                "then": "tag",
                "else": "done",
            },
        },
        {"id": "tag", "type": "add_tag", "tag": "welcomed"},
        {"id": "done", "type": "exit"},
    ],
}
CAMPAIGN = {
    "name": "Spring",
    "channel": "email",
    "target": {"lead_statuses": ["new"]},
    "template": {"subject": "Hi {{ lead.first_name }}", "body": "Spring deals for {{ lead.name }}"},
}
# An inactive rule: a real delivery for on_scoring_rule_written, no score changed.
RULE = {
    "name": "Owner",
    "category": "demographic",
    "points": 5,
    "active": False,
    "criteria": [{"field": "phone", "op": "exists"}],
}
CSV = (
    "business_name,domain,contact_email,contact_first_name\n"
    "Beta Ltd,beta.example,bob@beta.example,Bob\n"
)


def _seed_later(world: World, admin: dict[str, str]) -> dict[str, list[Any]]:
    """A campaign, a workflow, an imported business and contact, a note and a scoring
    rule, created through their functions; their ids by hint name."""

    def created(name: str, path: str, body: Any, **kw: Any) -> dict[str, Any]:
        res = world.client(name).post(path, json=body, headers=admin, **kw)
        assert res.status_code in (200, 201), (name, res.get_data())
        answer: dict[str, Any] = res.get_json()
        return answer

    campaign = created("staff_api", "/companies/acme/campaigns", CAMPAIGN)
    workflow = created("workflows", "/", {"workflow": WORKFLOW, "id": "welcome"})["workflow"]
    imported = created("outreach_import", "/", {"csv": CSV})
    assert 1 == imported["contacts_created"], imported
    contacts = world.db.collection("companies/acme/outreach_contacts").stream()
    contact = next(iter(contacts)).to_dict()
    note = created("staff_api", f"/companies/acme/leads/{LEAD}/notes", {"body": "Called"})
    rule = created("staff_api", "/companies/acme/scoring_rules", RULE)
    return {
        "campaign_id": [campaign["id"]],
        "workflow_id": [workflow["id"]],
        "contact_id": [contact["id"]],
        "business_id": [contact["business_id"]],
        "note_id": [note["id"]],
        "rule_id": [rule["id"]],
        "recipient_id": [LEAD, contact["id"]],
    }


def _deliveries(feed: ProjectFeed) -> dict[str, tuple[dict[str, str], bytes]]:
    """The last real delivery of each event function, as the Eventarc bridge builds it."""
    found = {}
    functions = growthkit_manifest().functions
    for commit in feed.commits:
        for change in commit.changes:
            document = change.name.split("/documents/", 1)[1]
            for function in functions:
                if matches(function, change, document):
                    found[function.name] = (
                        event_headers(function, change, commit),
                        event_data(change),
                    )
    return found


def hints() -> dict[str, list[Any]]:
    """Values that exist in the seeded world, by property name."""
    return {
        "form_key": [KEY],
        "key": [KEY],
        "email": [JANE, "new@example.com", "Jane@Example.com"],
        "referrer_email": [JANE],
        "lead_id": [LEAD],
        "referrer_lead_id": [LEAD],
        "content_id": [CONTENT],
        "company_id": ["acme"],
        "companyId": ["acme", "acme", "other"],
        "leadId": [LEAD],
        "uid": ["me"],
        "From": ["+15551234567", "+447700900123"],
        "Body": ["STOP", "START", "HELP", "hello"],
        "origin": [SITE],
        "status": ["active", "used", "expired"],
        "platforms": [["blog"], ["blog", "linkedin"]],
    }
