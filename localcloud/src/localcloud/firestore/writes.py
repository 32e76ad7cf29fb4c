"""Applying one ``Write`` to a document: preconditions, masks and field transforms."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import grpc

from localcloud.firestore import pb, values
from localcloud.firestore.errors import FirestoreError, invalid
from localcloud.firestore.names import check_document_name, ns_to_ts, relative_segments, ts_to_ns

MAX_DOCUMENT_BYTES = 1024 * 1024


@dataclass
class Applied:
    """The outcome of one write: the new document (None once deleted) and transform results."""

    name: str
    after: Any | None
    transform_results: list[Any] = field(default_factory=list)


def target_name(write: Any) -> str:
    which = write.WhichOneof("operation")
    if which == "update":
        return str(write.update.name)
    if which == "delete":
        return str(write.delete)
    if which == "transform":
        return str(write.transform.document)
    raise invalid("A write must have an update, delete or transform operation")


def check_precondition(write: Any, before: Any | None) -> None:
    if not write.HasField("current_document"):
        return
    pre = write.current_document
    name = target_name(write)
    if pre.WhichOneof("condition_type") == "exists":
        if pre.exists and before is None:
            raise FirestoreError(grpc.StatusCode.NOT_FOUND, f"No document to update: {name}")
        if not pre.exists and before is not None:
            raise FirestoreError(grpc.StatusCode.ALREADY_EXISTS, f"Document already exists: {name}")
    elif pre.WhichOneof("condition_type") == "update_time":
        wanted = ts_to_ns(pre.update_time)
        if before is None or ts_to_ns(before.update_time) != wanted:
            raise FirestoreError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"The document {name} was updated at another time than the precondition",
            )


def apply_write(write: Any, before: Any | None, commit_ns: int) -> Applied:
    """Apply ``write`` to ``before`` (None when missing); timestamps are set by the caller."""
    name = target_name(write)
    check_document_name(name)
    check_precondition(write, before)
    which = write.WhichOneof("operation")
    if which == "delete":
        return Applied(name, None)
    doc = pb.Document(name=name)
    if before is not None:
        doc.CopyFrom(before)
    if which == "update":
        _apply_update(doc, write)
    transforms = list(write.update_transforms)
    if which == "transform":
        transforms = list(write.transform.field_transforms)
    results = [_apply_transform(doc, t, commit_ns) for t in transforms]
    _check_size(doc)
    return Applied(name, doc, results)


def _apply_update(doc: Any, write: Any) -> None:
    new_fields = write.update.fields
    if not write.HasField("update_mask"):
        doc.ClearField("fields")
        for key, value in new_fields.items():
            doc.fields[key].CopyFrom(value)
        return
    for path in write.update_mask.field_paths:
        segments = values.parse_field_path(path)
        value = values.get_field(new_fields, segments)
        if value is None:
            values.delete_field(doc.fields, segments)
        else:
            values.set_field(doc.fields, segments, value)


def _apply_transform(doc: Any, transform: Any, commit_ns: int) -> Any:
    segments = values.parse_field_path(transform.field_path)
    current = values.get_field(doc.fields, segments)
    which = transform.WhichOneof("transform_type")
    if which == "set_to_server_value":
        result = pb.Value()
        ns_to_ts(commit_ns, result.timestamp_value)
    elif which in ("increment", "maximum", "minimum"):
        result = _numeric(which, current, getattr(transform, which))
    elif which == "append_missing_elements":
        result = _array(current)
        for element in transform.append_missing_elements.values:
            if not any(values.compare(element, e) == 0 for e in result.array_value.values):
                result.array_value.values.append(element)
    elif which == "remove_all_from_array":
        kept = [
            e
            for e in _array(current).array_value.values
            if not any(values.compare(e, r) == 0 for r in transform.remove_all_from_array.values)
        ]
        result = pb.Value(array_value=pb.ArrayValue(values=kept))
    else:
        raise invalid(f"Unsupported field transform {which!r}")
    values.set_field(doc.fields, segments, result)
    return result


def _array(current: Any | None) -> Any:
    if current is not None and values.kind(current) == "array_value":
        copy = pb.Value()
        copy.CopyFrom(current)
        return copy
    return pb.Value(array_value=pb.ArrayValue())


def _is_number(v: Any | None) -> bool:
    return v is not None and values.kind(v) in ("integer_value", "double_value")


def _as_number(v: Any) -> int | float:
    number: int | float = v.integer_value if values.kind(v) == "integer_value" else v.double_value
    return number


def _numeric(op: str, current: Any | None, operand: Any) -> Any:
    if not _is_number(operand):
        raise invalid(f"{op} requires a numeric operand")
    if not _is_number(current):
        # A missing or non-numeric field is replaced by the operand (increment from 0).
        result = pb.Value()
        result.CopyFrom(operand)
        return result
    a, b = _as_number(current), _as_number(operand)
    if op == "increment":
        total = a + b
        if isinstance(total, int) and not -(2**63) <= total < 2**63:
            total = (2**63 - 1) if total > 0 else -(2**63)  # Firestore saturates integer overflow
        return _number_value(total)
    if math.isnan(a) or math.isnan(b):
        return _number_value(math.nan)
    # On a tie the stored value is kept, so max(1, 1.0) stays the integer 1.
    take_operand = b > a if op == "maximum" else b < a
    return operand if take_operand else current


def _number_value(x: int | float) -> Any:
    return pb.Value(integer_value=x) if isinstance(x, int) else pb.Value(double_value=x)


def _check_size(doc: Any) -> None:
    """Firestore's storage size: each path segment plus one, 16 for the name, the fields,
    and 32 for the document itself."""
    name_size = sum(len(s.encode()) + 1 for s in relative_segments(doc.name)) + 16
    size = name_size + values.fields_size(doc.fields) + 32
    if size > MAX_DOCUMENT_BYTES:
        raise invalid(
            f"Document {doc.name} is {size} bytes, over the limit of {MAX_DOCUMENT_BYTES} bytes"
        )


def changed_paths(before: Any | None, after: Any | None) -> list[str]:
    """Field paths that differ between two versions (the ``update_mask`` of an event)."""
    if before is None or after is None:
        return []
    paths = set(values.leaf_paths(before.fields)) | set(values.leaf_paths(after.fields))
    changed = []
    for path in sorted(paths):
        a = values.get_field(before.fields, list(path))
        b = values.get_field(after.fields, list(path))
        if a is None or b is None or a != b:
            changed.append(values.encode_field_path(path))
    return changed
