"""Firestore triggers declare themselves here: ``@firestore_fn.on_document_written(
document="companies/{companyId}/leads/{leadId}")`` (and ``_created``, ``_updated``,
``_deleted``).

Eventarc delivers each change as a binary-mode CloudEvent carrying protobuf
``DocumentEventData``; the decorator registers the trigger (event type and document
pattern, from which the deploy plan and localcloud's bridge route events) and hands the
function a typed ``DocumentEvent`` with the pattern's wildcards bound.

Python triggers are not retried unless a retry policy is set, so a permanent failure is
logged and swallowed (a retry could not fix it and would only repeat it). Only a
``Transient`` error is raised, for the delivery to be retried where retries are on (the
local Eventarc bridge always retries); the services are idempotent, so a retry is safe.

    @firestore_fn.on_document_written(document="companies/{companyId}/leads/{leadId}")
    def on_lead_written(event: DocumentEvent, ctx: Context) -> str:
        ...  # returns what happened, for the log
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import functions_framework
from cloudevents.http.event import CloudEvent

from functions._context import Context
from shared.errors import DomainError, InvalidInput, Transient
from shared.events import DocumentEvent
from shared.manifest import Function, Trigger, declare

__all__ = [
    "Context",
    "DocumentEvent",
    "on_document_created",
    "on_document_deleted",
    "on_document_updated",
    "on_document_written",
]

log = logging.getLogger("growthkit.triggers")

Handler = Callable[[DocumentEvent, Context], str]
Decorator = Callable[[Handler], Callable[[CloudEvent], None]]


def on_document_written(*, document: str, memory: str = "256Mi") -> Decorator:
    """A document matching ``document`` was created, changed or deleted."""
    return _trigger("written", document, memory)


def on_document_created(*, document: str, memory: str = "256Mi") -> Decorator:
    """A document matching ``document`` was created."""
    return _trigger("created", document, memory)


def on_document_updated(*, document: str, memory: str = "256Mi") -> Decorator:
    """A document matching ``document`` was changed."""
    return _trigger("updated", document, memory)


def on_document_deleted(*, document: str, memory: str = "256Mi") -> Decorator:
    """A document matching ``document`` was deleted."""
    return _trigger("deleted", document, memory)


def _trigger(event_type: str, document: str, memory: str) -> Decorator:
    def decorate(handler: Handler) -> Callable[[CloudEvent], None]:
        name = handler.__name__
        declare(
            Function(
                name,
                Trigger.EVENT,
                event_type=event_type,
                document=document,
                memory=memory,
                module=handler.__module__,
            )
        )

        @functools.wraps(handler)
        def receive(cloud_event: CloudEvent) -> None:
            _handle(name, document, cloud_event, handler)

        wrapped: Callable[[CloudEvent], None] = functions_framework.cloud_event(receive)
        return wrapped

    return decorate


def _handle(name: str, pattern: str, cloud_event: CloudEvent, handler: Handler) -> None:
    from shared.adapters.firestore_events import document_event

    event_id = cloud_event.get("id")
    try:
        data = cloud_event.get_data()
        if not isinstance(data, bytes):
            raise InvalidInput("Firestore events carry protobuf DocumentEventData bytes.")
        event = document_event(cloud_event.get_attributes(), data, pattern)
        outcome = handler(event, Context(name))
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
