"""Checking a workflow definition on save, with the path of every error.

Pydantic checks each piece; then the steps are checked as a graph: unique ids, targets
that exist, and no cycle that could run without passing a wait (it would send and
re-send as fast as tasks run); webhook URLs by the rules of ``shared.domain.url_safety``,
which the adapter applies again before each call. Errors are reported as
``{"steps[3].branch.else": "..."}`` in ``InvalidInput.details["fields"]``, the shape every
400 of the bundle has.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from shared.domain.url_safety import UnsafeUrl, parse_target
from shared.domain.workflows import (
    END,
    Branch,
    Exit,
    SendEmail,
    SendSms,
    Step,
    Wait,
    Webhook,
    WorkflowDefinition,
)
from shared.domain.workflows_conditions import EngagementCondition, TriggerType
from shared.errors import InvalidInput

_TAG_PREFIXES = ("kind=", "type=")
_UNKNOWN_TAG_FIELD = {"unknown_step_type": "type", "unknown_condition": "kind"}
Edge = tuple[int, int, str]  # (from step index, to step index, path of the reference)


def error_path(loc: Sequence[int | str]) -> str:
    """``("steps", 3, "type=branch", "branch", "else")`` -> ``steps[3].branch.else``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not part.startswith(_TAG_PREFIXES):
            path += f".{part}" if path else part
    return path or "(definition)"


