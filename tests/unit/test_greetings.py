"""Every message that greets a person by name says their first name ("Hi Ada,"), taken
as the lead stores it, or split from the full name of a document stored before leads had
one ("Lovelace, Ada" is Ada, not "Lovelace,"): reviews, workflows, campaigns and
consultation reminders alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.campaigns.domain.templates import lead_context, render_message
from shared.domain.consultations import Consultation, reminder_text
from shared.domain.leads import greeting_name
from shared.workflows.domain.runtime import render

LEADS: list[tuple[dict[str, Any], str]] = [
    ({"name": "Bob Builder", "first_name": "Bob"}, "Bob"),
    ({"name": "Lovelace, Ada"}, "Ada"),
    ({"name": "Jean de La Fontaine"}, "Jean"),
    ({"name": "Ada Lovelace", "first_name": "Countess"}, "Countess"),  # staff's own choice
]


@pytest.mark.parametrize(("lead", "first"), LEADS)
def test_greeting_name(lead: dict[str, Any], first: str) -> None:
    assert first == greeting_name(lead.get("first_name"), lead.get("name"))


def test_no_name_is_none() -> None:
    assert (None, None) == (greeting_name(None, None), greeting_name(" ", ""))


@pytest.mark.parametrize(("lead", "first"), LEADS)
def test_workflow_messages(lead: dict[str, Any], first: str) -> None:
    assert f"Hi {first}, from Acme" == render("Hi {first_name}, from {company}", lead, "Acme")


@pytest.mark.parametrize(("lead", "first"), LEADS)
def test_campaign_messages(lead: dict[str, Any], first: str) -> None:
    context = lead_context({"email": "x@example.com", **lead}, {"name": "Acme"})
    rendered = render_message("Hello {{ lead.first_name }}", "Dear {{ lead.first_name }},", context)
    assert (f"Hello {first}", f"Dear {first},") == (rendered.subject, rendered.body)


def test_consultation_reminders() -> None:
    consultation = Consultation(
        id="c1",
        company_id="acme",
        scheduled_at=datetime(2026, 3, 3, 14, tzinfo=UTC),
        attendee_email="bob@example.com",
        attendee_name="Bob Builder",
    )
    _, body = reminder_text(consultation, "Acme", "UTC")
    assert body.startswith("Hello Bob,\n"), body
