"""Shared data and identities of the security-rules tests: two companies with a document
in every collection the app uses, and the people who may or may not read them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from google.api_core import exceptions

NOW = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
RANK = {"user": 1, "manager": 2, "admin": 3}
# Identity name -> (uid, claims); None is an unauthenticated web visitor.
IDENTITIES: dict[str, tuple[str | None, dict[str, str]]] = {
    "a-user": ("a-user", {"company_id": "a", "role": "user"}),
    "a-manager": ("a-manager", {"company_id": "a", "role": "manager"}),
    "a-admin": ("a-admin", {"company_id": "a", "role": "admin"}),
    "b-admin": ("b-admin", {"company_id": "b", "role": "admin"}),
    "a-unknown-role": ("a-x", {"company_id": "a", "role": "owner"}),
    "signed-in-no-claims": ("someone", {}),
    "visitor": (None, {}),
}
# Document under companies/{c}/ -> the least role that reads it.
READ_ROLE = {
    "": "user",
    "leads/l1": "user",  # assigned to a-user; l2 to nobody, so a user does not read it
    "leads/l1/interactions/i1": "user",
    "leads/l2": "manager",
    "leads/l2/interactions/i1": "manager",
    "leads/l2/assignments/s1": "manager",
    "leads/l1/notes/team": "user",
    "leads/l1/assignments/s1": "user",
    "content/draft": "user",
    # Documents about a lead follow the lead: x1 documents name l1 (a-user's), x2 l2.
    "reviews/r1": "user",
    "reviews/r2": "manager",
    "referrals/ABC123": "user",
    "referrals/XYZ789": "manager",
    "analytics/2024-05-01": "user",
    "campaigns/spring": "user",
    "users/a-user": "user",
    "lead_score_history/h1": "user",
    "lead_score_history/h2": "manager",
    "publications/c1-blog": "user",
    "published_posts/c1": "user",
    "queue_slots/20260309T1300Z": "user",
    "workflows/w1": "user",
    "workflow_executions/x1": "user",
    "workflow_executions/x2": "manager",
    "staff_tasks/s1": "user",
    "scoring_rules/r1": "user",
    "teams/t1": "user",
    "scheduled_tasks/t1": "manager",
    "spam_submissions/s1": "manager",
    "referral_redemptions/r1": "manager",
    "review_cooldowns/l1": "manager",
    "workflow_enrolments/e1": "manager",
    "assignment_counters/c1": "manager",
    "config/scoring": "manager",
    "processed_events/e1": "admin",
    "rate_limits/x": "admin",
    "schema_migrations/0002": "admin",
    "oauth_states/s1": "admin",
    "business_profiles/p1": "user",
    "business_audits/a1": "user",
    "growth_strategies/g1": "user",
    "resources/r1": "user",
    "consultations/c1": "user",  # about no lead
    "consultations/c2": "user",
    "consultations/c3": "manager",
    "consultation_days/2024-05-01": "manager",
    "resource_downloads/d1": "manager",
    "newsletter_subscriptions/s1": "manager",
    "newsletter_issues/n1": "manager",
    "newsletter_issues/n1/recipients/s1": "manager",
    "newsletter_slots/s1-2026-W23": "manager",
    "analytics_events/e1": "manager",
    "analytics_event_counts/2024-05-01-00": "manager",
    "analytics_sessions/s1": "manager",
    "integrations/i1": "manager",
    "social_connections/twitter": "manager",
    "secrets/api-key": "admin",
    "campaigns/spring/recipients/l1": "user",
    "businesses/b1": "user",
    "outreach_contacts/c1": "user",
    "outreach_messages/m1": "user",
    "suppressions/email-x": "manager",
    "outreach_sends/s1": "manager",
    "tracking_events/t1": "manager",
    "email_events/e1": "manager",
    "frequency_counters/email-x-7d1": "admin",
    "send_rate/email-1": "admin",
}


def document(company: str, path: str) -> dict[str, Any]:
    """What the functions store there: each per-company document names its company."""
    if not path:
        return {"name": company.upper(), "settings": {"review_cooldown_days": 180}}
    data: dict[str, Any] = {"company_id": company, "created_at": NOW}
    if path.startswith("leads/l1/notes/"):
        data.update(body="hi", audience="team", author="a-user")
    if path == "leads/l1":
        data.update(email="x@example.com", status="new", tags=[], assigned_to="a-user")
    if path == "leads/l2":
        data.update(email="y@example.com", status="new", tags=[], assigned_to=None)
    if path.startswith("content/"):
        data.update(title="Spring", status="draft", type="blog")
    if path.startswith("users/"):
        data.update(role="user", email="u@example.com", name="U")
    return data | _about_lead(path)


# What names which lead (l1 is a-user's, l2 nobody's), by document.
_ABOUT = {
    "reviews/r1": ("lead_id", "l1"),
    "reviews/r2": ("lead_id", "l2"),
    "referrals/ABC123": ("referrer_lead_id", "l1"),
    "referrals/XYZ789": ("referrer_lead_id", "l2"),
    "lead_score_history/h1": ("lead_id", "l1"),
    "lead_score_history/h2": ("lead_id", "l2"),
    "workflow_executions/x1": ("lead_id", "l1"),
    "workflow_executions/x2": ("lead_id", "l2"),
    "consultations/c1": ("lead_id", None),
    "consultations/c2": ("lead_id", "l1"),
    "consultations/c3": ("lead_id", "l2"),
}


def _about_lead(path: str) -> dict[str, Any]:
    field, lead = _ABOUT.get(path, (None, None))
    return {field: lead} if field else {}


def seed(db: Any) -> None:
    """Both companies, with a document in every collection, plus a private note of
    a-manager (its audience is the author's uid)."""
    batch = db.batch()
    for company in ("a", "b"):
        for path, _ in READ_ROLE.items():
            batch.set(
                db.document(f"companies/{company}/{path}".rstrip("/")), document(company, path)
            )
    private = {**document("a", "leads/l1/notes/x"), "audience": "a-manager", "author": "a-manager"}
    batch.set(db.document("companies/a/leads/l1/notes/private"), private)
    batch.set(
        db.document("companies/a/content/published"),
        {**document("a", "content/p"), "status": "published"},
    )
    batch.commit()


def stamped(uid: str, **fields: Any) -> dict[str, Any]:
    """A hand-made change to a lead as the rules want it: who made it, and when."""
    from google.cloud import firestore

    return {**fields, "updated_at": firestore.SERVER_TIMESTAMP, "updated_by": uid}


def may_read(identity: str, company: str, least_role: str) -> bool:
    """The policy: staff of the company with at least that role."""
    _, claims = IDENTITIES[identity]
    role = claims.get("role", "")
    return claims.get("company_id") == company and RANK.get(role, 0) >= RANK[least_role]


def allowed(action: Callable[[], Any]) -> bool:
    """Whether ``action`` went through, False when it was refused by the rules."""
    try:
        action()
    except exceptions.PermissionDenied:
        return False
    return True


def clients(client_as: Callable[..., Any]) -> dict[str, Any]:
    """A real client for each identity."""
    return {name: client_as(uid, **claims) for name, (uid, claims) in IDENTITIES.items()}