def _pydantic_errors(err: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for e in err.errors():
        loc: list[int | str] = list(e["loc"])
        if e["type"] in _UNKNOWN_TAG_FIELD:
            loc.append(_UNKNOWN_TAG_FIELD[e["type"]])
        message = str(e["msg"]).removeprefix("Value error, ")
        errors.setdefault(error_path(loc), message)
    return errors


def with_default_ids(raw: dict[str, Any]) -> dict[str, Any]:
    """Steps without an id get ``step-{n}`` (1-based), so only branch targets need ids."""
    steps = raw.get("steps")
    if not isinstance(steps, list):
        return raw
    named = [
        {"id": f"step-{i + 1}", **s} if isinstance(s, dict) and "id" not in s else s
        for i, s in enumerate(steps)
    ]
    return {**raw, "steps": named}


def parse_definition(raw: dict[str, Any], *, allow_loopback: bool = False) -> WorkflowDefinition:
    """The validated definition, or ``InvalidInput`` naming every problem by path
    (``allow_loopback``: webhooks may call this machine, ``webhooks_allow_loopback``)."""
    try:
        definition = WorkflowDefinition.model_validate(with_default_ids(raw))
    except ValidationError as err:
        _refuse(_pydantic_errors(err))
    errors = {**trigger_errors(definition), **graph_errors(definition.steps)}
    errors |= webhook_errors(definition.steps, allow_loopback)
    if errors:
        _refuse(errors)
    return definition


def _refuse(errors: dict[str, str]) -> Any:
    first = next(iter(errors.items()))
    summary = f"Invalid workflow: {first[0]}: {first[1]}"
    if len(errors) > 1:
        summary += f" (and {len(errors) - 1} more)"
    raise InvalidInput(summary, {"fields": errors})


# A schedule must come round within this many years of any moment: five covers a
# 29 February, while "0 0 30 2 *" never comes (and would make every run fail on it).
CRON_HORIZON_YEARS = 5
_CRON_FROM = datetime(2024, 3, 1, tzinfo=UTC)  # fixed: the same expression, the same answer


def cron_problem(expression: str) -> str | None:
    """Why a schedule trigger's cron expression cannot be saved, or None."""
    # Imported here: croniter (with dateutil) is about 12 ms of a cold start, and only
    # schedule triggers need it.
    from croniter import CroniterError, croniter

    if not croniter.is_valid(expression):
        return f"not a valid cron expression: {expression!r}"
    try:
        croniter(expression, _CRON_FROM, max_years_between_matches=CRON_HORIZON_YEARS).get_next(
            datetime
        )
    except CroniterError as err:
        return (
            f"{expression!r} never fires: no time in {CRON_HORIZON_YEARS} years matches it ({err})"
        )
    return None


def trigger_errors(definition: WorkflowDefinition) -> dict[str, str]:
    trigger, errors = definition.trigger, {}
    try:
        ZoneInfo(trigger.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["trigger.time_zone"] = f"unknown time zone {trigger.time_zone!r}"
    problem = cron_problem(trigger.cron or "") if trigger.type == TriggerType.SCHEDULE else None
    if problem:
        errors["trigger.cron"] = problem
    return errors


def webhook_errors(steps: Sequence[Step], allow_loopback: bool) -> dict[str, str]:
    """Webhook URLs the platform would refuse to call (by the rules of every call)."""
    errors = {}
    for i, step in enumerate(steps):
        if isinstance(step, Webhook):
            try:
                parse_target(step.url, allow_loopback=allow_loopback)
            except UnsafeUrl as err:
                errors[f"steps[{i}].url"] = str(err)
    return errors


def edges(steps: Sequence[Step]) -> list[Edge]:
    """Where each step can go next (``END`` is not a step, so it has no edge)."""
    index = {step.id: i for i, step in enumerate(steps)}
    found: list[Edge] = []
    for i, step in enumerate(steps):
        if isinstance(step, Exit):
            continue
        if isinstance(step, Branch):
            targets = [(step.branch.then, "branch.then"), (step.branch.else_, "branch.else")]
        elif step.next is not None:
            targets = [(step.next, "next")]
        else:
            following = steps[i + 1].id if i + 1 < len(steps) else END
            targets = [(following, "")]
        found += [
            (i, index[t], f"steps[{i}].{p}" if p else f"steps[{i}]")
            for t, p in targets
            if t in index
        ]
    return found


def graph_errors(steps: Sequence[Step]) -> dict[str, str]:
    errors = _reference_errors(steps)
    if not errors:
        loop = wait_free_loop(steps)
        if loop is not None:
            path, target = loop
            errors[path] = f"loops back to {steps[target].id!r} without a wait in between"
    return errors


def _reference_errors(steps: Sequence[Step]) -> dict[str, str]:
    errors: dict[str, str] = {}
    first: dict[str, int] = {}
    for i, step in enumerate(steps):
        if step.id == END:
            errors[f"steps[{i}].id"] = f"{END!r} is reserved for ending the workflow"
        elif step.id in first:
            errors[f"steps[{i}].id"] = f"duplicate step id (also steps[{first[step.id]}])"
        first.setdefault(step.id, i)
    senders = {s.id for s in steps if isinstance(s, SendEmail | SendSms)}
    for i, step in enumerate(steps):
        for path, target in _references(step):
            if target != END and target not in first:
                errors[f"steps[{i}].{path}"] = f"no step {target!r}"
        if isinstance(step, Exit | Branch) and step.next is not None:
            errors[f"steps[{i}].next"] = f"a {step.type} step does not take next"
        condition = step.branch.condition if isinstance(step, Branch) else None
        if isinstance(condition, EngagementCondition) and condition.step:
            if condition.step not in senders:
                errors[f"steps[{i}].branch.condition.step"] = (
                    f"no send_email or send_sms step {condition.step!r}"
                )
    return errors


def _references(step: Step) -> list[tuple[str, str]]:
    if isinstance(step, Branch):
        return [("branch.then", step.branch.then), ("branch.else", step.branch.else_)]
    return [("next", step.next)] if step.next is not None else []


def wait_free_loop(steps: Sequence[Step]) -> tuple[str, int] | None:
    """A cycle through no wait step: the path of the reference that closes it (the one
    going back up the list) and its target's index; None when there is none."""
    waits = {i for i, step in enumerate(steps) if isinstance(step, Wait)}
    out: dict[int, list[Edge]] = {}
    for edge in edges(steps):
        if edge[0] not in waits and edge[1] not in waits:
            out.setdefault(edge[0], []).append(edge)
    state: dict[int, str] = {}

    def visit(node: int, trail: list[Edge]) -> list[Edge] | None:
        state[node] = "open"
        for edge in out.get(node, []):
            target = edge[1]
            if state.get(target) == "open":  # on the current path: the path closes a cycle
                start = next((k for k, e in enumerate(trail) if e[0] == target), len(trail))
                return [*trail[start:], edge]
            if target not in state and (cycle := visit(target, [*trail, edge])):
                return cycle
        state[node] = "done"
        return None

    for node in range(len(steps)):
        if node not in state and (cycle := visit(node, [])):
            back = next(e for e in cycle if e[1] <= e[0])
            return back[2], back[1]
    return None
