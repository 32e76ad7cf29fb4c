"""The one-document copy of a company's scoring rules: written by the first scoring run,
rebuilt after every rule write, never overwritten from an older read, and what scoring
reads instead of querying the rules."""

from __future__ import annotations

from typing import Any

from shared.events import DocumentEvent
from shared.ports import Write
from shared.scoring.domain.rules import rules_copy_path
from shared.scoring.services.on_lead import on_lead_written
from shared.scoring.services.rules_copy import on_scoring_rule_written, write_copy
from tests.fakes import FakeClock, FakeStore, FakeTaskQueue, RecordingStore

LEAD = "companies/acme/leads/l1"
RULES = "companies/acme/scoring_rules"
COPY = rules_copy_path("acme")
NOW = FakeClock().now()
CEO = {
    "name": "CEO",
    "category": "demographic",
    "criteria": [{"field": "custom_fields.title", "op": "==", "value": "CEO"}],
    "points": 20,
}


def scored(store: Any, event_id: str) -> int:
    """Score the lead for a new event; its fit score."""
    lead = store.get_all([LEAD])[0].data
    params = {"companyId": "acme", "leadId": "l1"}
    event = DocumentEvent(event_id, "written", LEAD, {}, lead, params=params)
    on_lead_written(store, FakeTaskQueue(), NOW, event, "fn")
    fit: int = store.get_all([LEAD])[0].data["fit_score"]
    return fit


def rule_written(store: Any) -> str:
    event = DocumentEvent("r", "written", f"{RULES}/ceo", None, {}, params={"companyId": "acme"})
    return on_scoring_rule_written(store, NOW, event, "fn")


def lead_store() -> RecordingStore:
    store = FakeStore()
    store.commit([Write(f"{RULES}/ceo", CEO)])
    store.commit([Write(LEAD, {"email": "jane@example.com", "custom_fields": {"title": "CEO"}})])
    return RecordingStore(store)


def test_first_scoring_run_writes_the_copy_and_later_runs_read_it_without_a_query() -> None:
    """Without a copy the rules are queried and copied; then scoring queries nothing."""
    store = lead_store()
    assert 20 == scored(store, "e1")
    assert [{**CEO, "id": "ceo"}] == store.get_all([COPY])[0].data["rules"]
    assert 1 == len(store.queries)
    assert 20 == scored(store, "e2")
    assert 1 == len(store.queries)


def test_rule_writes_rebuild_the_copy_and_scoring_follows_it() -> None:
    """A deactivated rule reaches the copy (once: a repeat changes nothing), and the
    next scoring run withdraws its points; a deleted rule empties the copy."""
    store = lead_store()
    assert 20 == scored(store, "e1")
    store.commit([Write(f"{RULES}/ceo", {**CEO, "active": False})])
    assert ("updated", "unchanged") == (rule_written(store), rule_written(store))
    assert 0 == scored(store, "e2")
    store.commit([Write(f"{RULES}/ceo", {}, "delete")])
    assert "updated" == rule_written(store)
    assert [] == store.get_all([COPY])[0].data["rules"]


def test_a_copy_built_from_an_older_read_never_overwrites_a_newer_one() -> None:
    """Two rebuilds read the same copy; the second to write loses and must read again."""
    store = lead_store()
    assert "updated" == rule_written(store)
    (copy,) = store.get_all([COPY])
    assert write_copy(store, "acme", copy, [], NOW)
    assert not write_copy(store, "acme", copy, [{**CEO, "id": "ceo"}], NOW)
    assert [] == store.get_all([COPY])[0].data["rules"]
    (missing,) = store.get_all(["companies/other/config/scoring_rules"])
    assert write_copy(store, "other", missing, [], NOW)
    assert not write_copy(store, "other", missing, [], NOW)
