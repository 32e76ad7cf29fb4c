"""One realistic request per function, prepared on the bench's stack.

``prepare(stack, n)`` seeds what the request needs (run ``n`` gets its own e-mail, lead,
event or schedule time, so repeated runs do real work instead of hitting a duplicate
guard) and returns the request. The same requests are the first request of each cold
start and the operations whose Firestore round trips are counted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.stack import COMPANY, FORM_KEY, REFERRAL_CODE, SITE, BenchStack, seed_lead


@dataclass(frozen=True)
class Request:
    method: str = "POST"
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    path: str = "/"  # what the function sees after its name: /companies/acme/..., /?t=...


@dataclass(frozen=True)
class Scenario:
    name: str
    function: str
    prepare: Callable[[BenchStack, int], Request]


def _json(body: dict[str, Any], **headers: str) -> Request:
    return Request(
        "POST", json.dumps(body).encode(), {"Content-Type": "application/json", **headers}
    )


def json_request(
    body: dict[str, Any], headers: dict[str, str], method: str = "POST", path: str = "/"
) -> Request:
    """A JSON body to ``path`` (headers such as Authorization or Origin given as a dict)."""
    encoded = json.dumps(body).encode()
    return Request(method, encoded, {"Content-Type": "application/json", **headers}, path)


def _ip(n: int) -> str:
    return f"10.{n // 62500 % 250}.{n // 250 % 250}.{n % 250 + 1}"


def new_lead(_stack: BenchStack, n: int) -> Request:
    form = {"form_key": FORM_KEY, "email": f"new{n}@example.com", "name": "Sam"}
    return _json(form, Origin=SITE, **{"X-Forwarded-For": _ip(n)})


def duplicate_lead(stack: BenchStack, n: int) -> Request:
    seed_lead(stack.db, f"again{n}@example.com", submission_count=1)
    form = {"form_key": FORM_KEY, "email": f"again{n}@example.com", "phone": "555-0100"}
    return _json(form, Origin=SITE, **{"X-Forwarded-For": _ip(n)})


def redemption(_stack: BenchStack, n: int) -> Request:
    form = {"form_key": FORM_KEY, "code": REFERRAL_CODE, "email": f"friend{n}@example.com"}
    return _json(form, Origin=SITE, **{"X-Forwarded-For": _ip(n)})


def review_request(stack: BenchStack, n: int) -> Request:
    lead_id = seed_lead(stack.db, f"customer{n}@example.com")
    return _json({"lead_id": lead_id}, **stack.staff())


def task_execution(stack: BenchStack, n: int) -> Request:
    """A due ``review_request`` task (what a conversion schedules), run by Cloud Tasks."""
    from shared.domain.tasks import ScheduledTask, task_path

    lead_id = seed_lead(stack.db, f"converted{n}@example.com", status="converted")
    now = datetime.now(UTC)
    task = ScheduledTask(
        id=f"bench-task-{n}",
        company_id=COMPANY,
        type="review_request",
        scheduled_for=now - timedelta(seconds=1),
        data={"lead_id": lead_id},
        key=f"bench-task-{n}",
        created_at=now,
        updated_at=now,
    )
    stack.db.document(task_path(COMPANY, task.id)).set(task.model_dump())
    headers = {"X-CloudTasks-QueueName": "growth-tasks", "X-CloudTasks-TaskName": task.id}
    return _json({"company_id": COMPANY, "task_id": task.id}, **headers)


def event(stack: BenchStack, function: str, document: str) -> Request:
    """The CloudEvent Eventarc sends for the latest change of ``document``."""
    from localcloud.eventarc import event_data, event_headers
    from shared.manifest import by_name

    commit, change = stack.last_change(document)
    return Request("POST", event_data(change), event_headers(by_name(function), change, commit))


def lead_written(stack: BenchStack, n: int) -> Request:
    lead_id = seed_lead(stack.db, f"scored{n}@example.com", phone="555-0101")
    return event(stack, "on_lead_written", f"companies/{COMPANY}/leads/{lead_id}")


def interaction_created(stack: BenchStack, n: int) -> Request:
    lead_id = seed_lead(stack.db, f"engaged{n}@example.com")
    path = f"companies/{COMPANY}/leads/{lead_id}/interactions/i{n}"
    stack.db.document(path).set(
        {"type": "email", "direction": "inbound", "created_at": datetime.now(UTC)}
    )
    return event(stack, "on_interaction_created", path)


def review_completed(stack: BenchStack, n: int) -> Request:
    """A review requested through the service (two reminders pending), then completed."""
    from shared import bootstrap
    from shared.domain.identity import Role, StaffIdentity
    from shared.services.reviews import request_review

    lead_id = seed_lead(stack.db, f"reviewer{n}@example.com")
    review_id = f"r{n}"
    store, now = bootstrap.document_store(), datetime.now(UTC)
    queue, messenger = bootstrap.task_queue(), bootstrap.messenger()
    staff = StaffIdentity("bench", COMPANY, Role.MANAGER)
    request_review(
        store,
        queue,
        messenger,
        now,
        staff=staff,
        company_id=COMPANY,
        lead_id=lead_id,
        review_id=review_id,
    )
    path = f"companies/{COMPANY}/reviews/{review_id}"
    stack.db.document(path).update({"status": "completed", "rating": 5})
    return event(stack, "on_review_written", path)


def content_scheduled(stack: BenchStack, n: int) -> Request:
    path = f"companies/{COMPANY}/content/c{n}"
    when = datetime.now(UTC) + timedelta(days=1)
    data = {"title": "Spring", "type": "social", "body": "Hi", "status": "scheduled"}
    stack.db.document(path).set({**data, "scheduled_at": when})
    return event(stack, "on_content_written", path)


def publish_now(stack: BenchStack, n: int) -> Request:
    path = f"companies/{COMPANY}/content/p{n}"
    stack.db.document(path).set({"title": "Post", "type": "blog", "body": "Hi", "status": "draft"})
    return _json({"content_id": f"p{n}", "platforms": ["blog"]}, **stack.staff())


def list_codes(stack: BenchStack, _n: int) -> Request:
    return Request("GET", b"", stack.staff())


def scheduled(job: str) -> Callable[[BenchStack, int], Request]:
    """A Scheduler run; each ``n`` is another schedule time (a finished run is skipped)."""

    def prepare(_stack: BenchStack, n: int) -> Request:
        when = datetime.now(UTC) - timedelta(seconds=1, microseconds=n)
        headers = {
            "X-CloudScheduler-JobName": f"growthkit-{job}",
            "X-CloudScheduler-ScheduleTime": when.isoformat().replace("+00:00", "Z"),
        }
        return Request("POST", b"", headers)

    return prepare


# The operations whose round trips are budgeted, then the rest of the functions.
OPERATIONS = (
    Scenario("new lead", "lead_intake", new_lead),
    Scenario("duplicate lead", "lead_intake", duplicate_lead),
    Scenario("referral redemption", "redeem_referral", redemption),
    Scenario("review request", "request_review", review_request),
    Scenario("task execution", "run_task", task_execution),
    Scenario("trigger: lead written", "on_lead_written", lead_written),
    Scenario("trigger: interaction created", "on_interaction_created", interaction_created),
    Scenario("trigger: review completed", "on_review_written", review_completed),
    Scenario("trigger: content scheduled", "on_content_written", content_scheduled),
)
OTHERS = (
    Scenario("publish now", "publish_content", publish_now),
    Scenario("list codes", "referral_codes", list_codes),
    Scenario("dispatch run", "dispatch_due_tasks", scheduled("dispatch-due-tasks")),
    Scenario("rollup run", "rollup_analytics", scheduled("rollup-analytics")),
    Scenario("expiry run", "expire_referrals", scheduled("expire-referrals")),
)
