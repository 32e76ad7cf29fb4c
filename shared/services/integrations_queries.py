"""List queries of integrations, social connections and named secrets, written out
literally (``tests/unit/test_indexes.py`` reads their shapes from the source)."""

from __future__ import annotations

from shared.ports import DocumentStore, Filter, Snapshot
from shared.staff_api.domain.lists import PageQuery


def integrations(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Integrations of some statuses by creation time."""
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
    return store.query(f"companies/{q.company_id}/integrations", filters, order_by, q.limit)


def connections(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Social connections of some statuses by creation time (the platform is the id)."""
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
    return store.query(f"companies/{q.company_id}/social_connections", filters, order_by, q.limit)


def secrets(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Named secrets by creation time (the name is the id)."""
    w = q.window
    filters = [
        Filter("created_at", ">=", w.low),
        Filter("created_at", "<=", w.high),
        Filter("name", ">", w.after_id),
        Filter("name", "<", w.before_id),
    ]
    order_by = (
        [("created_at", True), ("name", True)]
        if q.descending
        else [("created_at", False), ("name", False)]
    )
    return store.query(f"companies/{q.company_id}/secrets", filters, order_by, q.limit)
