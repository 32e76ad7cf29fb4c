"""Lead scoring rules and the ``on_lead_written`` service, against in-memory fakes."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import Contention
from shared.events import DocumentEvent
from shared.ports import Write
from shared.scoring.domain.fit import ScoringConfig, ScoringRule, score_lead
from shared.scoring.services.on_lead import on_lead_written
from tests.fakes import FakeClock, FakeStore, FakeTaskQueue

LEAD = "companies/acme/leads/l1"
FN = "on_lead_written"


def event(before: dict[str, Any] | None, after: dict[str, Any] | None, id: str = "e1") -> Any:
    return DocumentEvent(
        id=id,
        type="google.cloud.firestore.document.v1.written",
        document=LEAD,
        before=before,
        after=after,
        params={"companyId": "acme", "leadId": "l1"},
    )


def lead(**fields: Any) -> dict[str, Any]:
    return {"email": "a@b.co", "status": "new", "score": 0, "temperature": "cold", **fields}


def seed(store: FakeStore, path: str, data: dict[str, Any]) -> None:
    store.commit([Write(path, data)])


def run(store: FakeStore, queue: FakeTaskQueue, ev: Any) -> str:
    return on_lead_written(store, queue, FakeClock().now(), ev, FN)


def test_default_rules_add_up_to_a_temperature() -> None:
    """Phone, consent and a UTM source score 20 by default: warm."""
    data = lead(phone="555", consent={"given": True}, first_touch={"utm": {"source": "google"}})
    score = score_lead(data, ScoringConfig())
    assert (20, "warm") == (score.points, score.temperature)
    assert ("has_phone", "consent", "utm_source") == score.matched


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"field": "custom_fields.budget", "op": ">=", "value": 5000, "points": 40}, 40),
        ({"field": "source", "op": ">", "value": 5, "points": 40}, 0),
        ({"field": "source", "op": "in", "value": ["referral", "web_form"], "points": 7}, 7),
        ({"field": "tags", "op": "contains", "value": "vip", "points": 9}, 9),
        ({"field": "phone", "op": "missing", "points": -5}, 0),
        ({"field": "nothing.here", "op": ">", "value": 1, "points": 5}, 0),
        ({"field": "score", "op": "<", "value": 10, "points": 30}, 0),
    ],
)
def test_custom_rules(rule: dict[str, Any], expected: int) -> None:
    """Numbers typed into forms compare as numbers, mismatched types never match, scores
    never go below zero, and a rule on the score itself is ignored (it could not settle)."""
    data = lead(custom_fields={"budget": "7500"}, source="web_form", tags=["vip"])
    config = ScoringConfig(rules=[ScoringRule.model_validate(rule)])
    assert expected == score_lead(data, config).points


def test_score_is_written_once_with_history() -> None:
    """A new lead is scored; a duplicate delivery and the score write's own event do nothing."""
    store, queue = FakeStore(), FakeTaskQueue()
    seed(store, LEAD, lead(phone="555"))
    assert "updated" == run(store, queue, event(None, lead(phone="555")))
    stored = store.docs[LEAD][0]
    assert (10, "cold") == (stored["score"], stored["temperature"])
    history = [d for p, (d, _) in store.docs.items() if "/lead_score_history/" in p]
    assert [(10, 0)] == [(h["score"], h["previous_score"]) for h in history]
    commits = store.commits
    assert "duplicate" == run(store, queue, event(None, lead(phone="555")))
    assert "unchanged" == run(store, queue, event(lead(phone="555"), stored, id="e2"))
    assert commits == store.commits


def test_company_rules_are_used() -> None:
    """Rules from ``config/scoring`` replace the defaults, with their own thresholds."""
    store, queue = FakeStore(), FakeTaskQueue()
    rules = {"rules": [{"field": "phone", "op": "exists", "points": 50}], "hot_at": 40}
    seed(store, "companies/acme/config/scoring", rules)
    seed(store, LEAD, lead(phone="555"))
    run(store, queue, event(None, lead(phone="555")))
    assert (50, "hot") == (store.docs[LEAD][0]["score"], store.docs[LEAD][0]["temperature"])


def test_broken_rules_fall_back_to_defaults() -> None:
    """An invalid rules document does not stop scoring."""
    store, queue = FakeStore(), FakeTaskQueue()
    seed(store, "companies/acme/config/scoring", {"rules": [{"op": "??"}]})
    seed(store, LEAD, lead(phone="555"))
    assert "updated" == run(store, queue, event(None, lead(phone="555")))
    assert 10 == store.docs[LEAD][0]["score"]


def test_conversion_schedules_one_review_request() -> None:
    """Becoming converted stamps converted_at and, when the company wants it, schedules
    a review request; a duplicate delivery schedules nothing more."""
    store, queue = FakeStore(), FakeTaskQueue()
    seed(store, "companies/acme", {"settings": {"review_on_conversion": True}})
    seed(store, LEAD, lead(status="converted"))
    ev = event(lead(), lead(status="converted"))
    assert "updated" == run(store, queue, ev)
    assert "duplicate" == run(store, queue, ev)
    tasks = [d for p, (d, _) in store.docs.items() if "/scheduled_tasks/" in p]
    assert [("review_request", {"lead_id": "l1"})] == [(t["type"], t["data"]) for t in tasks]
    assert 1 == len(queue.tasks)
    assert FakeClock().now() == store.docs[LEAD][0]["converted_at"]


def test_conversion_without_the_setting_or_company() -> None:
    """A trigger may run before the company exists: defaults apply, so no review request."""
    store, queue = FakeStore(), FakeTaskQueue()
    seed(store, LEAD, lead(status="converted"))
    run(store, queue, event(lead(), lead(status="converted")))
    assert {} == queue.tasks
    assert "converted_at" in store.docs[LEAD][0]


def test_deleted_and_missing_leads() -> None:
    """A delete needs no work; a lead deleted since its event is skipped."""
    store, queue = FakeStore(), FakeTaskQueue()
    assert "deleted" == run(store, queue, event(lead(), None))
    assert "lead missing" == run(store, queue, event(None, lead()))


def test_contention_is_retried() -> None:
    """When the lead changes between read and write, the attempt is made again."""

    class ContendedOnce(FakeStore):
        def commit(self, writes: Any) -> None:
            if not getattr(self, "raised", False) and any(w.if_update_time for w in writes):
                self.raised = True
                raise Contention("changed")
            super().commit(writes)

    store, queue = ContendedOnce(), FakeTaskQueue()
    seed(store, LEAD, lead(phone="555"))
    assert "updated" == run(store, queue, event(None, lead(phone="555")))
    assert 10 == store.docs[LEAD][0]["score"]
