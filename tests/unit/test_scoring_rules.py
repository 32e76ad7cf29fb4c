"""Company scoring rules on the fakes: fit and engagement scores, first-time-only and
repeatable rules, history per rule, decay, and the assignee told at a threshold."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shared.domain.tasks import ScheduledTask
from shared.events import DocumentEvent
from shared.ports import Write
from shared.scoring.domain.rules import LeadScoringRule
from shared.scoring.domain.sheet import ScoreSheet, decayed
from shared.scoring.services.engagement import (
    on_interaction_scored,
    score_notify_task,
)
from shared.scoring.services.on_lead import on_lead_written
from shared.scoring.services.rules_copy import on_scoring_rule_written
from shared.services.task_handlers import TaskContext
from shared.workflows.services.triggers import on_lead_workflows
from tests.fakes import FakeClock, FakeMessenger, FakeStore, FakeTaskQueue
from tests.periodic_runs import run_periodic

LEAD = "companies/acme/leads/l1"
RULES = "companies/acme/scoring_rules"
NOW = FakeClock().now()
CEO = {"field": "custom_fields.title", "op": "==", "value": "CEO"}
OPENED = {"field": "interaction.status", "op": "==", "value": "opened"}


def rule(
    rule_id: str, category: str, points: int, *criteria: dict[str, Any], **extra: Any
) -> tuple[str, dict[str, Any]]:
    data = {"name": rule_id, "category": category, "criteria": list(criteria), "points": points}
    return f"{RULES}/{rule_id}", {**data, **extra}


def store_with(*rules: tuple[str, dict[str, Any]], **lead: Any) -> FakeStore:
    store = FakeStore()
    store.commit([Write(path, data) for path, data in rules])
    store.commit([Write(LEAD, {"email": "jane@example.com", **lead})])
    return store


def lead_event(
    before: dict[str, Any] | None, after: dict[str, Any], event_id: str = "e1"
) -> DocumentEvent:
    params = {"companyId": "acme", "leadId": "l1"}
    return DocumentEvent(event_id, "written", LEAD, before, after, params=params)


def interaction_event(
    after: dict[str, Any], before: dict[str, Any] | None = None, event_id: str = "i1"
) -> DocumentEvent:
    params = {"companyId": "acme", "leadId": "l1", "interactionId": "x"}
    return DocumentEvent(
        event_id, "written", f"{LEAD}/interactions/x", before, after, params=params
    )


def history(store: FakeStore) -> list[tuple[str, int, str]]:
    entries = [d for p, (d, _) in store.docs.items() if "/lead_score_history/" in p]
    return sorted((h["rule_id"], h["points"], h["reason"]) for h in entries)


def lead(store: FakeStore) -> dict[str, Any]:
    return store.docs[LEAD][0]


def rescore(store: FakeStore, event_id: str) -> str:
    return on_lead_written(store, FakeTaskQueue(), NOW, lead_event({}, lead(store), event_id), "fn")


def rule_written(store: FakeStore) -> str:
    """What ``on_scoring_rule_written`` does after a rule write: refresh the rules' copy."""
    event = DocumentEvent("r1", "written", f"{RULES}/ceo", None, {}, params={"companyId": "acme"})
    return on_scoring_rule_written(store, NOW, event, "fn")


def test_rules_are_validated() -> None:
    """Fit rules score lead fields only; zero points mean nothing."""
    with pytest.raises(ValidationError, match="demographic rules score lead fields"):
        LeadScoringRule.model_validate(rule("r", "demographic", 5, OPENED)[1])
    with pytest.raises(ValidationError, match="points must not be 0"):
        LeadScoringRule.model_validate(rule("r", "behavioural", 0, OPENED)[1])


def test_fit_and_engagement_state_rules_make_separate_scores() -> None:
    """A demographic rule counts toward fit, a behavioural field rule toward engagement;
    the score is their sum; each rule's change is one history record."""
    store = store_with(
        rule("ceo", "demographic", 20, CEO),
        rule("returning", "behavioural", 10, {"field": "submission_count", "op": ">=", "value": 2}),
        custom_fields={"title": "CEO"},
        submission_count=3,
    )
    assert "updated" == rescore(store, "e1")
    assert (20, 10, 30) == (
        lead(store)["fit_score"],
        lead(store)["engagement_score"],
        lead(store)["score"],
    )
    assert [("ceo", 20, "matched"), ("returning", 10, "matched")] == history(store)


