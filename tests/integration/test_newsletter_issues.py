"""Newsletter issues on the local stack: written through ``staff_api``, sent through the
``newsletters`` function in throttled batches chained through the local Cloud Tasks to
``run_task`` on a real HTTP server, mail delivered to a real SMTP server (aiosmtpd);
figures from the public tracking functions; the public archive page.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

import pytest

from localcloud.tasks.testing import wait_until
from shared import bootstrap
from shared.adapters.messaging import build_messenger
from shared.campaigns.domain.compliance import suppression_path
from shared.campaigns.domain.tracking import links_in
from shared.domain.newsletters import subscription_id
from shared.ports import SEND_HEADER
from tests.fakes import FakeClock, FakeTaskQueue
from tests.integration import test_campaigns_e2e as e2e
from tests.integration.event_support import memory_queue
from tests.outreach_support import run_due_tasks
from tests.support import Mailbox, docs, seed_company

# The campaigns' local stack (run_task over HTTP, local Cloud Tasks, SMTP to aiosmtpd).
FAST, CrashingMessenger = e2e.FAST, e2e.CrashingMessenger
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15"
BODY = (
    "Hello {{ subscriber.first_name | default('there') }},\n\n"
    "Spring is here: [our offer](https://acme.example/spring?ref=news).\n"
)


def subscribe(db: Any, email: str, status: str = "active", **fields: Any) -> str:
    """A subscription as signup and confirmation leave it."""
    sub_id = subscription_id(email)
    data = {"id": sub_id, "company_id": "acme", "email": email, "status": status,
            "frequency": "weekly", "topics": ["news"], "created_at": datetime.now(UTC)}  # fmt: skip
    if status != "pending":
        data["confirmed_at"] = datetime.now(UTC) - timedelta(days=3)
    db.document(f"companies/acme/newsletter_subscriptions/{sub_id}").set({**data, **fields})
    return sub_id


def write_issue(function_client: Any, staff_auth: Any, **fields: Any) -> str:
    body = {"subject": "Spring news", "body": BODY, "topics": ["news"], **fields}
    created = function_client("staff_api").post(
        "/companies/acme/newsletter_issues", json=body, headers=staff_auth("acme", "manager")
    )
    assert 201 == created.status_code, created.get_json()
    issue_id: str = created.get_json()["id"]
    return issue_id


def act(function_client: Any, staff_auth: Any, action: str, issue_id: str, **more: Any) -> Any:
    body = {"action": action, "issue_id": issue_id, **more}
    headers = staff_auth("acme", "manager")
    return function_client("newsletters").post("/", json=body, headers=headers)


def issue(db: Any, issue_id: str) -> dict[str, Any]:
    data: dict[str, Any] = (
        db.document(f"companies/acme/newsletter_issues/{issue_id}").get().to_dict()
    )
    return data


def sent_issue(db: Any, issue_id: str) -> dict[str, Any]:
    return wait_until(lambda: (i := issue(db, issue_id))["status"] == "sent" and i, timeout=40)


def received(box: Mailbox) -> list[str]:
    return sorted(str(m["To"]) for m in box.messages())


def test_an_issue_reaches_each_confirmed_subscriber_of_its_topics_once_throttled(
    db: Any, mail_stack: Any, mailbox: tuple[Mailbox, int], function_client: Any, staff_auth: Any
) -> None:
    """Confirmed subscribers of the topic (and one who chose no topic) get the issue,
    once each, two per one-second window; the pending, the unsubscribed, a subscriber of
    another topic and a suppressed address get nothing."""
    seed_company(db, settings={"postal_address": "1 Main Street, Springfield", **FAST})
    wanted = [f"reader{i}@example.com" for i in range(4)]
    for email in wanted[:3]:
        subscribe(db, email, name="Pat Reader")
    subscribe(db, wanted[3], topics=[])
    subscribe(db, "pending@example.com", "pending")
    subscribe(db, "gone@example.com", "unsubscribed")
    subscribe(db, "deals@example.com", topics=["deals"])
    subscribe(db, "bounced@example.com")
    suppressed = suppression_path("acme", "email", "bounced@example.com")
    db.document(suppressed).set({"reason": "bounced", "channel": "email"})
    issue_id = write_issue(function_client, staff_auth)
    assert 200 == act(function_client, staff_auth, "send", issue_id).status_code
    done = sent_issue(db, issue_id)
    assert wanted == received(mailbox[0])
    assert {"recipients": 5, "sent": 4, "blocked": 1} == {
        k: done["stats"][k] for k in ("recipients", "sent", "blocked")
    }
    batches = [
        t.to_dict()
        for t in db.collection("companies/acme/scheduled_tasks").stream()
        if t.get("type") == "newsletter_batch"
    ]
    # Five recipients at two a window: at least three batches, each in a later window.
    times = sorted(b["scheduled_for"] for b in batches)
    assert len(times) >= 3 and all(
        b - a >= timedelta(0) for a, b in zip(times, times[1:], strict=False)
    )
    assert times[-1] - times[0] >= timedelta(seconds=1)


def test_every_mail_carries_one_click_unsubscribe_address_pixel_and_tracked_links(
    db: Any, mail_stack: Any, mailbox: tuple[Mailbox, int], function_client: Any, staff_auth: Any
) -> None:
    seed_company(db, settings={"postal_address": "1 Main Street, Springfield", **FAST})
    subscribe(db, "pat@example.com", name="Pat Reader")
    issue_id = write_issue(function_client, staff_auth)
    act(function_client, staff_auth, "send", issue_id)
    sent_issue(db, issue_id)
    (message,) = mailbox[0].messages()
    unsubscribe = str(message["List-Unsubscribe"]).strip("<>")
    assert "/newsletter_unsubscribe?token=" in unsubscribe
    assert "List-Unsubscribe=One-Click" == message["List-Unsubscribe-Post"]
    text, page = _parts(message)
    assert "Hello Pat," in text and "1 Main Street, Springfield" in text
    assert "subscribed to Acme Plumbing's newsletter" in text
    assert "/track_open?" in page and "1 Main Street, Springfield" in page
    hrefs = [u for u in links_in(page) if "/track_click?" in u]
    assert hrefs and "https://acme.example/spring" not in page.split("<hr>")[0]
    # The one-click POST the mail client makes unsubscribes.
    one_click = function_client("newsletter_unsubscribe").post(
        "/?" + urlsplit(unsubscribe).query, data={"List-Unsubscribe": "One-Click"}
    )
    assert 200 == one_click.status_code
    sub = db.document(
        f"companies/acme/newsletter_subscriptions/{subscription_id('pat@example.com')}"
    )
    assert "unsubscribed" == sub.get().get("status")


def _parts(message: Message) -> tuple[str, str]:
    parts = {p.get_content_type(): p.get_payload(decode=True) for p in message.walk()}
    return parts["text/plain"].decode(), parts["text/html"].decode()


def test_a_batch_killed_mid_way_and_a_batch_replayed_send_nothing_twice(
    db: Any,
    mail_stack: Any,
    mailbox: tuple[Mailbox, int],
    function_client: Any,
    staff_auth: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Five subscribers, two per batch: the batch dies right after the third mail reached
    the SMTP server, before recording it; Cloud Tasks retries it and it goes on. Then the
    first batch's task is delivered again: nobody gets a second mail either time."""
    seed_company(db, settings={"postal_address": "1 Main Street", **FAST})
    wanted = [f"reader{i}@example.com" for i in range(5)]
    for email in wanted:
        subscribe(db, email)
    crashing = CrashingMessenger(build_messenger(bootstrap.document_store()), crash_at=3)
    monkeypatch.setattr(bootstrap, "messenger", functools.cache(lambda: crashing))
    issue_id = write_issue(function_client, staff_auth)
    act(function_client, staff_auth, "send", issue_id)
    done = sent_issue(db, issue_id)
    assert wanted == received(mailbox[0])
    assert (5, 5) == (done["stats"]["sent"], crashing.calls - 1)  # one send repeated
    (first,) = [
        t.id
        for t in db.collection("companies/acme/scheduled_tasks").stream()
        if t.get("type") == "newsletter_batch" and t.get("data")["seq"] == 1
    ]
    replay = function_client("run_task").post("/", json={"company_id": "acme", "task_id": first})
    assert 200 == replay.status_code
    assert wanted == received(mailbox[0])
    assert 5 == issue(db, issue_id)["stats"]["sent"]


