"""The local Eventarc bridge: Firestore commits delivered as production CloudEvents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest

from localcloud.eventarc import EventBridge
from localcloud.manifest import FunctionSpec, Trigger
from localcloud.tasks.testing import Receiver

LEAD = "companies/acme/leads/l1"
LEADS = "companies/{companyId}/leads/{leadId}"
INTERACTIONS = f"{LEADS}/interactions/{{interactionId}}"
FUNCTIONS = (
    FunctionSpec("on_lead_written", Trigger.EVENT, event_type="written", document=LEADS),
    FunctionSpec("on_interaction_created", Trigger.EVENT, "created", INTERACTIONS),
    FunctionSpec("on_interaction_scored", Trigger.EVENT, "written", INTERACTIONS),
    FunctionSpec("on_interaction_workflows", Trigger.EVENT, "written", INTERACTIONS),
    FunctionSpec("lead_intake", Trigger.HTTP),
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def bridge(firestore_server: Any, receiver: Receiver) -> Iterator[EventBridge]:
    b = EventBridge(firestore_server.store, receiver.url(""), functions=FUNCTIONS)
    yield b
    b.close()


def _decode(body: bytes) -> Any:
    from google.events.cloud.firestore_v1 import DocumentEventData

    return DocumentEventData.deserialize(body)


def _fields(db: Any, document: Any) -> dict[str, Any]:
    """An event's document as the Firestore client decodes its own (same field numbers)."""
    from google.cloud.firestore_v1 import _helpers
    from google.cloud.firestore_v1.types import Document

    raw = type(document).pb(document).SerializeToString()
    return cast(dict[str, Any], _helpers.decode_dict(Document.pb().FromString(raw).fields, db))


def test_write_becomes_a_cloudevent_that_decodes_to_the_document(
    db: Any, bridge: EventBridge, receiver: Receiver, project_id: str
) -> None:
    """Binary-mode CloudEvent with Eventarc's attributes; the data is the document."""
    db.document(LEAD).set({"email": "a@b.co", "score": 3, "tags": ["x"], "nested": {"k": 1.5}})
    assert bridge.wait_idle()
    (hit,) = receiver.wait_for("/on_lead_written")
    headers = hit.headers
    assert "google.cloud.firestore.document.v1.written" == headers["ce-type"]
    assert f"documents/{LEAD}" == headers["ce-subject"]
    assert (LEAD, "(default)", project_id) == (
        headers["ce-document"],
        headers["ce-database"],
        headers["ce-project"],
    )
    assert (
        f"//firestore.googleapis.com/projects/{project_id}/databases/(default)"
        == (headers["ce-source"])
    )
    assert "application/protobuf" == headers["content-type"]
    data = _decode(hit.body)
    assert db.document(LEAD).get().to_dict() == _fields(db, data.value)
    assert data.value.name.endswith(LEAD)
    assert not data.old_value.name


def test_update_carries_old_value_and_mask(
    db: Any, bridge: EventBridge, receiver: Receiver
) -> None:
    """An update sends the previous version and the changed field paths."""
    db.document(LEAD).set({"score": 1, "name": "A"})
    db.document(LEAD).update({"score": 2})
    assert bridge.wait_idle()
    hits = receiver.wait_for("/on_lead_written", 2)
    update = _decode(hits[1].body)
    assert ["score"] == list(update.update_mask.field_paths)
    assert 1 == update.old_value.fields["score"].integer_value


def test_routing_by_event_type_and_pattern(
    db: Any, bridge: EventBridge, receiver: Receiver
) -> None:
    """A created-only function sees creates only, a written one both; unmatched paths
    reach nobody."""
    interaction = f"{LEAD}/interactions/i1"
    db.document(interaction).set({"type": "email"})
    db.document(interaction).update({"type": "sms"})
    db.document("companies/acme/unrouted/x").set({"a": 1})
    assert bridge.wait_idle()
    hits = receiver.wait_for("/on_interaction_created")
    assert ["google.cloud.firestore.document.v1.created"] == [h.headers["ce-type"] for h in hits]
    written = sorted(h.headers["ce-type"] for h in receiver.hits("/on_interaction_scored"))
    assert ["google.cloud.firestore.document.v1.written"] * 2 == written
    routed = {"/on_interaction_created", "/on_interaction_scored", "/on_interaction_workflows"}
    assert routed == {h.path for h in receiver._hits}


def test_failed_delivery_is_retried(db: Any, bridge: EventBridge, receiver: Receiver) -> None:
    """A 500 from the function is retried until it answers 2xx, with the same event id."""
    receiver.script("/on_lead_written", 500, 503)
    db.document(LEAD).set({"score": 1})
    assert bridge.wait_idle(timeout=15)
    hits = receiver.wait_for("/on_lead_written", 3)
    assert 1 == len({h.headers["ce-id"] for h in hits})
    delivered = [d.attempt for d in bridge.delivered if d.function.name == "on_lead_written"]
    assert [3] == delivered


def test_duplicate_option_delivers_every_event_twice(
    firestore_server: Any, db: Any, receiver: Receiver
) -> None:
    """With duplicate=True each event arrives twice with the same id (idempotency tests)."""
    bridge = EventBridge(
        firestore_server.store, receiver.url(""), functions=FUNCTIONS, duplicate=True
    )
    try:
        db.document(LEAD).set({"score": 1})
        assert bridge.wait_idle()
        hits = receiver.wait_for("/on_lead_written", 2)
        assert hits[0].headers["ce-id"] == hits[1].headers["ce-id"]
    finally:
        bridge.close()
