"""``on_lead_campaigns``: a lead that converts is marked converted in the campaigns that
reached it (a Firestore trigger on leads). Its own area: it needs the recipients' paths
and statuses only, not the campaign models the staff ``campaigns`` function loads."""

from __future__ import annotations

import functions_framework
from cloudevents.http.event import CloudEvent

from functions._events import handle as handle_event
from shared.services.campaigns_conversions import on_lead_campaigns as convert


@functions_framework.cloud_event
def on_lead_campaigns(cloud_event: CloudEvent) -> None:
    """A lead that converts is marked converted in the campaigns that reached it."""
    handle_event("on_lead_campaigns", cloud_event, convert)