@pytest.fixture
def queue(functions_env: None, monkeypatch: pytest.MonkeyPatch) -> FakeTaskQueue:
    return memory_queue(monkeypatch)


def _send_now(db: Any, function_client: Any, staff_auth: Any, **fields: Any) -> str:
    issue_id = write_issue(function_client, staff_auth, **fields)
    assert 200 == act(function_client, staff_auth, "send", issue_id).status_code
    run_due_tasks(db, function_client)
    return issue_id


def test_a_weekly_subscriber_gets_one_issue_a_week_the_daily_one_a_day(
    db: Any,
    queue: FakeTaskQueue,
    function_client: Any,
    staff_auth: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issues on Monday and Tuesday of one week: the daily subscriber gets both, the
    weekly one the first (the second records why not); a second issue on Tuesday skips
    the daily one too."""
    seed_company(db)
    subscribe(db, "weekly@example.com")
    subscribe(db, "daily@example.com", frequency="daily")
    monday = datetime(2026, 6, 1, 9, tzinfo=UTC)
    monkeypatch.setattr(bootstrap, "clock", FakeClock(monday))
    first = _send_now(db, function_client, staff_auth)
    monkeypatch.setattr(bootstrap, "clock", FakeClock(monday + timedelta(days=1)))
    second = _send_now(db, function_client, staff_auth, subject="More news")
    third = _send_now(db, function_client, staff_auth, subject="Even more news")
    outbox = sorted(d.get("to") for d in db.collection("outbox").stream())
    assert ["daily@example.com", "daily@example.com", "weekly@example.com"] == outbox
    weekly = subscription_id("weekly@example.com")
    skipped = docs(db, f"companies/acme/newsletter_issues/{second}/recipients")[weekly]
    assert "skipped" == skipped["status"] and first in skipped["reason"]
    assert (1, 2) == (issue(db, second)["stats"]["skipped"], issue(db, third)["stats"]["skipped"])


def test_figures_count_a_persons_open_and_click_but_not_a_scanners_or_apples(
    db: Any,
    queue: FakeTaskQueue,
    function_client: Any,
    staff_auth: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_company(db)
    subscribe(db, "pat@example.com")
    issue_id = _send_now(db, function_client, staff_auth)
    (message,) = [d.to_dict() for d in db.collection("outbox").stream()]
    pixel = next(u for u in links_in(message["html"]) if "/track_open?" in u)
    click = next(u for u in links_in(message["html"]) if "/track_click?" in u)
    # A scanner follows the link at once; Apple's proxy fetches the pixel.
    function_client("track_click").get(_query(click), headers={"User-Agent": "Mimecast"})
    function_client("track_open").get(
        _query(pixel),
        headers={"User-Agent": "Mozilla/5.0"},
        environ_base={"REMOTE_ADDR": "17.1.2.3"},
    )
    figures = _figures(function_client, staff_auth, issue_id)
    assert (1, 0, 0) == (figures["sent"], figures["opened"], figures["clicked"])
    later = FakeClock(datetime.now(UTC) + timedelta(minutes=5))
    monkeypatch.setattr(bootstrap, "clock", later)
    for _ in range(2):  # unique: the same person twice counts once
        function_client("track_open").get(_query(pixel), headers={"User-Agent": BROWSER})
        function_client("track_click").get(_query(click), headers={"User-Agent": BROWSER})
    figures = _figures(function_client, staff_auth, issue_id)
    assert (1, 1, 1.0) == (figures["opened"], figures["clicked"], figures["click_rate"])


def test_figures_count_a_bounce_and_a_complaint_once_each(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """The provider reports Ann's mail bounced (twice: one event id retried) and Bob's
    complained: each counts once in the issue's figures, and each address is suppressed."""
    seed_company(db)
    for name in ("ann", "bob", "cy"):
        subscribe(db, f"{name}@example.com")
    issue_id = _send_now(db, function_client, staff_auth)
    events = [
        {
            "type": "bounced",
            "bounce_type": "hard",
            "event_id": "ev-1",
            "message_id": _mid(db, "ann"),
        },
        {
            "type": "bounced",
            "bounce_type": "hard",
            "event_id": "ev-2",
            "message_id": _mid(db, "ann"),
        },
        {"type": "complained", "event_id": "ev-3", "message_id": _mid(db, "bob")},
    ]
    res = function_client("email_events").post("/", json={"events": events})
    assert 200 == res.status_code, res.get_json()
    figures = _figures(function_client, staff_auth, issue_id)
    assert (3, 1, 1) == (figures["sent"], figures["bounced"], figures["complained"])
    bob = db.document(suppression_path("acme", "email", "bob@example.com")).get()
    assert "complained" == bob.get("reason")


def _mid(db: Any, name: str) -> str:
    """The Message-ID the provider reports the mail to ``name`` by."""
    (mail,) = [
        d.to_dict()
        for d in db.collection("outbox").stream()
        if d.get("to") == f"{name}@example.com"
    ]
    return f"<{mail['headers'][SEND_HEADER]}@growthkit.local>"


def _query(url: str) -> str:
    return "/?" + urlsplit(url).query


def _figures(function_client: Any, staff_auth: Any, issue_id: str) -> dict[str, Any]:
    res = function_client("newsletters").get(
        f"/?id={issue_id}", headers=staff_auth("acme", "manager")
    )
    assert 200 == res.status_code, res.get_json()
    figures: dict[str, Any] = res.get_json()["figures"]
    return figures


def test_the_archive_lists_archivable_issues_newest_first_without_personal_data(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    seed_company(db)
    subscribe(db, "pat@example.com", name="Pat Reader")
    older = _send_now(db, function_client, staff_auth, subject="Winter news", archivable=True)
    db.document(f"companies/acme/newsletter_issues/{older}").update(
        {"started_at": datetime.now(UTC) - timedelta(days=30)}
    )
    newer = _send_now(db, function_client, staff_auth, archivable=True)
    hidden = _send_now(db, function_client, staff_auth, subject="Staff only")
    archive = function_client("newsletter_archive")
    listing = archive.get("/?key=acme.public-key-123")
    page = listing.get_data(as_text=True)
    assert 200 == listing.status_code and "text/html" in listing.content_type
    assert page.index("Spring news") < page.index("Winter news") and "Staff only" not in page
    one = archive.get(f"/?key=acme.public-key-123&issue={newer}").get_data(as_text=True)
    assert "Hello there," in one and 'href="https://acme.example/spring?ref=news"' in one
    assert not any(s in one for s in ("Pat", "pat@example.com", "track_", "unsubscribe"))
    assert 404 == archive.get(f"/?key=acme.public-key-123&issue={hidden}").status_code
    assert 404 == archive.get("/?key=acme.wrong-key").status_code
