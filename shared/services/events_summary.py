"""A company's daily metrics over a date range, for staff dashboards (``analytics_summary``).

The metrics are those the daily roll-up stored (``companies/{c}/analytics``), read with
one range query on their ``date``. Totals add each metric up over the range, except
averages, which do not add up and are shown per day only.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from shared.domain.identity import Role, StaffIdentity
from shared.errors import InvalidInput
from shared.ports import DocumentStore, Filter

log = logging.getLogger("growthkit.analytics")

MAX_DAYS = 93
DEFAULT_DAYS = 30
READ_LIMIT = 20_000


def date_range(raw_from: str | None, raw_to: str | None, now: datetime) -> tuple[date, date]:
    """``from`` and ``to`` (ISO dates, inclusive); by default the 30 days up to yesterday.

    Raises:
        InvalidInput: A date that is not ``YYYY-MM-DD``, ``from`` after ``to``, or a range
            longer than ``MAX_DAYS`` days.
    """
    try:
        end = date.fromisoformat(raw_to) if raw_to else now.date() - timedelta(days=1)
        start = date.fromisoformat(raw_from) if raw_from else end - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError as err:
        raise InvalidInput("from and to must be dates: YYYY-MM-DD.") from err
    if start > end:
        raise InvalidInput("from must not be after to.")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"At most {MAX_DAYS} days at a time.")
    return start, end


def analytics_summary(
    store: DocumentStore, staff: StaffIdentity, company_id: str, start: date, end: date
) -> dict[str, Any]:
    """The company's metrics from ``start`` to ``end``: per day and totalled.

    Args:
        store: The document store.
        staff: The caller (any staff role of the company).
        company_id: The company.
        start: The first day (inclusive).
        end: The last day (inclusive).

    Returns:
        ``{"from", "to", "days": [{"date", "metrics": {type: {name: value}}}],
        "totals": {type: {name: value}}, "truncated"}``.

    Raises:
        PermissionDenied: Another company's metrics.
    """
    staff.require_company(company_id)
    staff.require_role(Role.USER)
    rows = store.query(
        f"companies/{company_id}/analytics",
        [Filter("date", ">=", start.isoformat()), Filter("date", "<=", end.isoformat())],
        [("date", False)],
        READ_LIMIT,
    )
    if len(rows) == READ_LIMIT:
        log.warning("analytics summary of %s truncated at %d metrics", company_id, READ_LIMIT)
    days: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    totals: dict[str, dict[str, float]] = defaultdict(dict)
    for data in (r.data for r in rows if r.data is not None):
        kind, name, value = str(data["metric_type"]), str(data["metric_name"]), data["value"]
        days[str(data["date"])][kind][name] = value
        if "average" not in name:
            totals[kind][name] = totals[kind].get(name, 0) + value
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "days": [{"date": d, "metrics": days[d]} for d in sorted(days)],
        "totals": dict(totals),
        "truncated": len(rows) == READ_LIMIT,
    }
