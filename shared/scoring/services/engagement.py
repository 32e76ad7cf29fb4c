"""Engagement scoring: points from interactions, from workflow steps, and their decay;
and telling a lead's assignee when the score reaches the company's threshold.

Every change is one commit of the lead (guarded by its update time) and one
``lead_score_history`` record per rule, whose id derives from the cause, so a replayed
event or a retried run cannot add points twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from shared.domain.common import as_utc
from shared.domain.company import CompanySettings, company_path
from shared.domain.leads import lead_path
from shared.domain.tasks import ScheduledTask
from shared.errors import InvalidInput
from shared.events import DocumentEvent
from shared.ports import DocumentStore, Filter, OutboundMessage, PagedStore, Snapshot, Write
from shared.scoring.domain.fit import ScoringConfig, scoring_config_path
from shared.scoring.domain.rules import adjustment, interaction_deltas, rules_copy_path
from shared.scoring.domain.sheet import Delta, ScoreSheet, decayed, sheet_fields
from shared.scoring.services.on_lead import (
    company_settings,
    history_writes,
    rules_for,
    scoring_config,
)
from shared.services.once import commit_once, marker_path, marker_write, retrying
from shared.services.periodic import Page, Step, page_of
from shared.services.task_handlers import TaskContext

log = logging.getLogger("growthkit.scoring")

DECAY_PAGE = 200  # leads per task; a company with more continues in its next task


def score_writes(
    company_id: str,
    lead: Snapshot,
    changes: list[tuple[Delta, ScoreSheet]],
    config: ScoringConfig,
    cause: str,
    now: datetime,
    decay_from: datetime | None,
) -> list[Write]:
    """The lead's new sheet (guarded by its update time) and the history records."""
    lead_id, data = lead.path.rsplit("/", 1)[1], lead.data or {}
    sheet = changes[-1][1]
    fields = sheet_fields(sheet, config, now)
    fields["engagement_decay_from"] = decay_from if sheet.engagement_points else None
    return [
        Write(lead.path, fields, "update", lead.update_time),
        *history_writes(company_id, lead_id, data, changes, config, cause, now),
    ]


def on_interaction_scored(
    store: DocumentStore, now: datetime, event: DocumentEvent, function: str
) -> str:
    """Award the points of the event rules an interaction matches when it is created or
    its status changes (delivered, then opened, then clicked...).

    Args:
        store: The document store.
        now: The time of this run (and the restart of the decay clock).
        event: The interaction's creation.
        function: The trigger's name (part of the duplicate marker).

    Returns:
        What happened: scored N, no rule matched, no new engagement, duplicate or lead
        missing.
    """
    if event.deleted or not (event.created or event.changed("status")):
        return "no new engagement"  # other edits would award repeatable rules again
    company_id, lead_id = event.params["companyId"], event.params["leadId"]
    marker = marker_path(company_id, function, event.id)
    interaction = event.after or {}
    # The rules first, from their one-document copy: most interactions (a campaign's
    # messages, page views) meet no interaction rule, and then cost these two reads only.
    config_snap, copy = store.get_all(
        [scoring_config_path(company_id), rules_copy_path(company_id)]
    )
    config = scoring_config(config_snap)
    rules = [r for r in rules_for(store, company_id, config, copy, now) if r.on_interactions]
    if not rules:
        return "no rule matched"

    def attempt() -> str:
        lead, seen = store.get_all([lead_path(company_id, lead_id), marker])
        if seen.exists:
            return "duplicate"
        if lead.data is None:
            return "lead missing"
        changes = interaction_deltas(rules, lead.data, interaction)
        if not changes:
            return "no rule matched"
        writes = score_writes(company_id, lead, changes, config, event.id, now, now)
        done = commit_once(store, [*writes, marker_write(marker, function, event, now)], marker)
        return f"scored {len(changes)}" if done else "duplicate"

    return retrying(attempt)


def adjust_writes(
    company_id: str,
    lead: Snapshot,
    config: ScoringConfig,
    *,
    points: int,
    rule_id: str,
    name: str,
    cause: str,
    now: datetime,
) -> list[Write]:
    """The writes that add ``points`` to a lead's engagement points (a workflow step)."""
    changes = adjustment(lead.data or {}, rule_id, name, points, "workflow")
    return score_writes(company_id, lead, changes, config, cause, now, now)


DECAY_FIELD = "settings.engagement_decay_percent"


