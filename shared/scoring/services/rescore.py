"""Rescoring a company's existing leads after its scoring rules changed, in bounded batches.

A lead is scored when it is written (``on_lead``), so a new or changed rule used to
reach only the leads written after it. Now each rule write, once the rules copy is
rebuilt (``rules_copy``), schedules a ``rescore_leads`` task for that version of the
copy (its update time), which the dispatcher enqueues within a minute: the task rescores
one page of ``PAGE`` leads, in path order, and schedules the next page's task. Every
task is named from the company, the copy's version and the page (``schedule_task``
keys), so a duplicate event or a repeated delivery adds nothing, and a run cut short
resumes at the page it was on (``run_task`` retries it). A page applies the rules of the
copy as it is: if the copy changed since the run began, a newer run is rescoring from
the start and this one stops (superseded).

Each lead is scored as ``on_lead`` scores it (``state_deltas``, the sheet, one history
record per rule change, caused by ``rescore:<version>``) and written alone, guarded by its
update time: a lead changed meanwhile is read again. The write changes only the score's
own fields, so the lead's trigger settles without scoring it again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from shared.errors import AlreadyExists, Contention
from shared.events import DocumentEvent
from shared.ports import DocumentStore, PagedStore, Snapshot, TaskQueue, Write
from shared.scoring.domain.fit import ScoringConfig, scoring_config_path
from shared.scoring.domain.rules import LeadScoringRule, rules_copy_path, state_deltas
from shared.scoring.domain.sheet import sheet_fields
from shared.scoring.services.on_lead import history_writes, scoring_config
from shared.scoring.services.rules_copy import copied_rules, on_scoring_rule_written, parse_rules
from shared.services.scheduling import schedule_task

if TYPE_CHECKING:
    from shared.domain.tasks import ScheduledTask
    from shared.services.task_handlers import TaskContext

log = logging.getLogger("growthkit.scoring")

TASK_TYPE = "rescore_leads"
PAGE = 100  # leads a task rescores: one commit each, well within run_task's time
ATTEMPTS = 3  # reads of one lead that keep meeting concurrent writes


def on_rules_written(
    store: DocumentStore, now: datetime, event: DocumentEvent, function: str
) -> str:
    """After a rule write: the rules copy rebuilt, then the rescoring of every lead by it
    scheduled (also when this delivery found the copy rebuilt already: a delivery retried
    after the rebuild still schedules the run, once). What happened to the copy."""
    outcome = on_scoring_rule_written(store, now, event, function)
    schedule_rescore(store, None, now, event.params["companyId"])
    return outcome


def schedule_rescore(
    store: DocumentStore, queue: TaskQueue | None, now: datetime, company_id: str
) -> str:
    """Schedule the rescoring of every lead by the company's rules copy as it is now (its
    first page); the task's id. Named from the copy's version: scheduling it again for
    the same version (another event of the same change) adds nothing. Without a
    ``queue`` (the rule's trigger: rescoring can wait a minute, and the trigger then never
    loads the Cloud Tasks client) the dispatcher enqueues the first page."""
    (copy,) = store.get_all([rules_copy_path(company_id)])
    return _schedule(store, queue, now, company_id, _version(copy), None, 0)


def _version(copy: Snapshot) -> str:
    """The version of the rules copy: its update time (every rebuild changes it)."""
    return copy.update_time.isoformat() if copy.update_time else "none"


def _schedule(
    store: DocumentStore,
    queue: TaskQueue | None,
    now: datetime,
    company_id: str,
    version: str,
    after: str | None,
    page: int,
) -> str:
    return schedule_task(
        store,
        queue,
        now,
        company_id=company_id,
        task_type=TASK_TYPE,
        data={"rules": version, "after": after, "page": page},
        run_at=now,
        key=f"{TASK_TYPE}:{company_id}:{version}:{page}",
    )


def rescore_leads_task(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """One page of a rescoring run: its leads rescored, the next page scheduled."""
    company_id, version = task.company_id, str(task.data.get("rules"))
    config_snap, copy = ctx.store.get_all(
        [scoring_config_path(company_id), rules_copy_path(company_id)]
    )
    raw = copied_rules(copy)
    if raw is None or _version(copy) != version:
        log.info("rescoring of %s by rules %s superseded by a newer change", company_id, version)
        return {"superseded": True}
    config = scoring_config(config_snap)
    rules, cause = parse_rules(raw, config), f"rescore:{version}"
    store = cast(PagedStore, ctx.store)  # the Firestore store every function gets
    page = store.page(f"companies/{company_id}", "leads", task.data.get("after"), PAGE)
    rescored = sum(_rescore(store, snap, rules, config, cause, ctx.now) for snap in page)
    number = int(task.data.get("page") or 0)
    result: dict[str, Any] = {"page": number, "leads": len(page), "rescored": rescored}
    if len(page) == PAGE:
        after = page[-1].path
        result["continued_by"] = _schedule(
            ctx.store, ctx.queue, ctx.now, company_id, version, after, number + 1
        )
    log.info("rescoring of %s, page %d: %s", company_id, number, result)
    return result


def _rescore(
    store: DocumentStore,
    snap: Snapshot,
    rules: list[LeadScoringRule],
    config: ScoringConfig,
    cause: str,
    now: datetime,
) -> bool:
    """Score one lead by ``rules``; whether its score changed. A lead written since it was
    read is read again (its own trigger may have seen only its score change)."""
    for _ in range(ATTEMPTS):
        writes = _score_writes(snap, rules, config, cause, now)
        if not writes:
            return False
        try:
            store.commit(writes)
            return True
        except (Contention, AlreadyExists):
            (snap,) = store.get_all([snap.path])
    log.warning("lead %s kept changing while rescored; its next write scores it", snap.path)
    return False


def _score_writes(
    snap: Snapshot,
    rules: list[LeadScoringRule],
    config: ScoringConfig,
    cause: str,
    now: datetime,
) -> list[Write]:
    """The lead's new score fields and history records, or nothing if they stay."""
    if snap.data is None:
        return []
    changes = state_deltas(rules, snap.data)
    if not changes:
        return []
    company_id, lead_id = snap.path.split("/")[1], snap.path.rsplit("/", 1)[1]
    update = sheet_fields(changes[-1][1], config, now)
    history = history_writes(company_id, lead_id, snap.data, changes, config, cause, now)
    return [Write(snap.path, update, "update", snap.update_time), *history]
