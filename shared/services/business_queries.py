"""List queries of the business-development resources, one function per list and sort.

As in ``staff_api_queries``, fields and orderings are written out literally so that
``tests/unit/test_indexes.py`` reads each query's shape from the source and checks its
composite index. Each query is one window (``shared.staff_api.domain.lists``): the sort field
between two bounds and the id between two more, ordered by sort field then id.
"""

from __future__ import annotations

from shared.ports import DocumentStore, Filter, Snapshot
from shared.staff_api.domain.lists import PageQuery


def profiles(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Business profiles of some stages by creation time."""
    w = q.window
    filters = [
        Filter("stage", "in", q.values["stage"]),
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
    return store.query(f"companies/{q.company_id}/business_profiles", filters, order_by, q.limit)


def audits(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Audits by creation time, optionally of one business profile."""
    w = q.window
    filters = (
        [
            Filter("business_profile_id", "==", q.values["business_profile_id"]),
            Filter("created_at", ">=", w.low),
            Filter("created_at", "<=", w.high),
            Filter("id", ">", w.after_id),
            Filter("id", "<", w.before_id),
        ]
        if "business_profile_id" in q.values
        else [
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
    return store.query(f"companies/{q.company_id}/business_audits", filters, order_by, q.limit)


def strategies(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Growth strategies of some statuses by creation time, optionally of one profile."""
    w = q.window
    filters = (
        [
            Filter("business_profile_id", "==", q.values["business_profile_id"]),
            Filter("status", "in", q.values["status"]),
            Filter("created_at", ">=", w.low),
            Filter("created_at", "<=", w.high),
            Filter("id", ">", w.after_id),
            Filter("id", "<", w.before_id),
        ]
        if "business_profile_id" in q.values
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
    return store.query(f"companies/{q.company_id}/growth_strategies", filters, order_by, q.limit)


def resources(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Downloadable resources of some types by creation time."""
    w = q.window
    filters = [
        Filter("type", "in", q.values["type"]),
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
    return store.query(f"companies/{q.company_id}/resources", filters, order_by, q.limit)


def downloads(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Resource downloads by time, optionally of one resource."""
    w = q.window
    filters = (
        [
            Filter("resource_id", "==", q.values["resource_id"]),
            Filter("created_at", ">=", w.low),
            Filter("created_at", "<=", w.high),
            Filter("id", ">", w.after_id),
            Filter("id", "<", w.before_id),
        ]
        if "resource_id" in q.values
        else [
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
    return store.query(f"companies/{q.company_id}/resource_downloads", filters, order_by, q.limit)


def consultations_by_start(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Consultations of some statuses by their start."""
    w = q.window
    filters = [
        Filter("status", "in", q.values["status"]),
        Filter("scheduled_at", ">=", w.low),
        Filter("scheduled_at", "<=", w.high),
        Filter("id", ">", w.after_id),
        Filter("id", "<", w.before_id),
    ]
    order_by = (
        [("scheduled_at", True), ("id", True)]
        if q.descending
        else [("scheduled_at", False), ("id", False)]
    )
    return store.query(f"companies/{q.company_id}/consultations", filters, order_by, q.limit)


def consultations_by_created_at(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Consultations of some statuses by when they were booked."""
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
    return store.query(f"companies/{q.company_id}/consultations", filters, order_by, q.limit)


def subscriptions(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Newsletter subscriptions of some statuses by creation time."""
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
    return store.query(
        f"companies/{q.company_id}/newsletter_subscriptions", filters, order_by, q.limit
    )
