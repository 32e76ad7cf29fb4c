"""A completed review cancels its reminders in two Firestore round trips, however many."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import pytest

from shared import bootstrap
from shared.domain.identity import Role, StaffIdentity
from shared.domain.leads import lead_id_for
from shared.domain.tasks import task_path
from shared.services.reviews import request_review
from tests.fakes import FakeTaskQueue
from tests.integration.event_support import ProjectFeed, RoundTrips, deliver
from tests.support import seed_company

SETTINGS = {"review_urls": {"google": "https://g.example/acme"}, "review_reminders": 3}


def test_completion_cancels_three_reminders_in_two_round_trips(
    db: Any,
    feed: ProjectFeed,
    functions_env: None,
    monkeypatch: pytest.MonkeyPatch,
    function_client: Any,
    firestore_server: Any,
    project_id: str,
) -> None:
    """One batched read (marker and reminders) and one commit; the same event delivered
    again is one read (its marker is found) and cancels nothing more."""
    queue = FakeTaskQueue()
    monkeypatch.setattr(bootstrap, "task_queue", functools.cache(lambda: queue))
    seed_company(db, settings=SETTINGS)
    lead = lead_id_for("jane@example.com")
    db.document(f"companies/acme/leads/{lead}").set(
        {"email": "jane@example.com", "email_normalized": "jane@example.com", "name": "J"}
    )
    review = request_review(
        bootstrap.document_store(),
        queue,
        bootstrap.messenger(),
        datetime.now(UTC),
        staff=StaffIdentity("m1", "acme", Role.MANAGER),
        company_id="acme",
        lead_id=lead,
        review_id="r1",
    )
    db.document("companies/acme/reviews/r1").update({"status": "completed", "rating": 5})
    client = function_client("on_review_written")
    trips = RoundTrips(firestore_server, project_id)
    deliver(client, "on_review_written", *feed.last("companies/acme/reviews/r1"), times=2)
    assert {"BatchGetDocuments": 2, "Commit": 1} == trips.delta()
    tasks = [db.document(task_path("acme", t)).get() for t in review.reminder_task_ids]
    assert (["cancelled"] * 3, 3) == ([t.get("status") for t in tasks], len(queue.cancelled))
