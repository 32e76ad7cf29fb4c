"""Lead-scoring Firestore triggers, through ``functions._events.handle`` like the others."""

from __future__ import annotations

import functions_framework
from cloudevents.http.event import CloudEvent

from functions._events import handle, without_queue
from shared.services import scoring, scoring_rules_copy


@functions_framework.cloud_event
def on_lead_written(cloud_event: CloudEvent) -> None:
    """Score the lead; on conversion, schedule a review request if the company wants."""
    handle("on_lead_written", cloud_event, scoring.on_lead_written)


@functions_framework.cloud_event
def on_scoring_rule_written(cloud_event: CloudEvent) -> None:
    """Keep the company's one-document copy of its scoring rules current."""
    handle(
        "on_scoring_rule_written",
        cloud_event,
        without_queue(scoring_rules_copy.on_scoring_rule_written),
    )
