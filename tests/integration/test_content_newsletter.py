"""E-mail content is published as a newsletter issue: through ``publish_content`` on the
local stack (run_task over HTTP, local Cloud Tasks, SMTP to aiosmtpd), the issue reaches
the confirmed subscribers once, and publishing the content again sends nothing more."""

from __future__ import annotations

from typing import Any

from localcloud.tasks.testing import wait_until
from tests.integration import test_campaigns_e2e as e2e
from tests.integration import test_newsletter_issues as issues
from tests.support import Mailbox, seed_company


def publish(function_client: Any, staff_auth: Any, content_id: str) -> Any:
    headers = staff_auth("acme", "manager")
    return function_client("publish_content").post(
        "/", json={"content_id": content_id}, headers=headers
    )


def test_email_content_is_sent_once_to_the_confirmed_subscribers(
    db: Any, mail_stack: Any, mailbox: tuple[Mailbox, int], function_client: Any, staff_auth: Any
) -> None:
    """Content of type e-mail names no platform: it goes to the newsletter (not a failure,
    not left scheduled); the pending subscriber gets nothing; a second publish finds the
    first issue and sends no second mail."""
    seed_company(db, settings={"postal_address": "1 Main Street, Springfield", **e2e.FAST})
    issues.subscribe(db, "ann@example.com")
    issues.subscribe(db, "bob@example.com", topics=[])
    issues.subscribe(db, "pending@example.com", "pending")
    draft = {"title": "Spring news", "type": "email", "body": issues.BODY}
    created = function_client("staff_api").post(
        "/companies/acme/content", json=draft, headers=staff_auth("acme", "manager")
    )
    assert 201 == created.status_code, created.get_json()
    content_id = created.get_json()["id"]
    first = publish(function_client, staff_auth, content_id)
    assert 200 == first.status_code, first.get_json()
    state = first.get_json()["platform_status"]["email"]
    assert ("published", True) == (state["status"], "/newsletters?id=" in state["url"])
    issue_id = state["external_id"]
    assert "sent" == issues.sent_issue(db, issue_id)["status"]
    assert ["ann@example.com", "bob@example.com"] == issues.received(mailbox[0])
    again = publish(function_client, staff_auth, content_id)
    assert again.status_code in (200, 202), again.get_json()
    wait_until(lambda: issues.issue(db, issue_id)["status"] == "sent", timeout=10)
    assert ["ann@example.com", "bob@example.com"] == issues.received(mailbox[0])
    assert 1 == len(list(db.collection("companies/acme/newsletter_issues").stream()))
