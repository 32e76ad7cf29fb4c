"""The first request of every function a cold start measures.

The operations of bench/scenarios.py come first; then one realistic request for each of
the other functions, as its caller sends it: the staff app with a signed ID token and a
path under ``/companies/{c}``, websites by form key with their Origin, mail clients and
people following the signed links of a message really sent (through the outbox) to a
lead, the e-mail and SMS providers' webhooks, Cloud Scheduler's headers, and Eventarc's
CloudEvents for the document changes the triggers react to. ``prepare`` seeds what the
request needs in the bench's Firestore (the company, its staff profile, workflows,
scoring rules, a campaign...) so that each request does its function's real work.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.scenarios import OPERATIONS, OTHERS, Request, Scenario, event, json_request, scheduled
from bench.stack import (
    COMPANY,
    FORM_KEY,
    SITE,
    STAFF_EMAIL,
    STAFF_UID,
    BenchStack,
    seed_company,
    seed_lead,
)

# A second company for the scoring-rule triggers, so its rules leave acme's scoring as the
# other benchmarks measure it.
RULES_COMPANY = "globex"
RULE_ID = "email-engagement"
RESOURCE_ID = "pricing-guide"
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15"
CSV_HEADER = "Business Name,Website,Industry,Email,First Name,Title\n"
DECAY = {"engagement_decay_percent": 25, "engagement_decay_days": 30}
WELCOME = {"type": "send_email", "subject": "Hi {first_name}", "body": "Welcome to {company}"}


def _staff(role: str = "manager") -> Any:
    """The identity the services see for ``stack.staff(role)``'s token."""
    from shared.domain.identity import Role, StaffIdentity

    return StaffIdentity(STAFF_UID, COMPANY, Role(role))


def _once(stack: BenchStack, path: str, make: Callable[[], None]) -> None:
    """``make`` unless ``path`` exists already (seeding shared by the runs)."""
    if not stack.db.document(path).get().exists:
        make()


# Staff functions: the app, with an ID token.


def staff_leads(stack: BenchStack, n: int) -> Request:
    """The app's lead list, newest first."""
    seed_lead(stack.db, f"listed{n}@example.com")
    path = "/companies/acme/leads?" + urlencode({"sort": "-created_at", "limit": 25})
    return Request("GET", b"", stack.staff(), path)


def _staff_profile(stack: BenchStack) -> None:
    """The profile of the staff member behind ``stack.staff()``'s tokens."""
    from shared.domain.users import CompanyUser

    now = datetime.now(UTC)
    profile = CompanyUser(
        id=STAFF_UID,
        company_id=COMPANY,
        email=STAFF_EMAIL,
        name="Sam",
        role=_staff().role,
        created_at=now,
        updated_at=now,
    )
    path = f"companies/{COMPANY}/users/{STAFF_UID}"
    stack.db.document(path).set(profile.model_dump(mode="python"))


def sign_in(stack: BenchStack, _n: int) -> Request:
    """The app reports a sign-in (its first call after Firebase Auth's)."""
    _staff_profile(stack)
    return Request("POST", b"", stack.staff(), "/companies/acme/users/me/session")


def save_workflow(stack: BenchStack, n: int) -> Request:
    """A manager saves a new nurture workflow."""
    steps = [WELCOME, {"type": "wait", "duration": {"days": 2}}, {**WELCOME, "id": "nudge"}]
    workflow = {"name": f"Nurture {n}", "trigger": {"type": "manual"}, "steps": steps}
    return json_request({"workflow": workflow}, stack.staff())


def book_consultation(stack: BenchStack, n: int) -> Request:
    """Staff book an hour with a prospect (each run its own slot: no overlap); the host is
    the calling staff member, whose profile must exist."""
    _staff_profile(stack)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    booking = {
        "scheduled_at": (start + timedelta(hours=n)).isoformat(),
        "duration_minutes": 60,
        "attendee_email": f"prospect{n}@example.com",
        "type": "strategy",
    }
    return json_request(booking, stack.staff("user"), path="/companies/acme/consultations")


