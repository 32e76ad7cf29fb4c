"""Outreach on the in-memory fakes: CSV imports with row-level errors and no duplicates,
sandboxed templates, opt-outs by SMS keyword, and recording opens and clicks."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.campaigns.domain.compliance import suppression_path
from shared.campaigns.domain.outreach import business_id, contact_id
from shared.campaigns.domain.templates import (
    TemplateProblem,
    contact_context,
    render_message,
    template_error,
)
from shared.campaigns.domain.tracking import links_in
from shared.campaigns.services.campaigns import change_status
from shared.campaigns.services.compliance import inbound_sms
from shared.campaigns.services.outreach_import import import_csv
from shared.campaigns.services.policy import links_from_settings
from shared.campaigns.services.tracking import Hit, record_hit
from shared.domain.common import NOT_AN_ADDRESS
from shared.domain.identity import Role, StaffIdentity
from shared.errors import InvalidInput, PermissionDenied, Refused
from tests.outreach_support import COMPANY, MANAGER, Env, new_env, save_campaign

KEY = links_from_settings().key  # what the campaign's batch task signs its links with

CSV = """business_name,domain,industry,contact_email,contact_first_name,size
Acme Plumbing Ltd,https://www.acme.example,plumbing,ann@acme.example,Ann,12
,nobody.example,,,,
Acme plumbing,acme.example,plumbing,bob@acme.example,Bob,12
Bolt Electric,bolt,electric,not-an-email,Carl,3
Cog Works,cog.example,,ANN@acme.example,Ann,
"""


def test_good_rows_are_imported_and_each_bad_row_is_reported() -> None:
    """Rows 3 and 5 are invalid (field by field); row 4 is the same business as row 2
    (name and domain normalised) with a new contact; row 6's contact is row 2's."""
    env = new_env(leads=0)
    report = import_csv(env.store, env.clock.now(), MANAGER, CSV, "imp1")
    assert [
        {"row": 3, "fields": {"business_name": "Field required"}},
        {
            "row": 5,
            "fields": {
                "domain": "not a domain name (e.g. acme.example)",
                "contact_email": NOT_AN_ADDRESS,
            },
        },
    ] == report.errors
    assert [(6, "contact", contact_id("ann@acme.example"), "row 2")] == [
        (d["row"], d["kind"], d["id"], d["duplicate_of"]) for d in report.duplicates
    ]
    businesses = env.docs(f"companies/{COMPANY}/businesses")
    contacts = env.docs(f"companies/{COMPANY}/outreach_contacts")
    acme = business_id("Acme Plumbing", "acme.example")
    assert (2, 2) == (report.businesses_created, report.contacts_created)
    assert {acme, business_id("Cog Works", "cog.example")} == set(businesses)
    assert ({"size": "12"}, {acme}) == (
        businesses[acme]["custom_fields"],
        {c["business_id"] for c in contacts.values()},
    )


def test_importing_again_creates_nothing() -> None:
    """The same file twice: every row a duplicate of the earlier import."""
    env = new_env(leads=0)
    import_csv(env.store, env.clock.now(), MANAGER, CSV, "imp1")
    again = import_csv(env.store, env.clock.now(), MANAGER, CSV, "imp2")
    assert (0, 0) == (again.businesses_created, again.contacts_created)
    assert {"earlier import", "row 2"} == {d["duplicate_of"] for d in again.duplicates}


def test_an_unusable_file_is_refused_whole() -> None:
    """No business_name column, or a user below manager: nothing is read."""
    env = new_env(leads=0)
    with pytest.raises(InvalidInput) as err:
        import_csv(env.store, env.clock.now(), MANAGER, "name2,domain\nx,y\n", "i")
    assert "business_name" in err.value.details["fields"]
    with pytest.raises(PermissionDenied):
        import_csv(env.store, env.clock.now(), StaffIdentity("u", COMPANY, Role.USER), CSV, "i")


@pytest.mark.parametrize(
    "source",
    [
        "{% for x in range(9) %}x{% endfor %}",
        "{{ 'x' * 1000000 }}",
        "{{ lead.email.upper() }}",
        "{{ lead | center(1000000) }}",
        "{% include 'other' %}",
    ],
)
def test_templates_cannot_loop_call_or_grow(source: str) -> None:
    """Loops, calls, repetition, unknown filters and includes are refused up front."""
    assert template_error(source) is not None


def test_a_missing_or_empty_field_is_an_error_not_a_blank() -> None:
    """An empty value is missing too; ``default`` says what to write instead."""
    context = contact_context({"first_name": "Ann", "title": ""}, {"name": "Acme"}, {})
    with pytest.raises(TemplateProblem) as problem:
        render_message("Hi", "Dear {{ contact.title }} {{ contact.first_name }}", context)
    assert {"body": "contact.title is missing"} == problem.value.errors
    rendered = render_message(
        "", "{{ contact.title | default('Ann') }} at {{ business.name }}", context
    )
    assert "Ann at Acme" == rendered.body


def test_stop_suppresses_start_lifts_and_help_answers() -> None:
    """STOP records an SMS suppression for the number (however it is written); START
    lifts it; HELP answers with the company's help text."""
    env = new_env(leads=0)
    now, number = env.clock.now(), "+1 (555) 010-2030"
    stop = inbound_sms(env.store, now, company_id=COMPANY, sender=number, body="Stop")
    path = suppression_path(COMPANY, "sms", "+15550102030")
    assert ("stop", "sms_stop") == (stop.keyword, env.doc(path)["reason"])
    helped = inbound_sms(env.store, now, company_id=COMPANY, sender=number, body="help")
    assert helped.reply is not None and helped.reply.startswith("Acme: marketing messages.")
    start = inbound_sms(env.store, now, company_id=COMPANY, sender=number, body="START")
    assert ("start", False) == (start.keyword, path in env.store.docs)


