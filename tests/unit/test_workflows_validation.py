"""Workflow definitions checked on save: every error reported with its path."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import InvalidInput
from shared.workflows.domain.definition import Branch, SendEmail, Wait
from shared.workflows.domain.validation import error_path, parse_definition

EMAIL = {"type": "send_email", "subject": "Hi {first_name}", "body": "Welcome to {company}"}
WAIT = {"type": "wait", "duration": {"days": 2}}


def definition(*steps: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"name": "Nurture", "trigger": {"type": "lead_created"}, "steps": list(steps), **fields}


def errors(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        parse_definition(raw)
    fields: dict[str, str] = caught.value.details["fields"]
    return fields


def branch(then: str, else_: str, **condition: Any) -> dict[str, Any]:
    cond = condition or {"kind": "engagement", "event": "opened", "within_hours": 48}
    return {"type": "branch", "branch": {"condition": cond, "then": then, "else": else_}}


def test_a_valid_nurture_sequence_parses_with_default_ids() -> None:
    """Steps without ids get step-1, step-2...; a branch may name them or 'end'."""
    parsed = parse_definition(definition(EMAIL, WAIT, branch("step-1", "end")))
    assert ["step-1", "step-2", "step-3"] == [s.id for s in parsed.steps]
    assert (SendEmail, Wait, Branch) == tuple(type(s) for s in parsed.steps)


@pytest.mark.parametrize(
    ("steps", "path", "message"),
    [
        ([EMAIL, {"type": "fax"}], "steps[1].type", "unknown step type"),
        ([EMAIL, WAIT, branch("step-1", "nowhere")], "steps[2].branch.else", "no step 'nowhere'"),
        ([EMAIL, {"type": "wait"}], "steps[1]", "exactly one of duration, until or weekday"),
        ([{**EMAIL, "subject": ""}], "steps[0].subject", "at least 1 character"),
        ([{**EMAIL, "colour": "red"}], "steps[0].colour", "Extra inputs"),
        ([EMAIL, {**EMAIL, "next": "x"}], "steps[1].next", "no step 'x'"),
        ([{**EMAIL, "id": "a"}, {**EMAIL, "id": "a"}], "steps[1].id", "duplicate step id"),
        ([branch("end", "end", kind="vibes")], "steps[0].branch.condition.kind", "unknown"),
        ([{"type": "webhook", "url": "ftp://x"}], "steps[0].url", "should match pattern"),
        ([{"type": "assign"}], "steps[0]", "exactly one of user_id or team_id"),
    ],
)
def test_errors_are_reported_with_their_path(
    steps: list[dict[str, Any]], path: str, message: str
) -> None:
    """Unknown types, bad targets, missing and extra fields: 400 at the exact path."""
    found = errors(definition(*steps))
    assert path in found, found
    assert message in found[path]


def test_a_loop_without_a_wait_is_refused_at_the_reference_closing_it() -> None:
    """email -> tag -> branch back to the email could send without end: the back
    reference is the error; the same loop through a wait is fine."""
    tag = {"type": "add_tag", "tag": "nurtured"}
    loop = definition({**EMAIL, "id": "mail"}, tag, branch("mail", "end", field="status"))
    assert {"steps[2].branch.then": "loops back to 'mail' without a wait in between"} == errors(
        loop
    )
    waited = definition({**EMAIL, "id": "mail"}, WAIT, branch("mail", "end", field="status"))
    assert "mail" == parse_definition(waited).steps[0].id


def test_a_self_loop_through_next_is_refused() -> None:
    """A step naming itself as next is the shortest loop."""
    found = errors(definition({"type": "add_tag", "tag": "x", "id": "t", "next": "t"}))
    assert {"steps[0].next": "loops back to 't' without a wait in between"} == found


def test_trigger_and_goal_errors() -> None:
    """Trigger parameters by type, cron, time zone, and goals needing their condition."""
    assert "trigger" in errors({**definition(EMAIL), "trigger": {"type": "tag_added"}})
    bad_cron = {"type": "schedule", "cron": "every tuesday", "time_zone": "Mars/Olympus"}
    found = errors({**definition(EMAIL), "trigger": bad_cron})
    assert {"trigger.cron", "trigger.time_zone"} == set(found)
    assert "goals[0]" in errors(definition(EMAIL, goals=[{"kind": "condition"}]))


def test_engagement_branches_name_a_sending_step() -> None:
    """A branch on opens of a step's message must name a send step."""
    cond = {"kind": "engagement", "event": "clicked", "within_hours": 24, "step": "step-2"}
    found = errors(definition(EMAIL, WAIT, branch("end", "end", **cond)))
    assert {"steps[2].branch.condition.step"} == set(found)


def test_the_message_names_the_first_error_and_counts_the_rest() -> None:
    """The 400's message is readable on its own."""
    with pytest.raises(InvalidInput) as caught:
        parse_definition(definition({"type": "fax"}, {"type": "wait"}))
    assert caught.value.message.startswith("Invalid workflow: steps[0].type: unknown step type")
    assert caught.value.message.endswith("(and 1 more)")


def test_error_paths_drop_union_tags() -> None:
    """Pydantic's tagged-union location segments are not part of the document's path."""
    assert "steps[3].branch.else" == error_path(("steps", 3, "type=branch", "branch", "else"))
    assert "(definition)" == error_path(())
