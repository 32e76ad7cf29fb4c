"""The naive way to do each benchmarked operation, with the real Firestore client.

Same effects as the bundle's services (the same documents read and written, markers
included), written the way the client's tutorials suggest: one ``get()`` per document, a
query to find a lead by e-mail or a previous referral instead of deriving the document id,
one write call per document, read-then-write outside a transaction. Each function seeds
what the operation needs (as the scenario of the same name does) and returns the
operation itself, so only the operation's round trips are counted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.stack import COMPANY, REFERRAL_CODE, BenchStack, seed_lead

Operation = Callable[[], Any]
BASE = f"companies/{COMPANY}"


def _where(collection: Any, field: str, op: str, value: Any) -> Any:
    from google.cloud.firestore_v1.base_query import FieldFilter

    return collection.where(filter=FieldFilter(field, op, value))


def _increment(ref: Any) -> None:
    from google.cloud import firestore

    ref.set({"count": firestore.Increment(1)}, merge=True)


def _intake(db: Any, email: str, ip: str) -> None:
    """Company, duplicate query, two rate counters; lead, interaction, two counters."""
    now = datetime.now(UTC)
    db.document(BASE).get()
    found = _where(db.collection(f"{BASE}/leads"), "email_normalized", "==", email).limit(1)
    existing = found.get()
    counters = [db.document(f"{BASE}/rate_limits/{k}") for k in (f"ip-{ip}", "all-minute")]
    for counter in counters:
        counter.get()
    if existing:
        lead = existing[0].reference
        lead.update({"phone": "555-0100", "updated_at": now})
    else:
        lead = db.collection(f"{BASE}/leads").add({"email_normalized": email, "created_at": now})[1]
    lead.collection("interactions").add({"type": "form", "created_at": now})
    for counter in counters:
        _increment(counter)


def new_lead(stack: BenchStack, n: int) -> Operation:
    return lambda: _intake(stack.db, f"naive-new{n}@example.com", f"10.9.0.{n}")


def duplicate_lead(stack: BenchStack, n: int) -> Operation:
    seed_lead(stack.db, f"naive-again{n}@example.com")
    return lambda: _intake(stack.db, f"naive-again{n}@example.com", f"10.9.1.{n}")


def redemption(stack: BenchStack, n: int) -> Operation:
    """Reads company, code, counter; queries the friend's lead and past redemptions; then
    updates the code's count outside a transaction and writes four documents."""
    from google.cloud import firestore

    db, email = stack.db, f"naive-friend{n}@example.com"

    def run() -> None:
        db.document(BASE).get()
        code = db.document(f"{BASE}/referrals/{REFERRAL_CODE}")
        code.get()
        counter = db.document(f"{BASE}/rate_limits/referral-ip-naive{n}")
        counter.get()
        _where(db.collection(f"{BASE}/leads"), "email_normalized", "==", email).get()
        _where(db.collection(f"{BASE}/referral_redemptions"), "email", "==", email).get()
        code.update({"times_used": firestore.Increment(1), "updated_at": datetime.now(UTC)})
        lead = db.collection(f"{BASE}/leads").add({"email_normalized": email})[1]
        db.collection(f"{BASE}/referral_redemptions").add({"email": email, "lead": lead.id})
        lead.collection("interactions").add({"type": "form"})
        _increment(counter)

    return run


def _review_request(db: Any, lead_id: str) -> None:
    """Company and lead; a cooldown query; review, outbox, interaction, two reminders,
    and the review again with the reminders' ids."""
    now = datetime.now(UTC)
    db.document(BASE).get()
    db.document(f"{BASE}/leads/{lead_id}").get()
    recent = _where(db.collection(f"{BASE}/reviews"), "lead_id", "==", lead_id)
    _where(recent, "requested_at", ">=", now - timedelta(days=30)).get()
    review = db.collection(f"{BASE}/reviews").add({"lead_id": lead_id, "requested_at": now})[1]
    db.collection("outbox").add({"to": lead_id, "body": "How did we do?"})
    db.collection(f"{BASE}/leads/{lead_id}/interactions").add({"type": "email"})
    tasks = [
        db.collection(f"{BASE}/scheduled_tasks").add({"type": "review_reminder", "n": k})[1]
        for k in (1, 2)
    ]
    review.update({"reminder_task_ids": [t.id for t in tasks]})


