"""Review requests through functions-framework, verified ID tokens and the local Firestore;
reminders run through run_task, messages land in the outbox."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import bootstrap
from shared.domain.leads import lead_id_for
from shared.domain.reviews import reminder_task_id
from shared.domain.tasks import task_path
from tests.fakes import FakeTaskQueue
from tests.support import docs, seed_company

LEAD = lead_id_for("jane@example.com")
SETTINGS = {"review_urls": {"google": "https://g.example/acme"}, "review_cooldown_days": 30}


@pytest.fixture
def acme(db: Any, monkeypatch: pytest.MonkeyPatch, functions_env: None) -> FakeTaskQueue:
    """Acme with a Google review link and one lead; Cloud Tasks recorded in memory."""
    seed_company(db, settings=SETTINGS)
    lead = {"id": LEAD, "company_id": "acme", "email": "jane@example.com", "name": "Jane"}
    lead |= {"assigned_to": "user-1"}  # the uid of staff_auth's tokens: a user's own lead
    db.document(f"companies/acme/leads/{LEAD}").set({**lead, "email_normalized": lead["email"]})
    fake = FakeTaskQueue()
    monkeypatch.setattr(bootstrap, "task_queue", functools.cache(lambda: fake))
    return fake


def ask(function_client: Any, headers: dict[str, str], **body: Any) -> Any:
    return function_client("request_review").post(
        "/", json={"lead_id": LEAD, **body}, headers=headers
    )


def make_due(db: Any, task_id: str) -> None:
    """Time passes: the reminder is due now."""
    past = datetime.now(UTC) - timedelta(minutes=1)
    db.document(task_path("acme", task_id)).update({"scheduled_for": past})


def run(function_client: Any, task_id: str) -> Any:
    body = {"company_id": "acme", "task_id": task_id}
    return function_client("run_task").post("/", json=body).get_json()


def test_request_sends_records_and_schedules_two_reminders(
    db: Any, acme: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """201; one e-mail in the outbox, the review, an outbound interaction, 2 reminders."""
    res = ask(function_client, staff_auth("acme", role="user"))
    assert (201, "requested") == (res.status_code, res.get_json()["status"])
    (mail,) = docs(db, "outbox").values()
    assert ("jane@example.com", True) == (mail["to"], "https://g.example/acme" in mail["body"])
    review_id = res.get_json()["id"]
    review = db.document(f"companies/acme/reviews/{review_id}").get().to_dict()
    assert (LEAD, "google", None, 0) == (
        review["lead_id"],
        review["platform"],
        review["rating"],
        review["reminders_sent"],
    )
    (interaction,) = docs(db, f"companies/acme/leads/{LEAD}/interactions").values()
    assert ("email", "outbound") == (interaction["type"], interaction["direction"])
    tasks = docs(db, "companies/acme/scheduled_tasks")
    assert (["pending", "pending"], 2) == ([t["status"] for t in tasks.values()], len(acme.tasks))


def test_cooldown_refuses_a_second_request(
    db: Any, acme: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """The same customer asked again within the cooldown: 409, nothing sent."""
    headers = staff_auth("acme")
    assert 201 == ask(function_client, headers).status_code
    again = ask(function_client, headers, message="Please, {name}! {url}")
    assert (409, "failed-precondition") == (again.status_code, again.get_json()["error"]["code"])
    assert 1 == len(docs(db, "outbox"))


def test_callers_from_another_company_and_unknown_leads_are_refused(
    db: Any, acme: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """403 for another company's lead, 404 for a lead not in the caller's, 401 without a token."""
    other = staff_auth("globex")
    assert 403 == ask(function_client, other, company_id="acme").status_code
    assert 404 == ask(function_client, other).status_code
    assert 401 == ask(function_client, {}).status_code
    assert {} == docs(db, "outbox")


def test_reminder_is_sent_then_nothing_after_completion(
    db: Any, acme: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """Reminder 1 goes out; the review is completed; reminder 2 runs and sends nothing."""
    headers = staff_auth("acme")
    review_id = ask(function_client, headers).get_json()["id"]
    first, second = (reminder_task_id("acme", review_id, n) for n in (1, 2))
    make_due(db, first)
    assert {"sent": True, "number": 1} == {
        k: v for k, v in run(function_client, first)["result"].items() if k != "message_id"
    }
    done = ask(function_client, headers, action="complete", review_id=review_id, rating=4)
    assert (200, "completed", 4) == (
        done.status_code,
        done.get_json()["status"],
        done.get_json()["rating"],
    )
    make_due(db, second)
    result = run(function_client, second)
    assert ("completed", {"skipped": "review is completed"}) == (
        result["outcome"],
        result["result"],
    )
    review = db.document(f"companies/acme/reviews/{review_id}").get().to_dict()
    assert (2, 1) == (len(docs(db, "outbox")), review["reminders_sent"])


def test_completion_rejects_bad_ratings(
    db: Any, acme: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """Ratings are 1 to 5; an unknown review is a 404."""
    headers = staff_auth("acme")
    review_id = ask(function_client, headers).get_json()["id"]
    bad = ask(function_client, headers, action="complete", review_id=review_id, rating=9)
    unknown = ask(function_client, headers, action="complete", review_id="nope", rating=5)
    assert (400, 404) == (bad.status_code, unknown.status_code)


@pytest.mark.parametrize(
    ("stored", "greeting"),
    [
        ({"name": "Bob Builder", "first_name": "Bob", "last_name": "Builder"}, "Hi Bob,"),
        ({"name": "Lovelace, Ada"}, "Hi Ada,"),  # stored before leads had first_name
        ({"name": None}, "Hi there,"),
    ],
)
def test_the_request_greets_the_customer_by_first_name(
    db: Any,
    acme: FakeTaskQueue,
    function_client: Any,
    staff_auth: Any,
    stored: dict[str, Any],
    greeting: str,
) -> None:
    """ "Hi Bob," (not "Hi Bob Builder,"): the mail, the stored review and the lead's
    timeline say the first name, however the lead's name was stored."""
    db.document(f"companies/acme/leads/{LEAD}").update(stored)
    res = ask(function_client, staff_auth("acme", role="user"))
    assert 201 == res.status_code, res.get_data(as_text=True)
    (mail,) = docs(db, "outbox").values()
    (interaction,) = docs(db, f"companies/acme/leads/{LEAD}/interactions").values()
    (review,) = docs(db, "companies/acme/reviews").values()
    assert [greeting] * 3 == [
        text.split(" thank you")[0]
        for text in (mail["body"], review["request_message"], interaction["body"])
    ]