def connect_crm(stack: BenchStack, n: int) -> Request:
    """An admin connects a CRM; its credentials are sealed before they are stored."""
    body = {
        "type": "crm",
        "provider": "hubspot",
        "display_name": f"HubSpot {n}",
        "credentials": {"api_key": f"hs-bench-{n}"},
    }
    return json_request(body, stack.staff("admin"), path="/companies/acme/integrations")


def analytics_summary(stack: BenchStack, _n: int) -> Request:
    """The dashboard's last 30 days."""
    today = datetime.now(UTC).date()
    dates = {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()}
    return Request("GET", b"", stack.staff(), "/?" + urlencode(dates))


def start_campaign(stack: BenchStack, n: int) -> Request:
    """A manager starts a campaign drafted through staff_api."""
    from shared import bootstrap
    from shared.staff_api.domain.lists import Scope
    from shared.staff_api.services import writes
    from shared.staff_api.services.registry import RESOURCES

    template = {"subject": "Spring offers", "body": "Hello {{ lead.first_name }}, spring!"}
    draft = {"name": f"Spring {n}", "template": template}
    store, now = bootstrap.document_store(), datetime.now(UTC)
    spec = RESOURCES["campaigns"]
    item, _ = writes.create_item(store, now, _staff(), spec, Scope(COMPANY), draft, None)
    return json_request({"action": "start", "campaign_id": item["id"]}, stack.staff())


def import_businesses(stack: BenchStack, n: int) -> Request:
    """A manager uploads a CSV of businesses and contacts (each run new ones)."""
    rows = [
        f"Bench Plumbing {n}-{i},https://plumbing{n}-{i}.example,plumbing,"
        f"owner{i}@plumbing{n}-{i}.example,Ann,Owner\n"
        for i in range(5)
    ]
    headers = {**stack.staff(), "Content-Type": "text/csv"}
    return Request("POST", (CSV_HEADER + "".join(rows)).encode(), headers)


# Public functions: websites, by form key.


def newsletter_signup(_stack: BenchStack, n: int) -> Request:
    body = {"form_key": FORM_KEY, "email": f"reader{n}@example.com", "topics": ["tips"]}
    return json_request(body, {"Origin": SITE, "X-Forwarded-For": f"10.9.{n % 250}.1"})


def download(stack: BenchStack, n: int) -> Request:
    """A visitor's download form, fetched by the site's script (JSON, not the 302)."""
    resource = {"title": "Pricing guide", "file_url": "https://files.acme.example/guide.pdf"}
    path = f"companies/{COMPANY}/resources/{RESOURCE_ID}"
    stack.db.document(path).set({**resource, "type": "guide", "active": True})
    form = {"key": FORM_KEY, "resource_id": RESOURCE_ID, "email": f"visitor{n}@example.com"}
    headers = {
        "Origin": SITE,
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Forwarded-For": f"10.8.{n % 250}.1",
    }
    return Request("POST", urlencode(form).encode(), headers)


def beacon(_stack: BenchStack, n: int) -> Request:
    """What the site's snippet sends with navigator.sendBeacon: text/plain JSON."""
    session = f"session-{n}"
    events = [
        {"type": "page_view", "name": page, "session_id": session, "event_id": f"{session}-{i}"}
        for i, page in enumerate(("/", "/services", "/contact"))
    ]
    headers = {
        "Origin": SITE,
        "Content-Type": "text/plain;charset=UTF-8",
        "User-Agent": BROWSER,
        "X-Forwarded-For": f"10.7.{n % 250}.1",
    }
    return Request("POST", json.dumps({"form_key": FORM_KEY, "events": events}).encode(), headers)


# Links in mail: a newsletter confirmation, and a marketing e-mail sent to a lead.


