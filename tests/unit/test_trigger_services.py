"""The interaction, review and content trigger services, against in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain.common import stable_id
from shared.domain.content import publication_key
from shared.domain.reviews import review_path
from shared.domain.tasks import task_path
from shared.events import DocumentEvent
from shared.ports import Write
from shared.services.scheduling import schedule_task
from shared.services.triggers import (
    on_content_written,
    on_interaction_created,
    on_review_written,
)
from tests.fakes import FakeClock, FakeStore, FakeTaskQueue

NOW = FakeClock().now()
LEAD = "companies/acme/leads/l1"
WHEN = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def event(document: str, before: Any, after: Any, id: str = "e1", **params: str) -> Any:
    return DocumentEvent(
        id, "google.cloud.firestore.document.v1.written", document, before, after, (), params
    )


def interaction(at: datetime, id: str = "e1", **fields: Any) -> Any:
    after = {"created_at": at, "direction": "inbound", "status": "received", **fields}
    doc = f"{LEAD}/interactions/i-{id}"
    return event(doc, None, after, id, companyId="acme", leadId="l1", interactionId="i")


def tasks(store: FakeStore) -> dict[str, dict[str, Any]]:
    return {p.rsplit("/", 1)[1]: d for p, (d, _) in store.docs.items() if "/scheduled_tasks/" in p}


def test_engagement_only_moves_forward() -> None:
    """A newer interaction moves last_engagement_at; an older one or a duplicate does not."""
    store = FakeStore()
    store.commit([Write(LEAD, {"email": "a@b.co"})])
    assert "updated" == on_interaction_created(store, NOW, interaction(NOW), "fn")
    assert "duplicate" == on_interaction_created(store, NOW, interaction(NOW), "fn")
    earlier = interaction(NOW - timedelta(days=1), id="e2")
    assert "not newer" == on_interaction_created(store, NOW, earlier, "fn")
    assert NOW == store.docs[LEAD][0]["last_engagement_at"]


def test_outbound_messages_are_not_engagement() -> None:
    """Our own delivered e-mail is not the lead engaging; the lead's click is."""
    store = FakeStore()
    store.commit([Write(LEAD, {"email": "a@b.co"})])
    sent = interaction(NOW, direction="outbound", status="delivered")
    assert "not engagement" == on_interaction_created(store, NOW, sent, "fn")
    clicked = interaction(NOW, id="e2", direction="outbound", status="clicked")
    assert "updated" == on_interaction_created(store, NOW, clicked, "fn")
    gone = interaction(NOW, id="e3")
    store.commit([Write(LEAD, {}, "delete")])
    assert "lead missing" == on_interaction_created(store, NOW, gone, "fn")


def test_completed_review_cancels_its_reminders_once() -> None:
    """Completion cancels the pending reminder; the duplicate delivery does nothing more."""
    store, queue = FakeStore(), FakeTaskQueue()
    task_id = schedule_task(
        store,
        queue,
        NOW,
        company_id="acme",
        task_type="review_reminder",
        data={"review_id": "r1", "number": 1},
        run_at=NOW + timedelta(days=2),
        key="rem-1",
    )
    review = {
        "id": "r1",
        "company_id": "acme",
        "lead_id": "l1",
        "platform": "google",
        "requested_at": NOW,
        "review_url": "https://g.example/acme",
        "request_message": "How did we do?",
        "reminder_task_ids": [task_id],
    }
    store.commit([Write(review_path("acme", "r1"), review)])
    ev = event(
        review_path("acme", "r1"),
        {"status": "requested"},
        {"status": "completed"},
        companyId="acme",
        reviewId="r1",
    )
    assert "cancelled 1" == on_review_written(store, queue, NOW, ev, "fn")
    assert "duplicate" == on_review_written(store, queue, NOW, ev, "fn")
    assert "cancelled" == store.docs[task_path("acme", task_id)][0]["status"]
    rating = event(review_path("acme", "r1"), {"status": "completed"}, {"status": "completed"})
    assert "not completed" == on_review_written(store, queue, NOW, rating, "fn")


def content_event(before: Any, after: Any, id: str = "e1") -> Any:
    path = "companies/acme/content/c1"
    return event(path, before, after, id, companyId="acme", contentId="c1")


def test_scheduled_content_gets_one_publish_task() -> None:
    """Becoming scheduled schedules the publish task (key by content and time), once."""
    store, queue = FakeStore(), FakeTaskQueue()
    ev = content_event({"status": "draft"}, {"status": "scheduled", "scheduled_at": WHEN})
    assert "scheduled" == on_content_written(store, queue, NOW, ev, "fn")
    assert "duplicate" == on_content_written(store, queue, NOW, ev, "fn")
    task = tasks(store)[stable_id(publication_key("c1", WHEN))]
    assert ("publish_content", WHEN, "pending") == (
        task["type"],
        task["scheduled_for"],
        task["status"],
    )
    assert 1 == len(queue.tasks)


def test_rescheduling_and_unscheduling_cancel_the_old_task() -> None:
    """Moving the time replaces the task; back to draft cancels it; publishing needs nothing."""
    store, queue = FakeStore(), FakeTaskQueue()
    first = {"status": "scheduled", "scheduled_at": WHEN}
    later = {"status": "scheduled", "scheduled_at": WHEN + timedelta(hours=2)}
    on_content_written(store, queue, NOW, content_event(None, first), "fn")
    assert "rescheduled" == on_content_written(
        store, queue, NOW, content_event(first, later, "e2"), "fn"
    )
    draft = {"status": "draft", "scheduled_at": WHEN + timedelta(hours=2)}
    assert "unscheduled" == on_content_written(
        store, queue, NOW, content_event(later, draft, "e3"), "fn"
    )
    statuses = {t["scheduled_for"]: t["status"] for t in tasks(store).values()}
    assert {WHEN: "cancelled", WHEN + timedelta(hours=2): "cancelled"} == statuses
    commits = store.commits
    published = {"status": "published", "scheduled_at": WHEN}
    assert "finished" == on_content_written(
        store, queue, NOW, content_event(first, published, "e4"), "fn"
    )
    assert "unchanged" == on_content_written(
        store, queue, NOW, content_event(first, first, "e5"), "fn"
    )
    assert commits == store.commits
