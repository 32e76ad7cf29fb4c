"""A copy of a company's scoring rules in one document, so scoring reads no query.

``on_lead_written`` reads ``companies/{c}/config/scoring_rules`` in the same batched read
as the lead instead of querying ``scoring_rules`` on every event (2 round trips, not 3).
Admins write the rules through ``staff_api`` or straight to Firestore, so
``on_scoring_rule_written`` rebuilds the copy after every rule write, however it was
made: from a fresh query each time, so the order and repetition of
deliveries do not matter, and guarded by the copy's update time (or created only if
missing), so a rebuild from an older query never overwrites a newer one: the loser
queries again. A company whose copy does not exist yet (rules written before this
trigger, or none ever) is scored from the query, which then writes the first copy.

Bound: after a rule change the copy lags by one run of this trigger (the rule's event
delivery), so a lead written within that window is scored by the rules before the change.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from shared.errors import AlreadyExists, Contention
from shared.events import DocumentEvent
from shared.ports import DocumentStore, Snapshot, Write
from shared.scoring.domain.fit import ScoringConfig
from shared.scoring.domain.rules import (
    LeadScoringRule,
    legacy_rules,
    rules_collection,
    rules_copy_path,
)

log = logging.getLogger("growthkit.scoring")

MAX_RULES = 500
ATTEMPTS = 5


def query_rules(store: DocumentStore, company_id: str) -> list[dict[str, Any]]:
    """Every rule document's data with its id (the copy's ``rules`` field)."""
    snaps = store.query(rules_collection(company_id), limit=MAX_RULES)
    return [{**(s.data or {}), "id": s.path.rsplit("/", 1)[1]} for s in snaps]


def parse_rules(raw: list[dict[str, Any]], config: ScoringConfig) -> list[LeadScoringRule]:
    """The rules (invalid ones logged and skipped); a company that has none yet is scored
    by its single-document rules (or the defaults)."""
    if not raw:
        return legacy_rules(config)
    rules = []
    for data in raw:
        try:
            rules.append(LeadScoringRule.model_validate(data))
        except ValidationError as err:
            log.error("invalid scoring rule %s skipped: %s", data.get("id"), err)
    return rules


def copied_rules(copy: Snapshot) -> list[dict[str, Any]] | None:
    """The rules held by the copy; None when there is no copy yet."""
    if copy.data is None:
        return None
    rules = copy.data.get("rules")
    return [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []


def write_copy(
    store: DocumentStore, company_id: str, copy: Snapshot, raw: list[dict[str, Any]], now: datetime
) -> bool:
    """Replace the copy read as ``copy`` with ``raw``; False when another write came first."""
    data = {"rules": raw, "updated_at": now}
    if copy.exists:
        write = Write(copy.path, data, "update", copy.update_time)
    else:
        write = Write(rules_copy_path(company_id), data, "create")
    try:
        store.commit([write])
    except (AlreadyExists, Contention):
        return False
    return True


def refresh_copy(store: DocumentStore, company_id: str, now: datetime) -> str:
    """Rebuild the copy from the collection; what happened: updated or unchanged."""
    for _ in range(ATTEMPTS):
        (copy,) = store.get_all([rules_copy_path(company_id)])
        raw = query_rules(store, company_id)
        if copied_rules(copy) == raw:
            return "unchanged"
        if write_copy(store, company_id, copy, raw, now):
            return "updated"
        log.info("scoring rules copy changed meanwhile; rebuilding again")
    raise Contention(f"the scoring rules copy of {company_id} kept changing")


def on_scoring_rule_written(
    store: DocumentStore, now: datetime, event: DocumentEvent, function: str
) -> str:
    """Bring the company's rules copy up to date after one of its rules changed."""
    del function  # no marker: a rebuild is idempotent (and a no-op when up to date)
    return refresh_copy(store, event.params["companyId"], now)
