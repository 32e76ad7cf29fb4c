"""Decoding Eventarc Firestore CloudEvents (protobuf ``DocumentEventData``) into
``DocumentEvent``s with plain Python values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared.errors import InvalidInput
from shared.events import DocumentEvent, match_params


def decode_value(value: Any) -> Any:
    """A google.events (or Firestore) ``Value`` protobuf as a Python value."""
    kind = value.WhichOneof("value_type")
    if kind in (None, "null_value"):
        return None
    if kind == "timestamp_value":
        ts = value.timestamp_value
        return datetime.fromtimestamp(ts.seconds, UTC).replace(microsecond=ts.nanos // 1000)
    if kind == "reference_value":
        return str(value.reference_value).split("/documents/", 1)[-1]
    if kind == "geo_point_value":
        return (value.geo_point_value.latitude, value.geo_point_value.longitude)
    if kind == "array_value":
        return [decode_value(v) for v in value.array_value.values]
    if kind == "map_value":
        return decode_fields(value.map_value.fields)
    return getattr(value, kind)


def decode_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: decode_value(v) for key, v in fields.items()}


def document_event(attributes: Mapping[str, Any], data: bytes, pattern: str) -> DocumentEvent:
    """Build the typed event; ``pattern`` is the function's document path pattern."""
    from google.events.cloud.firestore_v1 import DocumentEventData

    message = DocumentEventData.pb()()
    try:
        message.ParseFromString(data or b"")
    except Exception as err:  # noqa: BLE001 - protobuf raises DecodeError, not ValueError
        raise InvalidInput(f"Event data is not a DocumentEventData: {err}") from err
    document = str(attributes.get("document") or str(attributes.get("subject", ""))[10:])
    return DocumentEvent(
        id=str(attributes["id"]),
        type=str(attributes["type"]),
        document=document,
        before=decode_fields(message.old_value.fields) if message.HasField("old_value") else None,
        after=decode_fields(message.value.fields) if message.HasField("value") else None,
        update_mask=tuple(message.update_mask.field_paths),
        params=match_params(pattern, document),
    )