def test_repeatable_state_rules_follow_the_data_and_first_time_only_ones_stay() -> None:
    """When the lead stops matching, a repeatable rule's points are withdrawn; a
    first-time-only rule keeps them and never awards again."""
    store = store_with(
        rule("ceo", "demographic", 20, CEO),
        rule("ever-ceo", "firmographic", 5, CEO, repeatable=False),
        custom_fields={"title": "CEO"},
    )
    rescore(store, "e1")
    store.commit([Write(LEAD, {"custom_fields": {"title": "Intern"}}, "merge")])
    rescore(store, "e2")
    assert (5, 5) == (lead(store)["fit_score"], lead(store)["score"])
    store.commit([Write(LEAD, {"custom_fields": {"title": "CEO"}}, "merge")])
    rescore(store, "e3")
    assert 25 == lead(store)["fit_score"]
    assert [
        ("ceo", -20, "no longer matches"),
        ("ceo", 20, "matched"),
        ("ceo", 20, "matched"),
        ("ever-ceo", 5, "matched"),
    ] == history(store)


class CountingStore(FakeStore):
    """A FakeStore that counts what Firestore bills as reads: each document asked for,
    and each query's results (at least one)."""

    reads = 0

    def get_all(self, paths: Any) -> Any:
        self.reads += len(paths)
        return super().get_all(paths)

    def query(self, *args: Any, **kwargs: Any) -> Any:
        found = super().query(*args, **kwargs)
        self.reads += max(1, len(found))
        return found


def test_an_interaction_no_rule_can_score_costs_two_reads() -> None:
    """A company whose rules score no interaction (a campaign's 1,000 messages each make
    one): the trigger reads the scoring config and the rules' copy, never the lead, its
    duplicate marker or the rules collection."""
    store = CountingStore()
    path, data = rule("ceo", "demographic", 20, CEO)
    store.commit([Write(path, data), Write(LEAD, {"email": "jane@example.com"})])
    rule_written(store)  # the copy, as on_scoring_rule_written keeps it
    store.reads = 0
    event = interaction_event({"type": "email", "status": "sent"})
    assert ("no rule matched", 2) == (on_interaction_scored(store, NOW, event, "fn"), store.reads)


def test_deactivated_rules_withdraw_their_points() -> None:
    """Turning a rule off takes its points back, recorded as such."""
    path, data = rule("ceo", "demographic", 20, CEO)
    store = store_with((path, data), custom_fields={"title": "CEO"})
    rescore(store, "e1")
    store.commit([Write(path, {**data, "active": False})])
    assert "updated" == rule_written(store)
    store.commit([Write(LEAD, {"custom_fields": {"title": "CEO", "x": "1"}}, "merge")])
    rescore(store, "e2")
    assert (0, ("ceo", -20, "rule removed")) == (lead(store)["score"], history(store)[0])


def test_interactions_award_engagement_points_once_per_event() -> None:
    """Each opened e-mail awards a repeatable rule; a first-time-only rule awards once;
    a duplicate delivery and an unrelated edit award nothing."""
    store = store_with(
        rule("open", "engagement", 5, OPENED),
        rule("first-open", "engagement", 10, OPENED, repeatable=False),
    )
    opened = {"type": "email", "status": "opened"}
    assert "scored 2" == on_interaction_scored(store, NOW, interaction_event(opened), "fn")
    assert "duplicate" == on_interaction_scored(store, NOW, interaction_event(opened), "fn")
    edit = interaction_event({**opened, "subject": "x"}, opened, "i2")
    assert "no new engagement" == on_interaction_scored(store, NOW, edit, "fn")
    became = interaction_event(opened, {"type": "email", "status": "delivered"}, "i3")
    assert "scored 1" == on_interaction_scored(store, NOW, became, "fn")
    assert (20, 20, NOW) == (
        lead(store)["engagement_points"],
        lead(store)["score"],
        lead(store)["engagement_decay_from"],
    )