def _sent_link(env: Env) -> str:
    save_campaign(env)
    change_status(env.store, env.queue, env.clock.now(), MANAGER, "c1", "start")
    env.run_all()
    (message,) = env.messenger.calls
    return links_in(message.body)[0]


def test_a_scanner_click_is_recorded_but_only_a_persons_click_counts() -> None:
    """A click two seconds after sending is a scanner's: recorded, not counted; a
    person's click a minute later moves the timeline entry to clicked and counts an open
    and a click for the campaign, once."""
    env = new_env(leads=1)
    url = _sent_link(env)
    token = parse_qs(urlsplit(url).query)["t"][0]
    hit = Hit("click", token, "GET", "Mozilla/5.0 (Macintosh) Safari/605", "198.51.100.7")
    scanner = record_hit(env.store, env.clock.now() + timedelta(seconds=2), KEY, hit)
    person = record_hit(env.store, env.clock.now() + timedelta(minutes=1), KEY, hit)
    record_hit(env.store, env.clock.now() + timedelta(minutes=2), KEY, hit)
    events = env.docs(f"companies/{COMPANY}/tracking_events").values()
    (interaction,) = env.docs(f"companies/{COMPANY}/leads/l0/interactions").values()
    assert (False, "seconds_after_sending", True) == (
        scanner.counted,
        scanner.reason,
        person.counted,
    )
    assert ("https://acme.example/spring", [False, True, True]) == (
        person.redirect,
        sorted(e["counted"] for e in events),
    )
    stats = env.doc(f"companies/{COMPANY}/campaigns/c1")["stats"]
    assert ("clicked", 1, 1) == (interaction["status"], stats["clicked"], stats["opened"])


def test_a_forged_click_link_is_refused() -> None:
    """Changing the URL inside the token breaks its signature: no redirect at all."""
    env = new_env(leads=1)
    token = parse_qs(urlsplit(_sent_link(env)).query)["t"][0]
    body, signature = token.split(".")
    forged = Hit("click", body[:-4] + "AAAA." + signature, "GET", "x", "1.2.3.4")
    with pytest.raises(InvalidInput):
        record_hit(env.store, env.clock.now(), KEY, forged)


def test_a_click_link_expires() -> None:
    """A click link works for ``max_age`` (a year by default) after it was issued."""
    env = new_env(leads=1)
    token = parse_qs(urlsplit(_sent_link(env)).query)["t"][0]
    hit = Hit("click", token, "GET", "Mozilla/5.0 (Macintosh) Safari/605", "198.51.100.7")
    now = env.clock.now()
    assert record_hit(env.store, now + timedelta(days=364), KEY, hit).redirect
    with pytest.raises(Refused, match="expired"):
        record_hit(env.store, now + timedelta(days=366), KEY, hit)
    with pytest.raises(Refused, match="expired"):
        record_hit(env.store, now + timedelta(days=2), KEY, hit, timedelta(days=1))


def test_an_sms_reply_marks_the_recipient_responded_once() -> None:
    """A reply (not a keyword) answers the latest message sent to the number: the lead
    gets a replied interaction, the recipient is responded, the campaign counts it once
    however often the provider's webhook is retried."""
    env = new_env(leads=1)
    save_campaign(env, channel="sms", template={"body": "Spring deals?"})
    change_status(env.store, env.queue, env.clock.now(), MANAGER, "c1", "start")
    env.run_all()
    for _ in range(2):  # the provider retries its webhook with the same message id
        inbound_sms(
            env.store,
            env.clock.now(),
            company_id=COMPANY,
            sender="+33600000000",
            body="Yes, tell me more",
            message_sid="SM1",
        )
    (reply,) = [
        i
        for i in env.docs(f"companies/{COMPANY}/leads/l0/interactions").values()
        if i["direction"] == "inbound"
    ]
    recipient = env.doc(f"companies/{COMPANY}/campaigns/c1/recipients/l0")
    stats = env.doc(f"companies/{COMPANY}/campaigns/c1")["stats"]
    assert ("replied", "Yes, tell me more", "responded", 1) == (
        reply["status"],
        reply["body"],
        recipient["status"],
        stats["responded"],
    )
