"""The pure compliance rules: SMS keywords, quiet hours, addresses, signed tokens,
the content of marketing messages, and telling scanners from people."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from shared.campaigns.domain.compliance import (
    quiet_until,
    sign,
    sms_keyword,
    suppression_id,
    unsign,
    zone_of,
)
from shared.campaigns.domain.compliance_content import marketing_email, marketing_sms
from shared.campaigns.domain.tracking import LinkSigner, bot_reason, links_in
from shared.errors import InvalidInput

KEY = b"k" * 32
PARIS = ZoneInfo("Europe/Paris")
LINKS = LinkSigner("https://fn.example", KEY)


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        ("STOP", "stop"),
        (" stop. ", "stop"),
        ("Unsubscribe", "stop"),
        ("cancel", "stop"),
        ("END", "stop"),
        ("quit!", "stop"),
        ("Stop texting me", "stop"),
        ("opt out", "stop"),
        ("START", "start"),
        ("start please", None),
        ("HELP", "help"),
        ("Can you help me?", None),
        ("", None),
    ],
)
def test_sms_keywords(body: str, keyword: str | None) -> None:
    """Opt-out words count as the first word; START and HELP only alone."""
    assert keyword == sms_keyword(body)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 3, 10, 23, 0), datetime(2026, 3, 11, 8, 0)),
        (datetime(2026, 3, 10, 6, 30), datetime(2026, 3, 10, 8, 0)),
        (datetime(2026, 3, 10, 21, 0), datetime(2026, 3, 11, 8, 0)),
        (datetime(2026, 3, 10, 8, 0), None),
        (datetime(2026, 3, 10, 20, 59), None),
    ],
)
def test_quiet_hours_end_at_the_next_eight_on_the_recipients_clock(
    local: datetime, expected: datetime | None
) -> None:
    """Outside 08:00-21:00 local time, sending waits for the next 08:00 there."""
    now = local.replace(tzinfo=PARIS).astimezone(UTC)
    until = quiet_until(now, PARIS, 8, 21)
    wanted = expected.replace(tzinfo=PARIS).astimezone(UTC) if expected else None
    assert wanted == until


def test_the_recipients_zone_then_the_default() -> None:
    """``timezone`` first, then ``time_zone``, custom fields, the default; bad names skip."""
    assert "Asia/Tokyo" == str(zone_of({"timezone": "Asia/Tokyo"}, "UTC"))
    assert "Europe/Paris" == str(zone_of({"timezone": "Mars/Base"}, "Europe/Paris"))
    assert "America/Denver" == str(
        zone_of({"custom_fields": {"time_zone": "America/Denver"}}, "UTC")
    )


def test_one_suppression_per_address_however_it_is_written() -> None:
    """Phone punctuation, e-mail case and the brackets or name of an address stored before
    addresses were read strictly do not make another address; the channel does."""
    assert suppression_id("sms", "+1 (555) 010-2030") == suppression_id("sms", "+15550102030")
    for written in ("Jane@Example.com ", "<jane@example.com>", '"Jane" <JANE@example.com>'):
        assert suppression_id("email", written) == suppression_id("email", "jane@example.com")
    assert ("sms-", "email-") == (
        suppression_id("sms", "+15550102030")[:4],
        suppression_id("email", "jane@example.com")[:6],
    )
    with pytest.raises(ValueError):
        suppression_id("email", "+15550102030")


def test_tokens_are_signed_for_one_purpose() -> None:
    """A token reads back; a changed byte, another key or purpose is refused."""
    token = sign({"p": "unsub", "a": "jane@example.com"}, KEY)
    assert "jane@example.com" == unsign(token, KEY, "unsub")["a"]
    body, signature = token.split(".")
    forged = sign({"p": "unsub", "a": "boss@example.com"}, KEY).split(".")[0] + "." + signature
    for bad, key, purpose in [
        (forged, KEY, "unsub"),
        (token, b"other", "unsub"),
        (token, KEY, "click"),
        (token[:-2], KEY, "unsub"),
        ("", KEY, "unsub"),
    ]:
        with pytest.raises(InvalidInput):
            unsign(bad, key, purpose)


def test_marketing_email_carries_footer_headers_tracked_links_and_pixel() -> None:
    """The text keeps its words, links go through track_click (signed with the original
    URL), the footer has the address and unsubscribe link, the headers are one-click."""
    content = marketing_email(
        "See https://acme.example/offer, thanks.",
        links=LINKS,
        company_id="acme",
        company_name="Acme",
        postal_address="1 Main Street",
        send_id="s1",
        address="jane@example.com",
        filled=(),
        issued=datetime(2025, 1, 1, tzinfo=UTC),
    )
    headers = dict(content.headers)
    unsubscribe = headers["List-Unsubscribe"].strip("<>")
    click = links_in(content.body)[0]
    token = parse_qs(urlsplit(click).query)["t"][0]
    assert ("List-Unsubscribe=One-Click", "https://acme.example/offer") == (
        headers["List-Unsubscribe-Post"],
        unsign(token, KEY, "click")["u"],
    )
    assert content.body.startswith("See https://fn.example/track_click?t=")
    assert "1 Main Street" in content.body and f"Unsubscribe: {unsubscribe}" in content.body
    assert "/track_open?t=" in content.html and "acme.example/offer</a>" in content.html


def email_with(body: str, filled: tuple[tuple[int, int], ...] | None) -> tuple[str, str]:
    """The text and HTML parts of a marketing e-mail of ``body``."""
    content = marketing_email(
        body,
        links=LINKS,
        company_id="acme",
        company_name="Acme",
        postal_address="1 Main Street",
        send_id="s1",
        address="jane@example.com",
        filled=filled,
        issued=datetime(2025, 1, 1, tzinfo=UTC),
    )
    return content.body, content.html


def clicked(text: str) -> list[str]:
    """The URLs signed into the track_click links of ``text``."""
    tokens = [parse_qs(urlsplit(u).query)["t"][0] for u in links_in(text) if "track_click" in u]
    return [unsign(t, KEY, "click")["u"] for t in tokens]


@pytest.mark.parametrize(
    ("body", "values", "tracked"),
    [
        # A value's URL is text; the template's own link around it is tracked.
        ("Hi {}, see https://acme.example/offer", ["Jo https://evil.example/x"], ["offer"]),
        # A value filling the path of a template link: the site is staff's, tracked.
        ("Book: https://acme.example/book?n={}", ["jo"], ["book?n=jo"]),
        # A value naming or extending the host: not staff's link, not tracked.
        ("Go https://{}/x", ["evil.example"], []),
        ("Go https://acme.example{}", [".evil.example/x"], []),
        ("Go https://acme.example{}", ["@evil.example/"], []),
        ("Go {}://acme.example/", ["https"], []),
    ],
)
def test_only_links_staff_wrote_are_tracked(
    body: str, values: list[str], tracked: list[str]
) -> None:
    """Spans filled from values stay plain text in both parts, in no <a>."""
    text, spans = body, []
    for value in values:
        at = text.index("{}")
        text = text[:at] + value + text[at + 2 :]
        spans.append((at, at + len(value)))
    plain, page = email_with(text, tuple(spans))
    expected = [u for u in links_in(text) if any(u.endswith(t) for t in tracked)]
    assert (expected, expected) == (clicked(plain), clicked(page))
    assert all("evil" not in href for href in re.findall(r'href="([^"]*)"', page))


def test_a_body_of_unknown_origin_tracks_no_link() -> None:
    """``filled=None``: nothing is known to be staff's, so no link is tracked."""
    plain, page = email_with("See https://acme.example/offer", None)
    assert ([], "See https://acme.example/offer") == (clicked(plain), plain.split("\n")[0])
    assert "<a href" not in page.split("<hr>")[0]