def test_a_fit_rescore_keeps_engagement_points() -> None:
    """Rescoring fit (a lead edit) leaves accumulated engagement points alone."""
    store = store_with(
        rule("ceo", "demographic", 20, CEO), custom_fields={"title": "CEO"}, engagement_points=12
    )
    rescore(store, "e1")
    assert (20, 12, 32) == (
        lead(store)["fit_score"],
        lead(store)["engagement_score"],
        lead(store)["score"],
    )


def decay_store(points: int, since_days: float, percent: float = 50) -> FakeStore:
    store = store_with(
        engagement_points=points,
        engagement_decay_from=NOW - timedelta(days=since_days),
        score=points,
    )
    settings = {"engagement_decay_percent": percent, "engagement_decay_days": 7}
    store.commit([Write("companies/acme", {"name": "Acme", "settings": settings})])
    return store


def decayed_leads(answers: list[dict[str, Any]]) -> int:
    """How many leads a periodic decay run decayed (its companies' task results)."""
    return sum(
        (a.get("result") or {}).get("result") or 0
        for a in answers
        if isinstance((a.get("result") or {}).get("result"), int)
    )


def test_engagement_points_decay_per_full_period_and_a_rerun_changes_nothing() -> None:
    """Two full weeks without engagement at 50% a week: 40 -> 10, one history record;
    the next day's run finds the lead's decay clock moved on."""
    store = decay_store(40, 15)
    answers = run_periodic(store, FakeTaskQueue(), "decay_engagement_scores", NOW)
    assert (1, 1) == (answers[0]["scheduled"], decayed_leads(answers))
    assert (10, 10) == (lead(store)["engagement_points"], lead(store)["score"])
    assert NOW - timedelta(days=1) == lead(store)["engagement_decay_from"]
    assert [("decay", -30, "decay x2")] == history(store)
    later = run_periodic(store, FakeTaskQueue(), "decay_engagement_scores", NOW + timedelta(days=1))
    assert 0 == decayed_leads(later)


def test_recent_engagement_and_companies_without_decay_are_left_alone() -> None:
    """Inside the period nothing decays; a company at 0% gets no task at all."""
    recent = run_periodic(decay_store(40, 3), FakeTaskQueue(), "decay_engagement_scores", NOW)
    assert (1, 0) == (recent[0]["scheduled"], decayed_leads(recent))
    off = decay_store(40, 30, percent=0)
    assert 0 == run_periodic(off, FakeTaskQueue(), "decay_engagement_scores", NOW)[0]["scheduled"]


def test_decay_rounds_toward_zero() -> None:
    """Points run out instead of lingering at 1."""
    assert (0, 44, -4) == (decayed(1, 10, 1), decayed(100, 33, 2), decayed(-9, 50, 1))
    assert 7 == ScoreSheet(engagement_points=7).total


def test_crossing_the_threshold_notifies_the_assignee_once() -> None:
    """The score crossing the company's threshold schedules one notification per
    crossing; it goes to the assignee's e-mail from their profile."""
    store, queue = FakeStore(), FakeTaskQueue()
    store.commit(
        [
            Write("companies/acme", {"name": "Acme", "settings": {"score_notify_at": 50}}),
            Write("companies/acme/users/u7", {"email": "sam@acme.example"}),
            Write(
                LEAD,
                {"email": "jane@example.com", "name": "Jane", "score": 55, "assigned_to": "u7"},
            ),
        ]
    )
    crossing = lead_event({"score": 40}, lead(store))
    for _ in range(2):
        assert "enrolled 0, goal 0, notified 1" == on_lead_workflows(
            store, queue, NOW, crossing, "fn"
        )
    assert "no trigger" == on_lead_workflows(
        store, queue, NOW, lead_event(lead(store), lead(store), "e2"), "fn"
    )
    (task_data,) = [d for p, (d, _) in store.docs.items() if "/scheduled_tasks/" in p]
    messenger = FakeMessenger()
    result = score_notify_task(
        TaskContext(store, queue, messenger, NOW), ScheduledTask.model_validate(task_data)
    )
    (message,) = messenger.sent.values()
    assert ("sam@acme.example", "Lead ready: Jane", "u7") == (
        message.to,
        message.subject,
        result["sent_to"],
    )
