"""The ``on_lead_written`` use case: keep each lead's score current, act on conversions.

One batched read (company, scoring rules, the lead as it is now, the event's marker) and
at most one commit. The score is computed from the lead as stored now, not from the event,
so out-of-order deliveries cannot write a stale score; the write is guarded by the lead's
update time. Writing the score triggers this function again, which finds the score
unchanged and writes nothing: the trigger settles instead of looping.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from shared.domain.common import stable_id
from shared.domain.company import CompanySettings, company_path
from shared.domain.leads import LeadStatus, lead_path
from shared.domain.scoring import Score, ScoringConfig, score_lead, scoring_config_path
from shared.events import DocumentEvent
from shared.ports import DocumentStore, Snapshot, TaskQueue, Write
from shared.services.scheduling import schedule_task
from shared.services.triggers import became, commit_once, marker_path, marker_write, retrying

log = logging.getLogger("growthkit.scoring")


def on_lead_written(
    store: DocumentStore, queue: TaskQueue, now: datetime, event: DocumentEvent, function: str
) -> str:
    """Score the lead; on conversion stamp ``converted_at`` and, if the company wants it,
    schedule a review request.

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
    return retrying(lambda: _attempt(store, queue, now, event, function, converted))


def _attempt(
    store: DocumentStore,
    queue: TaskQueue,
    now: datetime,
    event: DocumentEvent,
    function: str,
    converted: bool,
) -> str:
    """One optimistic try: a batched read, the idempotent scheduling, then one commit."""
    company_id, lead_id = event.params["companyId"], event.params["leadId"]
    marker = marker_path(company_id, function, event.id)
    company, config, lead, seen = store.get_all(
        [
            company_path(company_id),
            scoring_config_path(company_id),
            lead_path(company_id, lead_id),
            marker,
        ]
    )
    if seen.exists:
        return "duplicate"
    if lead.data is None:
        return "lead missing"
    score = score_lead(lead.data, _config(config))
    update = _changes(lead.data, score, converted, now)
    review = converted and _settings(company).review_on_conversion
    if review:
        # Before the commit: scheduling is idempotent by key, so a retry repeats it harmlessly.
        _schedule_review(store, queue, now, company_id, lead_id)
    if not update and not review:
        return "unchanged"
    writes = [marker_write(marker, function, event, now)]
    if update:
        writes.append(Write(lead.path, update, "update", lead.update_time))
    if "score" in update:
        writes.append(_history(company_id, lead_id, lead.data, score, event, now))
    return "updated" if commit_once(store, writes, marker) else "duplicate"


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


def _changes(lead: dict[str, Any], score: Score, converted: bool, now: datetime) -> dict[str, Any]:
    """The lead fields to write: the score if it changed, ``converted_at`` once."""
    update: dict[str, Any] = {}
    if lead.get("score") != score.points or lead.get("temperature") != score.temperature:
        update.update(score=score.points, temperature=score.temperature, scored_at=now)
    if converted and lead.get("status") == LeadStatus.CONVERTED and not lead.get("converted_at"):
        update["converted_at"] = now
    return update


def _history(
    company_id: str,
    lead_id: str,
    lead: dict[str, Any],
    score: Score,
    event: DocumentEvent,
    now: datetime,
) -> Write:
    doc_id = f"{lead_id}-{stable_id(event.id, length=12)}"
    data = {
        "lead_id": lead_id,
        "score": score.points,
        "temperature": score.temperature,
        "previous_score": lead.get("score"),
        "previous_temperature": lead.get("temperature"),
        "matched": list(score.matched),
        "event_id": event.id,
        "created_at": now,
    }
    return Write(f"companies/{company_id}/lead_score_history/{doc_id}", data, "create")


def _config(snap: Snapshot) -> ScoringConfig:
    """The company's rules; broken rules fall back to the defaults rather than stop scoring."""
    try:
        return ScoringConfig.model_validate(snap.data) if snap.data else ScoringConfig()
    except ValidationError as err:
        log.error("invalid scoring rules at %s, using the defaults: %s", snap.path, err)
        return ScoringConfig()


def _settings(snap: Snapshot) -> CompanySettings:
    """The company's settings; a trigger may run before the company document exists."""
    try:
        return CompanySettings.model_validate((snap.data or {}).get("settings") or {})
    except ValidationError as err:
        log.error("invalid settings at %s, using the defaults: %s", snap.path, err)
        return CompanySettings()
