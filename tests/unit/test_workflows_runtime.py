"""Pure workflow rules: waits on the lead's clock, conditions, goals, triggers, templates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.workflows.domain.conditions import (
    EngagementCondition,
    FieldCondition,
    Goal,
    ScoreCondition,
    WorkflowTrigger,
)
from shared.workflows.domain.definition import Wait
from shared.workflows.domain.runtime import (
    engaged,
    enrolment_id,
    holds,
    reached_goal,
    render,
    time_zone,
    wait_until,
)
from shared.workflows.domain.triggers import last_fire, lead_fires, lead_trigger_types

NOW = datetime(2026, 3, 27, 15, 30, tzinfo=UTC)  # a Friday; Europe moves clocks on Sunday


def wait(**fields: Any) -> Wait:
    return Wait.model_validate({"id": "w", **fields})


def test_waits_for_a_duration_or_until_a_moment() -> None:
    """A duration adds up; a moment in the past means now."""
    assert NOW + timedelta(days=2, hours=3) == wait_until(
        wait(duration={"days": 2, "hours": 3}), NOW, ZoneInfo("UTC")
    )
    assert NOW == wait_until(wait(until="2020-01-01T00:00:00Z"), NOW, ZoneInfo("UTC"))


@pytest.mark.parametrize(
    ("weekday", "at", "zone", "expected"),
    [
        # Monday 09:00 in Paris is after the switch to summer time: 07:00 UTC.
        ("monday", "09:00", "Europe/Paris", datetime(2026, 3, 30, 7, 0, tzinfo=UTC)),
        # Friday 09:00 in New York has passed (it is 11:30 there): a week later.
        ("friday", "09:00", "America/New_York", datetime(2026, 4, 3, 13, 0, tzinfo=UTC)),
        # Friday 18:00 in Tokyo is long past (00:30 Saturday there): next Friday.
        ("friday", "18:00", "Asia/Tokyo", datetime(2026, 4, 3, 9, 0, tzinfo=UTC)),
        ("friday", "17:00", "UTC", datetime(2026, 3, 27, 17, 0, tzinfo=UTC)),
    ],
)
def test_waits_until_a_weekday_and_time_on_the_leads_clock(
    weekday: str, at: str, zone: str, expected: datetime
) -> None:
    """The next such weekday and time in the lead's zone, daylight saving included."""
    assert expected == wait_until(wait(weekday=weekday, at=at), NOW, ZoneInfo(zone))


def test_the_leads_time_zone_falls_back_to_the_companys() -> None:
    """The lead's own zone, then a custom field, then the default; unknown names skipped."""
    assert ZoneInfo("Asia/Tokyo") == time_zone({"time_zone": "Asia/Tokyo"})
    assert ZoneInfo("Europe/Oslo") == time_zone({"custom_fields": {"time_zone": "Europe/Oslo"}})
    assert ZoneInfo("Europe/Paris") == time_zone({"time_zone": "Nowhere/Land"}, "Europe/Paris")


def interaction(
    status: str, hours_ago: float, sent_hours_ago: float = 0, **meta: str
) -> dict[str, Any]:
    sent = NOW - timedelta(hours=sent_hours_ago or hours_ago)
    return {
        "status": status,
        "updated_at": NOW - timedelta(hours=hours_ago),
        "created_at": sent,
        "metadata": meta,
    }


def test_engagement_within_the_last_period() -> None:
    """Opened counts clicks and replies; older than the period does not count; 'did
    not' is the opposite."""
    opened = EngagementCondition(event="opened", within_hours=48)
    clicked_old = [interaction("clicked", 72)]
    assert (False, True) == (
        engaged(opened, clicked_old, NOW),
        engaged(opened, [interaction("clicked", 1)], NOW),
    )
    not_opened = EngagementCondition(event="opened", within_hours=48, did=False)
    assert engaged(not_opened, clicked_old, NOW)


