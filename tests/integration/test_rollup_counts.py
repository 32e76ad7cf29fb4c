"""The daily rollup counts with aggregation queries: through the functions, the local
Firestore and the real client, the counts match the documents however many there are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fakes import FakeTaskQueue
from tests.integration.event_support import memory_queue
from tests.integration.periodic_support import drain, scheduler, seed
from tests.support import docs, seed_company

DAY = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
RUN = datetime(2026, 11, 21, 0, 15, tzinfo=UTC)
JOB = "growthkit-rollup-analytics"


@pytest.fixture
def queue(functions_env: None, monkeypatch: pytest.MonkeyPatch) -> FakeTaskQueue:
    return memory_queue(monkeypatch)


def metrics(db: Any, company: str) -> dict[str, Any]:
    return {k: v["value"] for k, v in docs(db, f"companies/{company}/analytics").items()}


def test_a_day_of_more_than_5000_leads_is_counted_whole(
    db: Any, queue: FakeTaskQueue, function_client: Any
) -> None:
    """5,100 leads in one day (100 from a flyer, 3 converted, one the day after): every
    one is counted, by source and status; nothing is capped at 5,000."""
    seed_company(db)

    def lead(i: int) -> tuple[str, dict[str, Any]]:
        source = "flyer" if i < 100 else "web_form"
        status = "converted" if i < 3 else "new"
        at = DAY + timedelta(seconds=i) if i < 5100 else DAY + timedelta(days=1)
        return f"companies/acme/leads/l{i:05d}", {
            "source": source,
            "status": status,
            "created_at": at,
        }

    seed(db, (lead(i) for i in range(5101)), DAY)
    res = function_client("rollup_analytics").post("/", headers=scheduler(JOB, RUN))
    assert 200 == res.status_code, res.get_json()
    drain(function_client, queue)
    found = metrics(db, "acme")
    assert {
        "2026-11-20-leads-total": 5100,
        "2026-11-20-leads_by_source-web_form": 5000,
        "2026-11-20-leads_by_source-flyer": 100,
        "2026-11-20-leads_by_status-new": 5097,
        "2026-11-20-leads_by_status-converted": 3,
        "2026-11-20-leads_by_status-lost": 0,
    }.items() <= found.items()
