"""Running a service on an Eventarc Firestore CloudEvent: the one handler every Firestore
trigger in the bundle goes through (``functions/triggers.py``, ``functions/scoring.py``,
``functions/workflows.py``, ``functions/campaigns.py``), in a module of its own so that a
trigger loads only its own services.

Python triggers are not retried unless a retry policy is set, so a permanent failure is
logged and swallowed (a retry could not fix it and would only repeat it). Only a
``Transient`` error is raised, for the delivery to be retried where retries are on (the
local Eventarc bridge always retries); the services are idempotent, so a retry is safe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from cloudevents.http.event import CloudEvent

from shared import bootstrap
from shared.adapters.firestore_events import document_event
from shared.errors import DomainError, InvalidInput, Transient
from shared.events import DocumentEvent
from shared.manifest import by_name
from shared.ports import DocumentStore, TaskQueue

log = logging.getLogger("growthkit.triggers")

Service = Callable[[DocumentStore, TaskQueue, datetime, DocumentEvent, str], str]


def handle(name: str, cloud_event: CloudEvent, service: Service) -> None:
    pattern = by_name(name).document or ""
    event_id = cloud_event.get("id")
    try:
        data = cloud_event.get_data()
        if not isinstance(data, bytes):
            raise InvalidInput("Firestore events carry protobuf DocumentEventData bytes.")
        event = document_event(cloud_event.get_attributes(), data, pattern)
        outcome = service(
            bootstrap.document_store(), bootstrap.task_queue(), bootstrap.clock.now(), event, name
        )
    except Transient as err:
        log.warning("%s event %s failed transiently, to be retried: %s", name, event_id, err)
        raise
    except DomainError as err:
        log.error("%s event %s dropped: %s", name, event_id, err.message)
        return
    except Exception:
        # Deliberately broad: a bug must not turn into a retry storm; the log has it all.
        log.exception("%s event %s failed", name, event_id)
        return
    log.info("%s %s (event %s): %s", name, event.document, event_id, outcome)


def without_queue(
    service: Callable[[DocumentStore, datetime, DocumentEvent, str], str],
) -> Service:
    return lambda store, _queue, now, event, name: service(store, now, event, name)
