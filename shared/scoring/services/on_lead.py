"""The ``on_lead_written`` use case: keep each lead's fit score current, act on conversions.

One batched read (company, scoring config, the copy of the company's ``scoring_rules``
kept by ``scoring_rules_copy``, the lead as it is now, the event's marker) and at most one
commit; only a company without a copy yet costs a query (and the copy's first write). The
score is computed from the lead as stored now, not from the event, so out-of-order
deliveries cannot write a stale score; the write is guarded by the lead's update time. A
change that touched only the score's own fields (this function's write, interaction
scoring, decay) is recognised from the event alone: rules never see those fields, so there
is nothing to recompute and the trigger settles instead of looping.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from shared.domain.company import CompanySettings, company_path
from shared.domain.leads import LeadStatus, lead_path
from shared.events import DocumentEvent
from shared.ports import DocumentStore, Snapshot, TaskQueue, Write
from shared.scoring.domain.fit import DERIVED_FIELDS, ScoringConfig, scoring_config_path
from shared.scoring.domain.rules import LeadScoringRule, rules_copy_path, state_deltas
from shared.scoring.domain.sheet import (
    Delta,
    ScoreSheet,
    history_entries,
    history_path,
    sheet_fields,
)
from shared.scoring.services.rules_copy import (
    copied_rules,
    parse_rules,
    query_rules,
    write_copy,
)
from shared.services.once import became, commit_once, marker_path, marker_write, retrying
from shared.services.scheduling import schedule_task

log = logging.getLogger("growthkit.scoring")

# Bookkeeping that changes with every write and means nothing to rules.
_IGNORED = DERIVED_FIELDS | {"updated_at"}
_SHOWN = ("score", "temperature", "fit_score", "engagement_score")


def on_lead_written(
    store: DocumentStore, queue: TaskQueue, now: datetime, event: DocumentEvent, function: str
) -> str:
    """Score the lead; on conversion stamp ``converted_at`` and, if the company wants it,
    schedule a review request; a new lead's e-mail to staff, if the company wants it.

    Args:
        store: The document store.
        queue: For the review-request task.
        now: The time of this run.
        event: The lead's change.
        function: The trigger's name (part of the duplicate marker).

    Returns:
        What happened: updated, unchanged, duplicate, deleted or lead missing.
    """
    if event.deleted:
        return "deleted"
    converted = became(event, "status", LeadStatus.CONVERTED.value)
    if not converted and only_derived_changed(event):
        return "unchanged"
    return retrying(lambda: _attempt(store, queue, now, event, function, converted))


def only_derived_changed(event: DocumentEvent) -> bool:
    """Whether an update changed nothing a rule can see (so the score cannot change)."""
    if event.before is None or event.after is None:
        return False
    keys = set(event.before) | set(event.after)
    return all(event.before.get(k) == event.after.get(k) for k in keys - _IGNORED)


def _attempt(
    store: DocumentStore,
    queue: TaskQueue,
    now: datetime,
    event: DocumentEvent,
    function: str,
    converted: bool,
) -> str:
    """One optimistic try: a batched read, the rules, the idempotent scheduling, a commit."""
    company_id, lead_id = event.params["companyId"], event.params["leadId"]
    marker = marker_path(company_id, function, event.id)
    company, config_snap, copy, lead, seen = store.get_all(
        [
            company_path(company_id),
            scoring_config_path(company_id),
            rules_copy_path(company_id),
            lead_path(company_id, lead_id),
            marker,
        ]
    )
    if seen.exists:
        return "duplicate"
    if lead.data is None:
        return "lead missing"
    config = scoring_config(config_snap)
    changes = state_deltas(rules_for(store, company_id, config, copy, now), lead.data)
    update = _changes(lead.data, changes, config, converted, now)
    settings = company_settings(company)
    review = converted and settings.review_on_conversion
    if review:
        # Before the commit: scheduling is idempotent by key, so a retry repeats it harmlessly.
        _schedule_review(store, queue, now, company_id, lead_id)
    alert = event.created and settings.notify_new_leads
    if alert:
        _schedule_alert(store, queue, now, company_id, lead_id)
    if not update and not review and not alert:
        return "unchanged"
    writes = [marker_write(marker, function, event, now)]
    if update:
        writes.append(Write(lead.path, update, "update", lead.update_time))
    writes += history_writes(company_id, lead_id, lead.data, changes, config, event.id, now)
    return "updated" if commit_once(store, writes, marker) else "duplicate"


def _changes(
    lead: dict[str, Any],
    changes: list[tuple[Delta, ScoreSheet]],
    config: ScoringConfig,
    converted: bool,
    now: datetime,
) -> dict[str, Any]:
    """The lead fields to write: the sheet if anything shown changed, ``converted_at`` once."""
    sheet = changes[-1][1] if changes else ScoreSheet.of(lead)
    fields = sheet_fields(sheet, config, now)
    update: dict[str, Any] = {}
    if changes or any(lead.get(k) != fields[k] for k in _SHOWN):
        update.update(fields)
    if converted and lead.get("status") == LeadStatus.CONVERTED and not lead.get("converted_at"):
        update["converted_at"] = now
    return update


def history_writes(
    company_id: str,
    lead_id: str,
    lead: dict[str, Any],
    changes: list[tuple[Delta, ScoreSheet]],
    config: ScoringConfig,
    cause: str,
    now: datetime,
) -> list[Write]:
    """One ``lead_score_history`` create per rule change (replays fail the commit as
    duplicates instead of adding records)."""
    entries = history_entries(lead_id, lead, changes, config, cause, now)
    return [Write(history_path(company_id, doc_id), data, "create") for doc_id, data in entries]


def rules_for(
    store: DocumentStore, company_id: str, config: ScoringConfig, copy: Snapshot, now: datetime
) -> list[LeadScoringRule]:
    """The rules from their copy; without one yet, from the query, which becomes the first
    copy (only if still missing: a rule's own trigger may have written a newer one)."""
    raw = copied_rules(copy)
    if raw is None:
        raw = query_rules(store, company_id)
        write_copy(store, company_id, copy, raw, now)
    return parse_rules(raw, config)


def _schedule_review(
    store: DocumentStore, queue: TaskQueue, now: datetime, company_id: str, lead_id: str
) -> None:
    """A review request for a converted lead: once per lead, however often it converts."""
    schedule_task(
        store,
        queue,
        now,
        company_id=company_id,
        task_type="review_request",
        data={"lead_id": lead_id},
        run_at=now,
        key=f"review_request:{lead_id}:conversion",
    )


def _schedule_alert(
    store: DocumentStore, queue: TaskQueue, now: datetime, company_id: str, lead_id: str
) -> None:
    """The new-lead e-mail to staff: once per lead (the key), sent by run_task."""
    schedule_task(
        store,
        queue,
        now,
        company_id=company_id,
        task_type="new_lead_alert",
        data={"lead_id": lead_id},
        run_at=now,
        key=f"new_lead_alert:{lead_id}",
    )


def scoring_config(snap: Snapshot) -> ScoringConfig:
    """Thresholds and single-document rules; broken ones fall back to the defaults rather
    than stop scoring."""
    try:
        return ScoringConfig.model_validate(snap.data) if snap.data else ScoringConfig()
    except ValidationError as err:
        log.error("invalid scoring rules at %s, using the defaults: %s", snap.path, err)
        return ScoringConfig()


def company_settings(snap: Snapshot) -> CompanySettings:
    """The company's settings; a trigger may run before the company document exists."""
    try:
        return CompanySettings.model_validate((snap.data or {}).get("settings") or {})
    except ValidationError as err:
        log.error("invalid settings at %s, using the defaults: %s", snap.path, err)
        return CompanySettings()
