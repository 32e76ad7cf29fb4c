"""The staff API's list queries, one function per list and sort field.

Field names and orderings are written out literally so that ``tests/unit/test_indexes.py``
can read every query's shape from the source and check its composite index; that is why
these look alike instead of being built from the resource registry. Each query is one
*window* (see ``shared.staff_api.domain.lists``): the sort field between two bounds and the id
between two more, ordered by sort field then id.
"""

from __future__ import annotations

from shared.ports import DocumentStore, Filter, Snapshot
from shared.staff_api.domain.lists import PageQuery


def leads_by_created_at(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Leads by creation time, of some statuses, optionally one owner's."""
    w = q.window
    filters = (
        [
            Filter("assigned_to", "==", q.values["assigned_to"]),
            Filter("status", "in", q.values["status"]),
            Filter("created_at", ">=", w.low),
            Filter("created_at", "<=", w.high),
            Filter("id", ">", w.after_id),
            Filter("id", "<", w.before_id),
        ]
        if "assigned_to" in q.values
        else [
            Filter("status", "in", q.values["status"]),
            Filter("created_at", ">=", w.low),
            Filter("created_at", "<=", w.high),
            Filter("id", ">", w.after_id),
            Filter("id", "<", w.before_id),
        ]
    )
    order_by = (
        [("created_at", True), ("id", True)]
        if q.descending
        else [("created_at", False), ("id", False)]
    )
    return store.query(f"companies/{q.company_id}/leads", filters, order_by, q.limit)


def leads_by_score(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Leads by score, of some statuses, optionally one owner's."""
    w = q.window
    filters = (
        [
            Filter("assigned_to", "==", q.values["assigned_to"]),
            Filter("status", "in", q.values["status"]),
            Filter("score", ">=", w.low),
            Filter("score", "<=", w.high),
            Filter("id", ">", w.after_id),
            Filter("id", "<", w.before_id),
        ]
        if "assigned_to" in q.values
        else [
            Filter("status", "in", q.values["status"]),
            Filter("score", ">=", w.low),
            Filter("score", "<=", w.high),
            Filter("id", ">", w.after_id),
            Filter("id", "<", w.before_id),
        ]
    )
    order_by = (
        [("score", True), ("id", True)] if q.descending else [("score", False), ("id", False)]
    )
    return store.query(f"companies/{q.company_id}/leads", filters, order_by, q.limit)


def leads_by_name(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Leads by name (``name_lower``, A to Z; ``?q=`` narrows the window to a prefix), of
    some statuses, optionally one owner's."""
    w = q.window
    filters = (
        [
            Filter("assigned_to", "==", q.values["assigned_to"]),
            Filter("status", "in", q.values["status"]),
            Filter("name_lower", ">=", w.low),
            Filter("name_lower", "<=", w.high),
            Filter("id", ">", w.after_id),
            Filter("id", "<", w.before_id),
        ]
        if "assigned_to" in q.values
        else [
            Filter("status", "in", q.values["status"]),
            Filter("name_lower", ">=", w.low),
            Filter("name_lower", "<=", w.high),
            Filter("id", ">", w.after_id),
            Filter("id", "<", w.before_id),
        ]
    )
    order_by = (
        [("name_lower", True), ("id", True)]
        if q.descending
        else [("name_lower", False), ("id", False)]
    )
    return store.query(f"companies/{q.company_id}/leads", filters, order_by, q.limit)


def interactions(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """A lead's interactions by time."""
    w = q.window
    filters = [
        Filter("created_at", ">=", w.low),
        Filter("created_at", "<=", w.high),
        Filter("id", ">", w.after_id),
        Filter("id", "<", w.before_id),
    ]
    order_by = (
        [("created_at", True), ("id", True)]
        if q.descending
        else [("created_at", False), ("id", False)]
    )
    return store.query(
        f"companies/{q.company_id}/leads/{q.parent_id}/interactions", filters, order_by, q.limit
    )


def notes(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """A lead's notes the caller may see (``audience`` in team and their uid)."""
    w = q.window
    filters = [
        Filter("audience", "in", q.values["audience"]),
        Filter("created_at", ">=", w.low),
        Filter("created_at", "<=", w.high),
        Filter("id", ">", w.after_id),
        Filter("id", "<", w.before_id),
    ]
    order_by = (
        [("created_at", True), ("id", True)]
        if q.descending
        else [("created_at", False), ("id", False)]
    )
    return store.query(
        f"companies/{q.company_id}/leads/{q.parent_id}/notes", filters, order_by, q.limit
    )


def assignments(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """A lead's assignment history by time."""
    w = q.window
    filters = [
        Filter("created_at", ">=", w.low),
        Filter("created_at", "<=", w.high),
        Filter("id", ">", w.after_id),
        Filter("id", "<", w.before_id),
    ]
    order_by = (
        [("created_at", True), ("id", True)]
        if q.descending
        else [("created_at", False), ("id", False)]
    )
    return store.query(
        f"companies/{q.company_id}/leads/{q.parent_id}/assignments", filters, order_by, q.limit
    )


def content(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Content items of some statuses by creation time."""
    w = q.window
    filters = [
        Filter("status", "in", q.values["status"]),
        Filter("created_at", ">=", w.low),
        Filter("created_at", "<=", w.high),
        Filter("id", ">", w.after_id),
        Filter("id", "<", w.before_id),
    ]
    order_by = (
        [("created_at", True), ("id", True)]
        if q.descending
        else [("created_at", False), ("id", False)]
    )
    return store.query(f"companies/{q.company_id}/content", filters, order_by, q.limit)


def campaigns(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Campaigns of some statuses by creation time."""
    w = q.window
    filters = [
        Filter("status", "in", q.values["status"]),
        Filter("created_at", ">=", w.low),
        Filter("created_at", "<=", w.high),
        Filter("id", ">", w.after_id),
        Filter("id", "<", w.before_id),
    ]
    order_by = (
        [("created_at", True), ("id", True)]
        if q.descending
        else [("created_at", False), ("id", False)]
    )
    return store.query(f"companies/{q.company_id}/campaigns", filters, order_by, q.limit)


def reviews(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Reviews of some statuses by creation time."""
    w = q.window
    filters = [
        Filter("status", "in", q.values["status"]),
        Filter("created_at", ">=", w.low),
        Filter("created_at", "<=", w.high),
        Filter("id", ">", w.after_id),
        Filter("id", "<", w.before_id),
    ]
    order_by = (
        [("created_at", True), ("id", True)]
        if q.descending
        else [("created_at", False), ("id", False)]
    )
    return store.query(f"companies/{q.company_id}/reviews", filters, order_by, q.limit)


def referrals(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Referral codes of some statuses by creation time (the code is the id)."""
    w = q.window
    filters = [
        Filter("status", "in", q.values["status"]),
        Filter("created_at", ">=", w.low),
        Filter("created_at", "<=", w.high),
        Filter("code", ">", w.after_id),
        Filter("code", "<", w.before_id),
    ]
    order_by = (
        [("created_at", True), ("code", True)]
        if q.descending
        else [("created_at", False), ("code", False)]
    )
    return store.query(f"companies/{q.company_id}/referrals", filters, order_by, q.limit)


def spam_submissions(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Submissions kept apart as spam, of some reasons and statuses, by time."""
    w = q.window
    filters = [
        Filter("reason", "in", q.values["reason"]),
        Filter("status", "in", q.values["status"]),
        Filter("created_at", ">=", w.low),
        Filter("created_at", "<=", w.high),
        Filter("id", ">", w.after_id),
        Filter("id", "<", w.before_id),
    ]
    order_by = (
        [("created_at", True), ("id", True)]
        if q.descending
        else [("created_at", False), ("id", False)]
    )
    return store.query(f"companies/{q.company_id}/spam_submissions", filters, order_by, q.limit)


def users(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Staff of some roles by when they joined."""
    w = q.window
    filters = [
        Filter("role", "in", q.values["role"]),
        Filter("created_at", ">=", w.low),
        Filter("created_at", "<=", w.high),
        Filter("id", ">", w.after_id),
        Filter("id", "<", w.before_id),
    ]
    order_by = (
        [("created_at", True), ("id", True)]
        if q.descending
        else [("created_at", False), ("id", False)]
    )
    return store.query(f"companies/{q.company_id}/users", filters, order_by, q.limit)


def scoring_rules_by_created_at(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Scoring rules of some categories, active or not, by creation time."""
    w = q.window
    filters = [
        Filter("category", "in", q.values["category"]),
        Filter("active", "in", [value == "true" for value in q.values["active"]]),
        Filter("created_at", ">=", w.low),
        Filter("created_at", "<=", w.high),
        Filter("id", ">", w.after_id),
        Filter("id", "<", w.before_id),
    ]
    order_by = (
        [("created_at", True), ("id", True)]
        if q.descending
        else [("created_at", False), ("id", False)]
    )
    return store.query(f"companies/{q.company_id}/scoring_rules", filters, order_by, q.limit)


def scoring_rules_by_priority(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Scoring rules of some categories, active or not, by priority."""
    w = q.window
    filters = [
        Filter("category", "in", q.values["category"]),
        Filter("active", "in", [value == "true" for value in q.values["active"]]),
        Filter("priority", ">=", w.low),
        Filter("priority", "<=", w.high),
        Filter("id", ">", w.after_id),
        Filter("id", "<", w.before_id),
    ]
    order_by = (
        [("priority", True), ("id", True)] if q.descending else [("priority", False), ("id", False)]
    )
    return store.query(f"companies/{q.company_id}/scoring_rules", filters, order_by, q.limit)