def test_marketing_sms_names_the_sender_and_how_to_stop() -> None:
    """The company's name first, the STOP line last, once."""
    assert "Acme: Hi Jane Reply STOP to opt out." == marketing_sms("Hi Jane", "Acme")
    assert "Acme: Text STOP to end" == marketing_sms("Acme: Text STOP to end", "Acme")


@pytest.mark.parametrize(
    ("kind", "agent", "ip", "after", "reason"),
    [
        ("click", "Mozilla/5.0 (Windows NT 10.0) Chrome/120", "203.0.113.9", 60, None),
        (
            "click",
            "Mozilla/5.0 (Windows NT 10.0) Chrome/120",
            "203.0.113.9",
            2,
            "seconds_after_sending",
        ),
        ("click", "Mimecast URL Protect", "203.0.113.9", 600, "scanner_user_agent"),
        ("click", "", "203.0.113.9", 600, "no_user_agent"),
        ("open", "Mozilla/5.0", "17.58.1.2", 600, "apple_mail_privacy_proxy"),
        ("open", "Mozilla/5.0 (iPhone) AppleWebKit Mobile", "198.51.100.7", 600, None),
    ],
)
def test_machines_are_told_from_people(
    kind: str, agent: str, ip: str, after: int, reason: str | None
) -> None:
    """Scanner agents, clicks seconds after sending and Apple's proxy are not people."""
    sent = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    now = sent + timedelta(seconds=after)
    found = bot_reason(kind, method="GET", user_agent=agent, ip=ip, sent_at=sent, now=now)  # type: ignore[arg-type]
    assert reason == found