def _confirmation_mail(stack: BenchStack, n: int) -> dict[str, Any]:
    """A newsletter signup, as newsletter_signup records it; the mail it sent."""
    from google.cloud.firestore import FieldFilter

    from shared import bootstrap
    from shared.domain.newsletters import SignupRequest
    from shared.services import newsletters
    from shared.settings import get_settings

    email, settings = f"subscriber{n}@example.com", get_settings()
    links = newsletters.Links(settings.functions_base_url, settings.signing_key.get_secret_value())
    request = SignupRequest.model_validate({"form_key": FORM_KEY, "email": email})
    store, messenger = bootstrap.document_store(), bootstrap.messenger()
    newsletters.signup(store, messenger, datetime.now(UTC), links, request, "10.6.0.1", SITE)
    to = FieldFilter("to", "==", email)
    (mail,) = [d.to_dict() for d in stack.db.collection("outbox").where(filter=to).get()]
    return dict(mail)


def _link(url: str) -> str:
    """The path and query a link's function sees."""
    return "/?" + urlsplit(url).query


def confirm_newsletter(stack: BenchStack, n: int) -> Request:
    """The confirmation page's button: the token POSTed from the browser."""
    mail = _confirmation_mail(stack, n)
    link = next(u for u in links_in(mail["body"]) if "/newsletter_confirm?" in u)
    token = dict(pair.split("=", 1) for pair in urlsplit(link).query.split("&"))["token"]
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "text/html,application/xhtml+xml",
        "User-Agent": BROWSER,
    }
    return Request("POST", urlencode({"token": token}).encode(), headers, _link(link))


