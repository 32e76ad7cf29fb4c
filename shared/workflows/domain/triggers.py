"""Which workflow triggers a change fires: pure rules over a document's before and after.

Lead changes fire ``lead_created``, ``status_changed``, ``tag_added`` and
``score_reached`` triggers; a new inbound form interaction fires ``form_submitted``; a
cron time fires ``schedule``. A trigger's conditions must hold on the lead as well.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.workflows.domain.conditions import TriggerType, WorkflowTrigger
from shared.workflows.domain.runtime import holds

LEAD_TRIGGERS = frozenset(
    {
        TriggerType.LEAD_CREATED,
        TriggerType.STATUS_CHANGED,
        TriggerType.TAG_ADDED,
        TriggerType.SCORE_REACHED,
    }
)


def _tags(data: dict[str, Any] | None) -> set[str]:
    tags = (data or {}).get("tags")
    return {t for t in tags if isinstance(t, str)} if isinstance(tags, list) else set()


def _score(data: dict[str, Any] | None) -> int:
    value = (data or {}).get("score")
    return int(value) if isinstance(value, int | float) else 0


def crossed(before: dict[str, Any] | None, after: dict[str, Any], threshold: int) -> bool:
    """Whether the score went from below ``threshold`` to at least it."""
    return _score(before) < threshold <= _score(after)


def lead_trigger_types(before: dict[str, Any] | None, after: dict[str, Any]) -> set[TriggerType]:
    """The trigger types a lead change could fire, from the change alone (no reads when
    it is none)."""
    kinds: set[TriggerType] = set()
    if before is None:
        kinds.add(TriggerType.LEAD_CREATED)
    elif before.get("status") != after.get("status"):
        kinds.add(TriggerType.STATUS_CHANGED)
    if _tags(after) - _tags(before):
        kinds.add(TriggerType.TAG_ADDED)
    if _score(after) > _score(before):
        kinds.add(TriggerType.SCORE_REACHED)
    return kinds


def lead_fires(
    trigger: WorkflowTrigger, before: dict[str, Any] | None, after: dict[str, Any]
) -> bool:
    """Whether this lead change fires ``trigger`` (its conditions aside)."""
    if trigger.type == TriggerType.LEAD_CREATED:
        return before is None
    if trigger.type == TriggerType.STATUS_CHANGED:
        changed = before is not None and before.get("status") != after.get("status")
        return changed and (trigger.status is None or after.get("status") == trigger.status)
    if trigger.type == TriggerType.TAG_ADDED:
        return trigger.tag in _tags(after) - _tags(before)
    if trigger.type == TriggerType.SCORE_REACHED and trigger.score is not None:
        return crossed(before, after, trigger.score)
    return False


def is_form_submission(interaction: dict[str, Any]) -> bool:
    return (
        interaction.get("type") == "form" and interaction.get("direction", "inbound") == "inbound"
    )


def form_fires(trigger: WorkflowTrigger, interaction: dict[str, Any]) -> bool:
    """A form submission fires ``form_submitted`` triggers for its form (or any form)."""
    if trigger.type != TriggerType.FORM_SUBMITTED or not is_form_submission(interaction):
        return False
    form_id = (interaction.get("metadata") or {}).get("form_id")
    return trigger.form_id is None or trigger.form_id == form_id


def conditions_hold(trigger: WorkflowTrigger, lead: dict[str, Any], now: datetime) -> bool:
    return all(holds(condition, lead, [], now) for condition in trigger.conditions)


def last_fire(trigger: WorkflowTrigger, now: datetime) -> datetime | None:
    """The latest time at or before ``now`` the schedule trigger's cron names, on the
    trigger's wall clock (None for other triggers)."""
    if trigger.type != TriggerType.SCHEDULE or not trigger.cron:
        return None
    # Imported here: croniter (with dateutil) is about 12 ms of a cold start, and only
    # schedule triggers need it.
    from croniter import croniter

    local = now.astimezone(ZoneInfo(trigger.time_zone))
    # croniter's get_prev excludes an exact match, so start a moment later.
    previous = croniter(trigger.cron, local.replace(microsecond=0)).get_prev(datetime)
    if croniter.match(trigger.cron, local.replace(second=0, microsecond=0)):
        previous = local.replace(second=0, microsecond=0)
    fire: datetime = previous.astimezone(UTC)
    return fire


def next_fire(trigger: WorkflowTrigger, after: datetime) -> datetime | None:
    """The first time after ``after`` the schedule trigger's cron names, on the trigger's
    wall clock (None for other triggers, and for a cron that never comes)."""
    if trigger.type != TriggerType.SCHEDULE or not trigger.cron:
        return None
    from croniter import CroniterBadDateError, croniter

    local = after.astimezone(ZoneInfo(trigger.time_zone)).replace(microsecond=0)
    try:
        following: datetime = croniter(trigger.cron, local).get_next(datetime)
    except CroniterBadDateError:
        return None
    return following.astimezone(UTC)
