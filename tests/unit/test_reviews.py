"""Review requests, the cooldown, reminders and completion, against in-memory fakes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.domain.identity import Role, StaffIdentity
from shared.domain.reviews import reminder_task_id, render_message, review_path
from shared.domain.tasks import ScheduledTask, task_path
from shared.errors import InvalidInput, Refused, Transient
from shared.ports import OutboundMessage, Write
from shared.services.reviews import (
    cancel_reminders,
    complete_review,
    request_review,
    review_reminder_task,
    review_request_task,
)
from shared.services.task_handlers import TaskContext
from tests.fakes import FakeClock, FakeMessenger, FakeStore, FakeTaskQueue

SETTINGS = {
    "review_urls": {"google": "https://g.example/acme"},
    "review_reminder_interval_hours": 48,
}
MANAGER = StaffIdentity("m1", "acme", Role.MANAGER)


class World:
    """The fakes one test works with, and a seeded company with two leads."""

    def __init__(self, **settings: Any) -> None:
        self.store, self.queue = FakeStore(), FakeTaskQueue()
        self.messenger, self.clock = FakeMessenger(), FakeClock()
        company = {"name": "Acme", "settings": {**SETTINGS, **settings}}
        self.store.docs["companies/acme"] = (company, self.clock.now())
        for lead_id, name, extra in [("jane", "Jane", {}), ("bob", None, {"tags": ["angry"]})]:
            lead = {"id": lead_id, "company_id": "acme", "email": f"{lead_id}@example.com"}
            lead.update(email_normalized=lead["email"], name=name, **extra)
            self.store.docs[f"companies/acme/leads/{lead_id}"] = (lead, self.clock.now())

    def request(self, lead_id: str = "jane", review_id: str = "r1", **kwargs: Any) -> Any:
        return request_review(
            self.store,
            self.queue,
            self.messenger,
            self.clock.now(),
            staff=MANAGER,
            company_id="acme",
            lead_id=lead_id,
            review_id=review_id,
            **kwargs,
        )

    def doc(self, path: str) -> dict[str, Any]:
        return self.store.docs[path][0]

    def ctx(self) -> TaskContext:
        return TaskContext(self.store, self.queue, self.messenger, self.clock.now())

    def task(self, task_id: str) -> ScheduledTask:
        return ScheduledTask.model_validate(self.doc(task_path("acme", task_id)))


def test_request_sends_records_and_schedules_reminders() -> None:
    """One neutral message, the review, an outbound interaction and two reminders."""
    w = World()
    w.request()
    (message,) = w.messenger.sent.values()
    text = "Hi Jane, thank you for choosing Acme! Would you share your experience? "
    assert ("jane@example.com", text + "https://g.example/acme") == (message.to, message.body)
    review = w.doc(review_path("acme", "r1"))
    assert ("requested", "sent", None, 0) == (
        review["status"],
        review["delivery"],
        review["rating"],
        review["reminders_sent"],
    )
    (interaction,) = [d for p, (d, _) in w.store.docs.items() if "/interactions/" in p]
    assert ("email", "outbound") == (interaction["type"], interaction["direction"])
    reminders = [w.task(reminder_task_id("acme", "r1", n)) for n in (1, 2)]
    assert [w.clock.now() + timedelta(hours=48 * n) for n in (1, 2)] == [
        t.scheduled_for for t in reminders
    ]


def test_every_customer_gets_the_same_request_whatever_their_sentiment() -> None:
    """No gating: a lead tagged as unhappy gets the same text (bar the greeting)."""
    w = World()
    w.request("jane", "r1")
    w.request("bob", "r2")
    jane, bob = (m.body for m in w.messenger.sent.values())
    assert jane.replace("Jane", "there") == bob


def test_cooldown_refuses_a_second_request_until_it_passes() -> None:
    """Asked once, the customer is not asked again within the cooldown (180 days)."""
    w = World()
    w.request(review_id="r1")
    w.clock.advance(days=179)
    with pytest.raises(Refused):
        w.request(review_id="r2")
    w.clock.advance(days=2)
    w.request(review_id="r3")
    assert 2 == len(w.messenger.sent)


def test_replaying_the_same_review_id_sends_once() -> None:
    """A retried request with the same review id resumes instead of refusing itself."""
    w = World()
    first, again = w.request(), w.request()
    assert (first.id, 1) == (again.id, len(w.messenger.sent))


def test_failed_send_releases_the_customer() -> None:
    """When nothing was sent, the customer can be asked again straight away."""

    class DownMessenger(FakeMessenger):
        def send(self, message: OutboundMessage) -> str:
            raise Transient("SMTP down")

    w = World()
    w.messenger = DownMessenger()
    with pytest.raises(Transient):
        w.request(review_id="r1")
    w.messenger = FakeMessenger()
    w.request(review_id="r2")
    assert ["r2"] == [p.rsplit("/", 1)[1] for p in w.store.docs if "/reviews/" in p]


def test_opted_out_customers_and_unknown_platforms_are_refused() -> None:
    """Do-not-contact leads are never asked; a platform without a link is bad input."""
    w = World()
    w.store.commit([Write("companies/acme/leads/jane", {"do_not_contact": True}, "merge")])
    with pytest.raises(Refused):
        w.request()
    with pytest.raises(InvalidInput):
        w.request("bob", platform="yelp")


def test_reminder_is_sent_while_requested_and_not_once_completed() -> None:
    """Reminder 1 goes out; after completion reminder 2 sends nothing."""
    w = World()
    w.request()
    first = review_reminder_task(w.ctx(), w.task(reminder_task_id("acme", "r1", 1)))
    assert (True, 1) == (first["sent"], w.doc(review_path("acme", "r1"))["reminders_sent"])
    complete_review(
        w.store, w.clock.now(), staff=MANAGER, company_id="acme", review_id="r1", rating=2
    )
    second = review_reminder_task(w.ctx(), w.task(reminder_task_id("acme", "r1", 2)))
    assert ({"skipped": "review is completed"}, 2) == (second, len(w.messenger.sent))


def test_complete_then_cancel_reminders() -> None:
    """Completion records the rating; cancelling the reminders is idempotent."""
    w = World()
    w.request()
    review = complete_review(
        w.store, w.clock.now(), staff=MANAGER, company_id="acme", review_id="r1", rating=5
    )
    assert ("completed", 5, w.clock.now()) == (review.status, review.rating, review.completed_at)
    assert 2 == cancel_reminders(w.store, w.queue, w.clock.now(), company_id="acme", review_id="r1")
    assert 0 == cancel_reminders(w.store, w.queue, w.clock.now(), company_id="acme", review_id="r1")
    assert "cancelled" == w.task(reminder_task_id("acme", "r1", 1)).status


def test_review_request_task_respects_the_cooldown() -> None:
    """The conversion-triggered request skips (not fails) a customer asked recently."""
    w = World()
    w.request(review_id="staff")
    task = ScheduledTask(
        id="t1", company_id="acme", type="review_request", scheduled_for=w.clock.now()
    )
    task = task.model_copy(update={"data": {"lead_id": "jane"}})
    result = review_request_task(w.ctx(), task)
    assert ({"skipped": "This customer was asked for a review recently."}, 1) == (
        result,
        len(w.messenger.sent),
    )
    assert "review_id" in review_request_task(
        w.ctx(), task.model_copy(update={"data": {"lead_id": "bob"}})
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{name} at {company}: {url} {other}", "Jo at Acme: u {other}"),
        (
            "{name.__class__}",
            "Hi Jo, thank you for choosing Acme! Would you share your experience? u",
        ),
        ("broken {", "Hi Jo, thank you for choosing Acme! Would you share your experience? u"),
        ("{name:d}", "Hi Jo, thank you for choosing Acme! Would you share your experience? u"),
    ],
)
def test_render_message_is_safe(template: str, expected: str) -> None:
    """Unknown fields stay as written; attribute access and bad templates use the default."""
    assert expected == render_message(template, name="Jo", company="Acme", url="u")
