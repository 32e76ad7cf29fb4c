"""Content scheduled through the staff API without platforms: its task must settle it
(published where its type goes by default, or failed with the reason), never leave it
scheduled. Staff API, on_content_written and run_task through functions-framework and
the local Firestore, with the local publisher."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fakes import FakeTaskQueue
from tests.integration.event_support import ProjectFeed, deliver
from tests.support import docs, seed_company


@pytest.fixture
def queue(db: Any, queue: FakeTaskQueue) -> FakeTaskQueue:
    seed_company(db)
    return queue


def schedule_and_run(
    db: Any, feed: ProjectFeed, function_client: Any, staff_auth: Any, **content: Any
) -> dict[str, Any]:
    """Staff schedule ``content`` (no platforms); its task runs once it is due."""
    when = datetime.now(UTC) + timedelta(minutes=5)
    body = {"title": "Spring", "body": "Hello", "status": "scheduled"}
    body |= {"scheduled_at": when.isoformat(), **content}
    created = function_client("staff_api").post(
        "/companies/acme/content", json=body, headers=staff_auth("acme")
    )
    assert 201 == created.status_code, created.get_json()
    path = f"companies/acme/content/{created.get_json()['id']}"
    deliver(function_client("on_content_written"), "on_content_written", *feed.last(path))
    (task_id,) = docs(db, "companies/acme/scheduled_tasks")
    past = datetime.now(UTC) - timedelta(seconds=1)
    db.document(f"companies/acme/scheduled_tasks/{task_id}").update({"scheduled_for": past})
    run = function_client("run_task").post("/", json={"company_id": "acme", "task_id": task_id})
    assert 200 == run.status_code, run.get_json()
    data: dict[str, Any] = db.document(path).get().to_dict()
    return data


def test_a_blog_post_without_platforms_is_published_to_the_blog(
    db: Any, queue: FakeTaskQueue, feed: ProjectFeed, function_client: Any, staff_auth: Any
) -> None:
    """A blog post goes where blog posts go by default (here the local publisher's blog)."""
    content = schedule_and_run(db, feed, function_client, staff_auth, type="blog")
    assert ("published", ["blog"]) == (content["status"], content["platforms"])


def test_an_email_without_platforms_goes_out_as_a_newsletter_issue(
    db: Any, queue: FakeTaskQueue, feed: ProjectFeed, function_client: Any, staff_auth: Any
) -> None:
    """E-mail content is not posted to a platform: it becomes an issue of the company's
    newsletter (sent to its confirmed subscribers), not a failure or a stuck schedule."""
    content = schedule_and_run(db, feed, function_client, staff_auth, type="email")
    assert ("published", ["email"]) == (content["status"], content["platforms"])
    (issue,) = [d.to_dict() for d in db.collection("companies/acme/newsletter_issues").stream()]
    assert content["platform_status"]["email"]["external_id"] == issue["id"]