def unsubscribe_newsletter(stack: BenchStack, n: int) -> Request:
    """A mail client's one-click unsubscribe (RFC 8058) from the List-Unsubscribe header."""
    mail = _confirmation_mail(stack, 500_000 + n)
    link = mail["headers"]["List-Unsubscribe"].strip("<>")
    body = urlencode({"List-Unsubscribe": "One-Click"}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return Request("POST", body, headers, _link(link))


def links_in(text: str) -> list[str]:
    """The URLs of a message's text or HTML, as the tracking tests find them."""
    from shared.campaigns.domain.tracking import links_in as found

    return found(text)


@dataclass(frozen=True)
class Sent:
    """A marketing e-mail sent to a lead: its address, headers and links."""

    to: str
    headers: dict[str, str]
    text_links: list[str]
    html_links: list[str]


def _sent_email(stack: BenchStack, n: int) -> Sent:
    """A marketing e-mail sent to a new lead two minutes ago, as campaigns send it."""
    from shared import bootstrap
    from shared.campaigns.services.policy import Outreach, links_from_settings, send_marketing
    from shared.services.intake import load_company

    email = f"reader{n}@example.com"
    consent = {"given": True}  # marketing reaches only people who consented
    lead_id = seed_lead(stack.db, email, consent=consent)
    store = bootstrap.document_store()
    outreach = Outreach(
        "email",
        email,
        "Spring offers",
        "Our spring offer: https://www.acme-plumbing.example/spring?ref=mail",
        key=f"bench-mail-{n}",
        recipient={"id": lead_id, "email": email, "consent": consent},
        refs={"lead_id": lead_id},
        filled=(),  # the whole body as staff wrote it: its link is tracked
    )
    when = datetime.now(UTC) - timedelta(minutes=2)  # a person reads it, not a scanner
    company = load_company(store, FORM_KEY, when)
    result = send_marketing(
        store, bootstrap.messenger(), links_from_settings(), when, company, outreach
    )
    store.commit(list(result.writes))
    message = result.message
    assert message is not None, result
    return Sent(email, dict(message.headers), links_in(message.body), links_in(message.html))


def marketing_unsubscribe(stack: BenchStack, n: int) -> Request:
    """A mail client's one-click unsubscribe of a marketing e-mail."""
    sent = _sent_email(stack, n)
    link = sent.headers["List-Unsubscribe"].split(",")[0].strip().strip("<>")
    body = urlencode({"List-Unsubscribe": "One-Click"}).encode()
    return Request("POST", body, {"Content-Type": "application/x-www-form-urlencoded"}, _link(link))


def open_pixel(stack: BenchStack, n: int) -> Request:
    """A mail client loading the message's open pixel."""
    sent = _sent_email(stack, 100_000 + n)
    link = next(u for u in sent.html_links if "/track_open?" in u)
    headers = {"User-Agent": BROWSER, "X-Forwarded-For": f"10.5.{n % 250}.1"}
    return Request("GET", b"", headers, _link(link))


def click(stack: BenchStack, n: int) -> Request:
    """A person following the message's link (answered with a 302 to the original URL)."""
    sent = _sent_email(stack, 200_000 + n)
    link = next(u for u in sent.text_links if "/track_click?" in u)
    headers = {"User-Agent": BROWSER, "X-Forwarded-For": f"10.4.{n % 250}.1"}
    return Request("GET", b"", headers, _link(link))


# Providers' webhooks.


def delivered(stack: BenchStack, n: int) -> Request:
    """The e-mail provider reports a delivery (unsigned: no secret is set locally)."""
    from shared.ports import SEND_HEADER

    sent = _sent_email(stack, 300_000 + n)
    events = [
        {
            "type": "delivered",
            "event_id": f"bench-delivery-{n}",
            "message_id": sent.headers[SEND_HEADER],
            "recipient": sent.to,
            "occurred_at": datetime.now(UTC).isoformat(),
        }
    ]
    return json_request({"events": events}, {})


def sms_stop(_stack: BenchStack, n: int) -> Request:
    """A lead texts STOP to the company's number: the provider's form POST."""
    form = {
        "MessageSid": f"SMbench{n:026d}",
        "From": f"+1555{n % 10_000_000:07d}",
        "To": "+15550100000",
        "Body": "STOP",
    }
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return Request("POST", urlencode(form).encode(), headers, f"/?company_id={COMPANY}")


# Scheduled runs that have something to do.


def _workflow(stack: BenchStack, workflow_id: str, trigger: dict[str, Any]) -> str:
    """An active workflow of acme's, saved once (an hour ago) through the service; its
    path."""
    from shared import bootstrap
    from shared.workflows.services.manage import create_workflow

    def make() -> None:
        raw = {"name": workflow_id, "trigger": trigger, "steps": [WELCOME]}
        saved = datetime.now(UTC) - timedelta(hours=1)
        create_workflow(bootstrap.document_store(), saved, _staff(), raw, workflow_id)

    path = f"companies/{COMPANY}/workflows/{workflow_id}"
    _once(stack, path, make)
    return path


def schedule_run(stack: BenchStack, n: int) -> Request:
    """The minute's run, with a schedule-triggered workflow whose cron time has come
    (it has not fired since it was saved)."""
    path = _workflow(stack, "bench-every-minute", {"type": "schedule", "cron": "* * * * *"})
    due = datetime.now(UTC) - timedelta(minutes=1)
    stack.db.document(path).update({"schedule_fired_at": None, "next_fire_at": due})
    return scheduled("enrol-scheduled-workflows")(stack, n)


def decay_run(stack: BenchStack, n: int) -> Request:
    """The nightly decay, with a lead whose engagement points are a period old."""
    company = "decaying"
    _once(stack, f"companies/{company}", lambda: seed_company(stack.db, company, **DECAY))
    start = datetime.now(UTC) - timedelta(days=31)
    seed_lead(
        stack.db,
        f"engaged{n}@example.com",
        company,
        engagement_points=40,
        engagement_decay_from=start,
    )
    return scheduled("decay-engagement-scores")(stack, n)


def refresh_run(stack: BenchStack, n: int) -> Request:
    """The quarter-hour run, with a LinkedIn connection expiring in ten minutes."""
    from shared import bootstrap
    from shared.adapters.crypto import cipher
    from shared.services.integrations import resource_specs
    from shared.staff_api.domain.lists import Scope
    from shared.staff_api.services import writes

    path = f"companies/{COMPANY}/social_connections/linkedin"
    expires = datetime.now(UTC) + timedelta(minutes=10)

    def connect() -> None:
        spec = resource_specs(cipher())["social_connections"]
        body = {
            "platform": "linkedin",
            "platform_user_id": "li-bench",
            "access_token": "at-bench",
            "refresh_token": "rt-bench",
            "expires_at": expires.isoformat(),
        }
        store, now = bootstrap.document_store(), datetime.now(UTC)
        writes.create_item(store, now, _staff("admin"), spec, Scope(COMPANY), body, None)

    _once(stack, path, connect)
    stack.db.document(path).update({"expires_at": expires, "status": "active"})
    return scheduled("refresh-social-tokens")(stack, n)


# Firestore triggers: Eventarc's CloudEvent for the change.


def lead_created(stack: BenchStack, n: int) -> Request:
    """A new lead, which a lead_created workflow enrols."""
    _workflow(stack, "bench-welcome", {"type": "lead_created"})
    lead_id = seed_lead(stack.db, f"welcome{n}@example.com")
    return event(stack, "on_lead_workflows", f"companies/{COMPANY}/leads/{lead_id}")


def form_interaction(stack: BenchStack, n: int) -> Request:
    """A form submission on a lead's timeline, which a form_submitted workflow enrols."""
    _workflow(stack, "bench-form-follow-up", {"type": "form_submitted"})
    lead_id = seed_lead(stack.db, f"form{n}@example.com")
    path = f"companies/{COMPANY}/leads/{lead_id}/interactions/form-{n}"
    data = {"type": "form", "direction": "inbound", "created_at": datetime.now(UTC)}
    stack.db.document(path).set({**data, "lead_id": lead_id, "company_id": COMPANY})
    return event(stack, "on_interaction_workflows", path)


def _rule(points: int) -> dict[str, Any]:
    """An engagement rule: each inbound e-mail earns ``points``."""
    criteria = [{"field": "interaction.type", "op": "==", "value": "email"}]
    rule = {"name": "E-mail engagement", "category": "engagement", "criteria": criteria}
    return {**rule, "points": points}


def _rules_company(stack: BenchStack) -> None:
    """globex, with one engagement rule and the copy on_scoring_rule_written keeps."""

    def make() -> None:
        seed_company(stack.db, RULES_COMPANY)
        rule = _rule(5)
        stack.db.document(f"companies/{RULES_COMPANY}/scoring_rules/{RULE_ID}").set(rule)
        copy = {"rules": [{**rule, "id": RULE_ID}], "updated_at": datetime.now(UTC)}
        stack.db.document(f"companies/{RULES_COMPANY}/config/scoring_rules").set(copy)

    _once(stack, f"companies/{RULES_COMPANY}/scoring_rules/{RULE_ID}", make)


def interaction_scored(stack: BenchStack, n: int) -> Request:
    """An inbound e-mail from a lead, which the engagement rule scores."""
    _rules_company(stack)
    lead_id = seed_lead(stack.db, f"scored{n}@example.com", RULES_COMPANY)
    path = f"companies/{RULES_COMPANY}/leads/{lead_id}/interactions/e{n}"
    data = {"type": "email", "direction": "inbound", "created_at": datetime.now(UTC)}
    stack.db.document(path).set(data)
    return event(stack, "on_interaction_scored", path)


def rule_changed(stack: BenchStack, n: int) -> Request:
    """An admin changes the rule's points; the copy is rebuilt."""
    _rules_company(stack)
    path = f"companies/{RULES_COMPANY}/scoring_rules/{RULE_ID}"
    stack.db.document(path).set(_rule(1 + n % 50))
    return event(stack, "on_scoring_rule_written", path)


def converted_after_campaign(stack: BenchStack, n: int) -> Request:
    """A lead a campaign reached converts."""
    lead_id = seed_lead(stack.db, f"won{n}@example.com")
    campaign = f"companies/{COMPANY}/campaigns/bench-reached"
    _once(stack, campaign, lambda: stack.db.document(campaign).set({"name": "Reached"}))
    recipient = {"id": lead_id, "company_id": COMPANY, "status": "contacted"}
    stack.db.document(f"{campaign}/recipients/{lead_id}").set(recipient)
    lead = f"companies/{COMPANY}/leads/{lead_id}"
    stack.db.document(lead).update({"status": "converted", "updated_at": datetime.now(UTC)})
    return event(stack, "on_lead_campaigns", lead)


def newsletter_issue(stack: BenchStack, n: int) -> Request:
    """A manager sends a newsletter issue drafted through staff_api (its batches are
    queued on the paused queue)."""
    from shared import bootstrap
    from shared.staff_api.domain.lists import Scope
    from shared.staff_api.services import writes
    from shared.staff_api.services.registry import RESOURCES

    draft = {"subject": f"Spring news {n}", "body": "Spring is here.", "topics": []}
    store, now = bootstrap.document_store(), datetime.now(UTC)
    spec = RESOURCES["newsletter_issues"]
    item, _ = writes.create_item(store, now, _staff(), spec, Scope(COMPANY), draft, None)
    return json_request({"action": "send", "issue_id": item["id"]}, stack.staff())


def newsletter_archive(_stack: BenchStack, _n: int) -> Request:
    """A visitor opens the company's newsletter archive."""
    return Request("GET", b"", {"Accept": "text/html"}, "/?" + urlencode({"key": FORM_KEY}))


def oauth_return(_stack: BenchStack, n: int) -> Request:
    """A browser comes back from a platform with a state this deployment never issued (an
    old tab): a page saying to start again, nothing stored (400). A successful return
    needs the platform's token endpoint; its cold start loads the same modules."""
    query = urlencode({"state": f"stale-{n}", "code": "c"})
    return Request("GET", b"", {"Accept": "text/html"}, f"/?{query}")


REST = (
    Scenario("leads list", "staff_api", staff_leads),
    Scenario("sign-in", "company_users", sign_in),
    Scenario("save workflow", "workflows", save_workflow),
    Scenario("trigger: lead created", "on_lead_workflows", lead_created),
    Scenario("trigger: form submitted", "on_interaction_workflows", form_interaction),
    Scenario("trigger: interaction scored", "on_interaction_scored", interaction_scored),
    Scenario("trigger: scoring rule changed", "on_scoring_rule_written", rule_changed),
    Scenario("schedule run", "enrol_scheduled_workflows", schedule_run),
    Scenario("decay run", "decay_engagement_scores", decay_run),
    Scenario("newsletter signup", "newsletter_signup", newsletter_signup),
    Scenario("newsletter confirmed", "newsletter_confirm", confirm_newsletter),
    Scenario("newsletter one-click unsubscribe", "newsletter_unsubscribe", unsubscribe_newsletter),
    Scenario("consultation booked", "consultations", book_consultation),
    Scenario("resource download", "download_resource", download),
    Scenario("CRM connected", "integrations", connect_crm),
    Scenario("token refresh run", "refresh_social_tokens", refresh_run),
    Scenario("analytics beacon", "track_events", beacon),
    Scenario("dashboard summary", "analytics_summary", analytics_summary),
    Scenario("campaign started", "campaigns", start_campaign),
    Scenario("CSV import", "outreach_import", import_businesses),
    Scenario("one-click unsubscribe", "unsubscribe", marketing_unsubscribe),
    Scenario("SMS STOP", "sms_inbound", sms_stop),
    Scenario("delivery event", "email_events", delivered),
    Scenario("open pixel", "track_open", open_pixel),
    Scenario("click", "track_click", click),
    Scenario("trigger: converted after a campaign", "on_lead_campaigns", converted_after_campaign),
    Scenario("newsletter issue sent", "newsletters", newsletter_issue),
    Scenario("newsletter archive", "newsletter_archive", newsletter_archive),
    Scenario("OAuth return, stale state", "oauth_callback", oauth_return),
)


def first_request_of(function: str) -> Scenario | None:
    """The scenario a cold start of ``function`` answers first (None: none written yet)."""
    return next((s for s in (*OPERATIONS, *OTHERS, *REST) if s.function == function), None)