def decaying_page(store: PagedStore, _when: datetime, after: Snapshot | None, limit: int) -> Page:
    """The decay's source: a page of the companies with engagement decay set up."""
    companies = store.query(
        "companies",
        [Filter("settings.engagement_decay_percent", ">", 0)],
        limit=limit,
        start_after=after,
    )
    return page_of(companies, limit, (DECAY_FIELD,))


def decay_unit(ctx: TaskContext, company_id: str, when: datetime, after: Snapshot | None) -> Step:
    """A page of one company's leads whose engagement points are due to decay as of
    ``when`` (the run's schedule time): how many decayed, and where the next page starts.

    Only leads whose ``engagement_decay_from`` is a full period old are read: a lead's
    decay clock moves on by the periods applied, so a repeated run finds nothing to do.
    """
    company = ctx.store.get_all([company_path(company_id)])[0]
    settings = company_settings(company)
    if company.data is None or not settings.engagement_decay_percent:
        return Step({"skipped": "no engagement decay set up"})
    period = timedelta(days=settings.engagement_decay_days)
    config = scoring_config(ctx.store.get_all([scoring_config_path(company_id)])[0])
    due = ctx.store.query(
        f"companies/{company_id}/leads",
        [Filter("engagement_decay_from", "<=", when - period)],
        order_by=[("engagement_decay_from", False)],
        limit=DECAY_PAGE,
        start_after=after,
    )
    count = 0
    for lead in due:
        decay = partial(_decay_lead, ctx.store, company_id, lead.path, settings, config, when)
        count += retrying(decay)
    return Step(count, page_of(due, DECAY_PAGE, ("engagement_decay_from",)).cursor)


def _decay_lead(
    store: DocumentStore,
    company_id: str,
    path: str,
    settings: CompanySettings,
    config: ScoringConfig,
    when: datetime,
) -> int:
    """Decay one lead, re-read first: the query's copy may be stale by now."""
    lead = store.get_all([path])[0]
    start = (lead.data or {}).get("engagement_decay_from")
    if lead.data is None or not isinstance(start, datetime):
        return 0
    period = timedelta(days=settings.engagement_decay_days)
    periods = int((when - as_utc(start)) / period)
    if periods < 1:
        return 0  # engaged again since the query
    points = ScoreSheet.of(lead.data).engagement_points
    delta = decayed(points, settings.engagement_decay_percent, periods) - points
    changes = adjustment(lead.data, "decay", "engagement decay", delta, f"decay x{periods}")
    cause, moved = f"decay:{as_utc(start).isoformat()}", as_utc(start) + period * periods
    writes = score_writes(company_id, lead, changes, config, cause, when, moved)
    # Without a change there is nothing to record: only the decay clock moves (or stops).
    store.commit(writes if delta else writes[:1])
    return 1 if delta else 0


def notify_key(company_id: str, lead_id: str, event_id: str) -> str:
    return f"score_notify:{company_id}:{lead_id}:{event_id}"


def score_notify_task(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """Task ``score_notify`` (data: ``lead_id``, ``score``, ``threshold``): tell the
    lead's assignee (e-mail from their profile, ``companies/{c}/users/{uid}``)."""
    lead_id = task.data.get("lead_id")
    if not isinstance(lead_id, str) or not lead_id:
        raise InvalidInput("A score_notify task needs data.lead_id.")
    company, lead = ctx.store.get_all(
        [company_path(task.company_id), lead_path(task.company_id, lead_id)]
    )
    assignee = (lead.data or {}).get("assigned_to")
    if lead.data is None or not isinstance(assignee, str) or not assignee:
        return {"skipped": "lead has no assignee"}
    # Staff profiles belong to the users area (``companies/{c}/users/{uid}``).
    staff = ctx.store.get_all([f"{company_path(task.company_id)}/users/{assignee}"])[0]
    email = (staff.data or {}).get("email")
    if not isinstance(email, str) or "@" not in email:
        return {"skipped": f"assignee {assignee} has no e-mail address"}
    name = lead.data.get("name") or lead.data.get("email") or lead_id
    body = (
        f"{name} reached a score of {task.data.get('score')} "
        f"(threshold {task.data.get('threshold')}) at {(company.data or {}).get('name', '')}."
    )
    message = OutboundMessage("email", email, f"Lead ready: {name}", body, task.key)
    message_id = ctx.messenger.send(message)
    log.info("assignee %s told lead %s reached %s", assignee, lead_id, task.data.get("score"))
    return {"sent_to": assignee, "message_id": message_id}
