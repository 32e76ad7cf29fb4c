"""Activity markers (shared.domain.activity, shared.services.activity) on in-memory fakes:
which writes make a company active on which day, and the marker each commit carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.domain.activity import Mark, marker_path, marks_of
from shared.ports import SERVER_TIME, Write
from shared.services.activity import ActivityStore
from tests.fakes import FakeClock, FakeStore

NOW = FakeClock().now()  # 2026-11-21 12:00 UTC
TODAY = NOW.date().isoformat()
LEAD = "companies/acme/leads/l1"


def marker(store: FakeStore, company_id: str = "acme", day: str = TODAY) -> dict[str, Any]:
    data, _ = store.docs[marker_path(day, company_id)]
    return data


@pytest.mark.parametrize(
    ("write", "marks"),
    [
        (
            Write(LEAD, {"created_at": NOW, "source": "web_form"}, "create"),
            [Mark("acme", TODAY, "leads.created_at", "web_form")],
        ),
        (Write(LEAD, {"created_at": SERVER_TIME}), [Mark("acme", TODAY, "leads.created_at")]),
        (
            Write(LEAD, {"converted_at": NOW - timedelta(days=2)}, "update"),
            [Mark("acme", "2026-11-19", "leads.converted_at")],
        ),
        (
            Write("companies/acme/reviews/r1", {"completed_at": NOW, "rating": 4}, "merge"),
            [Mark("acme", TODAY, "reviews.completed_at")],
        ),
        (
            Write("companies/acme/analytics_event_counts/2026-11-20-03", {"total": 1}, "merge"),
            [Mark("acme", "2026-11-20", "events")],
        ),
        (Write("companies/acme/analytics_event_counts/odd", {}, "merge"), []),
        (Write(LEAD, {}, "delete"), []),
        (Write(LEAD, {"name": "Jane"}, "merge"), []),
        (Write(f"{LEAD}/interactions/i1", {"created_at": NOW}, "create"), []),
        (Write("companies/acme/analytics/x", {"created_at": NOW}), []),
        (Write("leads/l1", {"created_at": NOW}), []),
    ],
)
def test_what_a_write_makes_active(write: Write, marks: list[Mark]) -> None:
    """Only the rollup's day fields of its collections (and event counts) count; the day
    is the field's own (UTC), a server timestamp's is today."""
    assert marks == marks_of(write, TODAY)


def test_a_commit_carries_the_marker_once_per_instance() -> None:
    """The first lead of the day adds the marker to its own commit; another lead of the
    same source adds nothing; a new source is added to the marker."""
    inner = FakeStore()
    store = ActivityStore(inner, FakeClock().now)
    store.commit([Write(LEAD, {"created_at": NOW, "source": "web_form"}, "create")])
    assert (1, ["leads.created_at"], ["web_form"]) == (
        inner.commits,
        marker(inner)["fields"],
        marker(inner)["sources"],
    )
    _, first = inner.docs[marker_path(TODAY, "acme")]
    store.commit([Write("companies/acme/leads/l2", {"created_at": NOW, "source": "web_form"})])
    assert first == inner.docs[marker_path(TODAY, "acme")][1]
    store.commit([Write("companies/acme/leads/l3", {"created_at": NOW, "source": "referral"})])
    assert (["leads.created_at"], ["web_form", "referral"]) == (
        marker(inner)["fields"],
        marker(inner)["sources"],
    )
    assert datetime(2026, 11, 24, tzinfo=UTC) == marker(inner)["expires_at"]


def test_another_instance_adds_to_the_marker() -> None:
    """Two instances each write what they saw; array unions keep both."""
    inner = FakeStore()
    ActivityStore(inner, FakeClock().now).commit(
        [Write(LEAD, {"created_at": NOW, "source": "web_form"})]
    )
    ActivityStore(inner, FakeClock().now).commit(
        [Write("companies/acme/reviews/r1", {"requested_at": NOW}, "create")]
    )
    assert ["leads.created_at", "reviews.requested_at"] == marker(inner)["fields"]


def test_a_transaction_carries_the_marker_too() -> None:
    """Writes made inside a transaction mark the day in the same commit."""
    inner = FakeStore()
    store = ActivityStore(inner, FakeClock().now)

    def redeem(tx: Any) -> str:
        tx.get("companies/acme/referrals/CODE")
        tx.write(Write("companies/acme/referral_redemptions/m1", {"created_at": NOW}))
        return "done"

    assert "done" == store.run_transaction(redeem)
    assert (1, ["referral_redemptions.created_at"]) == (inner.commits, marker(inner)["fields"])


def test_a_full_commit_gets_its_marker_first() -> None:
    """500 writes leave no room: the marker is committed before them, never lost."""
    inner = FakeStore()
    store = ActivityStore(inner, FakeClock().now)
    writes = [Write(f"companies/acme/leads/l{i}", {"created_at": NOW}) for i in range(500)]
    store.commit(writes)
    assert (2, ["leads.created_at"]) == (inner.commits, marker(inner)["fields"])


def test_a_failed_commit_is_not_remembered() -> None:
    """If the commit fails, so did its marker: the next commit writes it again."""
    inner = FakeStore()
    store = ActivityStore(inner, FakeClock().now)
    inner.docs[LEAD] = ({"name": "old"}, NOW)
    with pytest.raises(Exception, match="exists"):
        store.commit([Write(LEAD, {"created_at": NOW}, "create")])
    assert marker_path(TODAY, "acme") not in inner.docs
    store.commit([Write("companies/acme/leads/l2", {"created_at": NOW}, "create")])
    assert ["leads.created_at"] == marker(inner)["fields"]