def review_request(stack: BenchStack, n: int) -> Operation:
    lead_id = seed_lead(stack.db, f"naive-customer{n}@example.com")
    return lambda: _review_request(stack.db, lead_id)


def task_execution(stack: BenchStack, n: int) -> Operation:
    """Read the task, mark it running, run the handler, mark it done: no lease."""
    lead_id = seed_lead(stack.db, f"naive-converted{n}@example.com", status="converted")
    task = stack.db.document(f"{BASE}/scheduled_tasks/naive-task-{n}")
    task.set({"type": "review_request", "status": "pending", "data": {"lead_id": lead_id}})

    def run() -> None:
        task.get()
        task.update({"status": "running"})
        _review_request(stack.db, lead_id)
        task.update({"status": "completed"})

    return run


def _marker(db: Any, name: str) -> Any:
    ref = db.document(f"{BASE}/processed_events/naive-{name}")
    ref.get()
    return ref


def lead_written(stack: BenchStack, n: int) -> Operation:
    """Marker, lead, company, scoring config, rules; the score, its history, the marker."""
    db = stack.db
    lead = db.document(f"{BASE}/leads/{seed_lead(db, f'naive-scored{n}@example.com')}")

    def run() -> None:
        marker = _marker(db, f"lead-{n}")
        lead.get()
        db.document(BASE).get()
        db.document(f"{BASE}/settings/scoring").get()
        db.collection(f"{BASE}/scoring_rules").limit(500).get()
        lead.update({"score": 15, "temperature": "warm"})
        db.collection(f"{BASE}/lead_score_history").add({"score": 15})
        marker.set({"done": True})

    return run


def interaction_created(stack: BenchStack, n: int) -> Operation:
    db = stack.db
    lead = db.document(f"{BASE}/leads/{seed_lead(db, f'naive-engaged{n}@example.com')}")

    def run() -> None:
        marker = _marker(db, f"interaction-{n}")
        lead.get()
        lead.update({"last_engagement_at": datetime.now(UTC)})
        marker.set({"done": True})

    return run


def review_completed(stack: BenchStack, n: int) -> Operation:
    """Marker, review, each reminder read then cancelled, marker."""
    db = stack.db
    tasks = [db.document(f"{BASE}/scheduled_tasks/naive-rem-{n}-{k}") for k in (1, 2)]
    for task in tasks:
        task.set({"status": "pending"})
    review = db.document(f"{BASE}/reviews/naive-r{n}")
    review.set({"status": "completed", "reminder_task_ids": [t.id for t in tasks]})

    def run() -> None:
        marker = _marker(db, f"review-{n}")
        review.get()
        for task in tasks:
            if task.get().get("status") == "pending":
                task.update({"status": "cancelled"})
        marker.set({"done": True})

    return run


def content_scheduled(stack: BenchStack, n: int) -> Operation:
    """Marker, the publish task if it exists, then the task and the marker."""
    db = stack.db

    def run() -> None:
        marker = _marker(db, f"content-{n}")
        task = db.document(f"{BASE}/scheduled_tasks/naive-publish-{n}")
        if not task.get().exists:
            task.set({"type": "publish_content", "status": "pending"})
        marker.set({"done": True})

    return run


NAIVE: dict[str, Callable[[BenchStack, int], Operation]] = {
    "new lead": new_lead,
    "duplicate lead": duplicate_lead,
    "referral redemption": redemption,
    "review request": review_request,
    "task execution": task_execution,
    "trigger: lead written": lead_written,
    "trigger: interaction created": interaction_created,
    "trigger: review completed": review_completed,
    "trigger: content scheduled": content_scheduled,
}
