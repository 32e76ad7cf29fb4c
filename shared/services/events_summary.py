"""A company's daily metrics over a date range, for staff dashboards (``analytics_summary``).

The metrics of past days are those the daily roll-up stored (``companies/{c}/analytics``),
read with one range query on their ``date``. Today is rolled up only after it ends (at
00:15 UTC), so its figures, and yesterday's until that rollup has stored them, are
computed live by the rollup's own computation (``company_day_metrics``: the day's
documents and event counters) and marked ``"live": true``. Totals add each metric up over
the range, except averages, which do not add up and are shown per day only.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from shared.domain.analytics import live_days, utc_day
from shared.domain.identity import Role, StaffIdentity
from shared.errors import InvalidInput
from shared.ports import DocumentStore, Filter

log = logging.getLogger("growthkit.analytics")

MAX_DAYS = 93
DEFAULT_DAYS = 30
READ_LIMIT = 20_000


def date_range(raw_from: str | None, raw_to: str | None, now: datetime) -> tuple[date, date]:
    """``from`` and ``to`` (ISO dates, inclusive); by default the 30 days up to today.

    Raises:
        InvalidInput: A date that is not ``YYYY-MM-DD``, ``from`` after ``to``, or a range
            longer than ``MAX_DAYS`` days.
    """
    try:
        end = date.fromisoformat(raw_to) if raw_to else now.date()
        start = date.fromisoformat(raw_from) if raw_from else end - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError as err:
        raise InvalidInput("from and to must be dates: YYYY-MM-DD.") from err
    if start > end:
        raise InvalidInput("from must not be after to.")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"At most {MAX_DAYS} days at a time.")
    return start, end


def analytics_summary(
    store: DocumentStore,
    staff: StaffIdentity,
    company_id: str,
    start: date,
    end: date,
    now: datetime,
) -> dict[str, Any]:
    """The company's metrics from ``start`` to ``end``: per day and totalled.

    Args:
        store: The document store.
        staff: The caller (any staff role of the company).
        company_id: The company.
        start: The first day (inclusive).
        end: The last day (inclusive).
        now: Today's date, and whether yesterday may still be waiting for its rollup.

    Returns:
        ``{"from", "to", "days": [{"date", "metrics": {type: {name: value}}, "live"}],
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
    stored = [_row(r.data) for r in rows if r.data is not None]
    live = live_days(start, end, now, {row[0] for row in stored})
    computed = [row for day in live for row in _live_rows(store, company_id, day)]
    summary = _summary(stored + computed, {d.isoformat() for d in live})
    truncated = {"truncated": len(rows) == READ_LIMIT}
    return {"from": start.isoformat(), "to": end.isoformat(), **summary, **truncated}


Row = tuple[str, str, str, float]  # date, metric type, metric name, value


def _row(data: dict[str, Any]) -> Row:
    return str(data["date"]), str(data["metric_type"]), str(data["metric_name"]), data["value"]


def _live_rows(store: DocumentStore, company_id: str, day: date) -> list[Row]:
    """The day's metrics as the rollup will store them, computed now."""
    # Imported here: the rollup's sources load only for a summary that shows a live day,
    # not on every track_events cold start (this module shares its area).
    from shared.services.analytics import company_day_metrics

    metrics = company_day_metrics(store, company_id, utc_day(day))
    return [(m.date, m.metric_type, m.metric_name, m.value) for m in metrics]


def _summary(rows: list[Row], live: set[str]) -> dict[str, Any]:
    """``days`` (each marked live or not) and ``totals`` of the rows."""
    days: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    totals: dict[str, dict[str, float]] = defaultdict(dict)
    for day, kind, name, value in rows:
        days[day][kind][name] = value
        if "average" not in name:
            totals[kind][name] = totals[kind].get(name, 0) + value
    shown = [{"date": d, "metrics": days[d], "live": d in live} for d in sorted(days)]
    return {"days": shown, "totals": dict(totals)}
