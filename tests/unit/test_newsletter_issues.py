"""Newsletter issues' pure rules: rendering (values stay text, staff HTML is cleaned, only
staff links are tracked), whom an issue reaches, consent, and the frequency windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.campaigns.domain.templates import TemplateProblem
from shared.campaigns.domain.tracking import tracked_hrefs
from shared.domain.consent import NO_CONSENT, send_refusal
from shared.domain.newsletter_issues import (
    frequency_window,
    issue_context,
    not_reached,
    render_issue,
    subscriber_as_person,
)

COMPANY = {"name": "Acme"}
EVIL = "[win](https://evil.example/x) <script>alert(1)</script> https://evil.example/y"


def _for(name: str) -> dict[str, object]:
    return issue_context({"email": "pat@example.com", "name": name}, COMPANY)


def test_markdown_values_stay_text_and_only_staff_links_are_tracked() -> None:
    body = "Hi {{ subscriber.name }}: [offer](https://acme.example/a?b=1&c=2)"
    shown = render_issue("News", body, "markdown", _for(EVIL))
    assert '<a href="https://acme.example/a?b=1&amp;c=2">offer</a>' in shown.html
    assert "<script>" not in shown.html and 'href="https://evil' not in shown.html
    assert ("https://acme.example/a?b=1&c=2",) == shown.html_links
    tracked = tracked_hrefs(shown.html, lambda u: "https://t.example/c", shown.html_links)
    assert tracked.count('href="https://t.example/c"') == 1


def test_staff_html_is_cleaned_and_values_are_escaped() -> None:
    body = (
        '<p onclick="x()">Hi {{ subscriber.name }}</p><script>alert(1)</script>'
        '<a href="javascript:alert(1)">bad</a><a href="https://acme.example/?a=1&amp;b=2">ok</a>'
    )
    shown = render_issue("News", body, "html", _for(EVIL))
    assert "onclick" not in shown.html and "<script" not in shown.html
    assert "javascript:" not in shown.html and "&lt;script&gt;" in shown.html
    assert "https://acme.example/?a=1&b=2" in shown.html_links
    assert not any("evil" in u for u in shown.html_links)
    assert shown.text.startswith("Hi [win]")  # the text part: the text of the HTML


def test_a_personal_field_needs_a_default_for_the_archive() -> None:
    with pytest.raises(TemplateProblem):
        render_issue(
            "News", "Hi {{ subscriber.first_name }}", "markdown", issue_context(None, COMPANY)
        )
    shown = render_issue(
        "News",
        "Hi {{ subscriber.first_name | default('there') }}",
        "markdown",
        issue_context(None, COMPANY),
    )
    assert "Hi there" in shown.text


def test_who_an_issue_reaches() -> None:
    confirmed = {"status": "active", "confirmed_at": datetime.now(UTC), "topics": ["news"]}
    assert not_reached(["news", "deals"], confirmed) is None
    assert not_reached([], confirmed) is None
    assert not_reached(["news"], {**confirmed, "topics": []}) is None
    assert not_reached(["deals"], confirmed) == "not subscribed to the issue's topics"
    assert not_reached(["news"], {**confirmed, "status": "pending"}) is not None
    assert not_reached(["news"], {**confirmed, "confirmed_at": None}) is not None


def test_only_a_confirmed_subscription_is_consent() -> None:
    confirmed = {"status": "active", "confirmed_at": datetime.now(UTC)}
    assert send_refusal(subscriber_as_person(confirmed), "marketing", "email") is None
    for other in ({**confirmed, "status": "unsubscribed"}, {"status": "pending"}):
        assert NO_CONSENT == send_refusal(subscriber_as_person(other), "marketing", "email")


def test_frequency_windows() -> None:
    monday, sunday = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 7, 23, tzinfo=UTC)
    assert frequency_window("weekly", monday) == frequency_window("weekly", sunday) == "2026-W23"
    assert frequency_window("daily", monday) != frequency_window("daily", sunday)
    assert frequency_window("monthly", sunday) == "2026-06"