def test_engagement_with_one_steps_message_within_the_period_after_sending() -> None:
    """A step's message counts when engaged with within the period of its sending (even
    if that was long ago), and only this enrolment's."""
    by_step = EngagementCondition(event="replied", within_hours=48, step="mail")
    prompt = interaction("replied", 60, sent_hours_ago=90, execution_id="e1", step_id="mail")
    late = interaction("replied", 1, sent_hours_ago=90, execution_id="e1", step_id="mail")
    other = interaction("replied", 1, execution_id="e2", step_id="mail")
    assert [True, False, False] == [engaged(by_step, [i], NOW, "e1") for i in (prompt, late, other)]


def test_field_and_score_conditions() -> None:
    """Lead fields compare like scoring rules (form strings as numbers); score by part."""
    lead = {"custom_fields": {"budget": "7500"}, "fit_score": 40, "score": 55}
    budget = FieldCondition(field="custom_fields.budget", op=">=", value=5000)
    assert holds(budget, lead, [], NOW)
    assert not holds(ScoreCondition(of="fit_score", op=">=", value=50), lead, [], NOW)


def test_goals_reached_since_enrolment() -> None:
    """Converted, a reply after enrolment (not before), or a condition."""
    since = NOW - timedelta(hours=10)
    replied = [Goal(kind="replied")]
    assert None is reached_goal(replied, {}, [interaction("replied", 20)], since)
    assert "replied" == reached_goal(replied, {}, [interaction("replied", 1)], since)
    assert "converted" == reached_goal([Goal(kind="converted")], {"status": "converted"}, [], since)


def test_templates_fill_lead_fields_and_tolerate_gaps() -> None:
    """First name, company, dotted fields; a missing name reads 'there'."""
    lead = {"name": "Jane Doe", "custom_fields": {"city": "Lyon"}}
    text = "Hi {first_name} from {custom_fields.city}, {company} here. {missing}"
    assert "Hi Jane from Lyon, Acme here. " == render(text, lead, "Acme")
    assert "Hi there" == render("Hi {first_name}", {}, "Acme")


def test_enrolment_ids_are_derived() -> None:
    """The same workflow and lead give the same id; a second run another."""
    assert enrolment_id("w", "l") == enrolment_id("w", "l", 1) != enrolment_id("w", "l", 2)


def trigger(**fields: Any) -> WorkflowTrigger:
    return WorkflowTrigger.model_validate(fields)


def test_lead_triggers_fire_on_their_change_only() -> None:
    """Created, status to a value, a tag added, a score crossing; nothing else."""
    before = {"status": "new", "tags": ["a"], "score": 10}
    after = {"status": "qualified", "tags": ["a", "vip"], "score": 50}
    assert {"status_changed", "tag_added", "score_reached"} == {
        t.value for t in lead_trigger_types(before, after)
    }
    assert lead_fires(trigger(type="status_changed", status="qualified"), before, after)
    assert not lead_fires(trigger(type="status_changed", status="lost"), before, after)
    assert lead_fires(trigger(type="tag_added", tag="vip"), before, after)
    assert not lead_fires(trigger(type="tag_added", tag="a"), before, after)
    assert lead_fires(trigger(type="score_reached", score=50), before, after)
    assert not lead_fires(trigger(type="score_reached", score=50), after, after)
    assert lead_fires(trigger(type="lead_created"), None, after)
    assert set() == lead_trigger_types(after, after)


def test_schedule_triggers_fire_at_their_cron_time_on_their_clock() -> None:
    """09:00 on weekdays in Paris: the last fire before Friday 15:30 UTC is that
    morning at 08:00 UTC (winter time); an exact match is that very minute."""
    paris = trigger(type="schedule", cron="0 9 * * 1-5", time_zone="Europe/Paris")
    assert datetime(2026, 3, 27, 8, 0, tzinfo=UTC) == last_fire(paris, NOW)
    exact = datetime(2026, 3, 27, 8, 0, 20, tzinfo=UTC)
    assert datetime(2026, 3, 27, 8, 0, tzinfo=UTC) == last_fire(paris, exact)
    assert None is last_fire(trigger(type="manual"), NOW)
