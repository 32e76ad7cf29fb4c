"""The staff REST API's writes: create, partial update and delete, for any resource spec.

Every write records who and when (``created_by``/``created_at`` once, ``updated_by``/
``updated_at`` each time). A create with an idempotency key gets an id derived from the
caller and the key, so a retried request finds its own document instead of making a second
one. A PATCH changes only the fields it names, inside a transaction, after checking the
whole document the change would leave.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import ValidationError

from shared.domain.common import random_id, stable_id
from shared.domain.identity import StaffIdentity
from shared.errors import AlreadyExists, InvalidInput
from shared.ports import Data, DocumentStore, Transaction, Write
from shared.staff_api.domain.lists import Scope, refuse_fixed_fields
from shared.staff_api.services.resources import (
    AUDIT_FIELDS,
    ResourceSpec,
    authorize,
    check_item,
    item_paths,
    parent,
    view,
)

log = logging.getLogger("growthkit.staff_api")


def _writable(spec: ResourceSpec, creating: bool) -> frozenset[str]:
    assert spec.fields is not None  # the HTTP layer offers no writes on read-only specs
    names = frozenset(spec.fields.model_fields)
    return names if creating else names - spec.create_only


def _stored_names(spec: ResourceSpec) -> frozenset[str]:
    return frozenset(spec.stored.model_fields) | AUDIT_FIELDS


def _checked(spec: ResourceSpec, data: Data) -> Data:
    """``data`` if it is a valid whole document; its field errors as a 400 if not."""
    try:
        if spec.check:
            spec.check(data)
        spec.stored.model_validate(data)
    except ValueError as err:  # pydantic's ValidationError is a ValueError too
        fields = _fields_of(err)
        raise InvalidInput(f"The {spec.name} item would not be valid.", {"fields": fields}) from err
    return data


def _fields_of(err: ValueError) -> dict[str, str]:
    if isinstance(err, ValidationError):
        return {".".join(map(str, e["loc"])) or "body": e["msg"] for e in err.errors()}
    return {"body": str(err)}


def create_item(
    store: DocumentStore,
    now: datetime,
    staff: StaffIdentity,
    spec: ResourceSpec,
    scope: Scope,
    body: Data,
    idempotency_key: str | None = None,
) -> tuple[Data, bool]:
    """Store a new document from ``body``.

    Args:
        store: The document store.
        now: The creation time.
        staff: The caller.
        spec: The resource.
        scope: The company (and lead, for a lead's notes and such).
        body: The fields, as sent.
        idempotency_key: The request's ``Idempotency-Key``: the same key returns the
            document the first request made.

    Returns:
        The document as stored, and whether this call created it.

    Raises:
        PermissionDenied: Another company, a role too low, or a lead not the user's.
        InvalidInput: A field unknown, not writable, missing or invalid.
        AlreadyExists: A document with the same derived id exists (a lead's e-mail).
    """
    authorize(staff, scope, spec.write)
    refuse_fixed_fields(body, _writable(spec, creating=True), _stored_names(spec))
    missing = {name: "required" for name in spec.required if name not in body}
    if missing:
        raise InvalidInput("Some required fields are missing.", {"fields": missing})
    assert spec.fields is not None
    fields = spec.fields.model_validate(body)
    if spec.under_lead:
        parent(store, staff, scope)
    data = fields.model_dump()
    doc_id = _new_id(spec, staff, data, idempotency_key)
    if spec.creator:
        return spec.creator(store, now, staff, scope, fields, doc_id)
    data |= {spec.id_field: doc_id, "company_id": scope.company_id}
    data |= {"lead_id": scope.lead_id} if spec.under_lead else {}
    data |= {"created_at": now, "created_by": staff.uid, "updated_at": now, "updated_by": staff.uid}
    data |= spec.derive(store, staff, scope, data) if spec.derive else {}
    path = f"{spec.collection(scope)}/{doc_id}"
    try:
        store.commit([Write(path, _checked(spec, data), "create")])
    except AlreadyExists:
        return _existing(store, staff, spec, path, idempotency_key), False
    log.info("%s %s created in %s by %s", spec.name, doc_id, scope.base, staff.uid)
    return view(spec, data), True


def _new_id(spec: ResourceSpec, staff: StaffIdentity, data: Data, key: str | None) -> str:
    if spec.new_id:
        return spec.new_id(data)
    return stable_id(staff.company_id, staff.uid, spec.name, key) if key else random_id()


def _existing(
    store: DocumentStore, staff: StaffIdentity, spec: ResourceSpec, path: str, key: str | None
) -> Data:
    """The document a create ran into: this caller's own earlier create, or a conflict."""
    found = store.get_all([path])[0].data
    if key and found is not None and found.get("created_by") == staff.uid:
        return view(spec, found)
    doc_id = path.rsplit("/", 1)[1]
    raise AlreadyExists(f"{spec.name}/{doc_id} exists already.", {"id": doc_id})


def update_item(
    store: DocumentStore,
    now: datetime,
    staff: StaffIdentity,
    spec: ResourceSpec,
    scope: Scope,
    item_id: str,
    body: Data,
) -> Data:
    """Change the fields ``body`` names, and only those.

    Raises:
        PermissionDenied: Another company, a role too low, a lead not the user's, or
            another author's note.
        InvalidInput: A field unknown, immutable or invalid, or a document it would
            leave invalid.
        NotFound: No such document.
    """
    authorize(staff, scope, spec.write)
    refuse_fixed_fields(body, _writable(spec, creating=False), _stored_names(spec))
    assert spec.fields is not None
    sent = spec.fields.model_validate(body)
    changes: Data = sent.model_dump(include=set(sent.model_fields_set))
    changes |= {"updated_at": now, "updated_by": staff.uid}

    def run(tx: Transaction) -> Data:
        snaps = tx.get_all(item_paths(spec, scope, item_id))
        current = check_item(staff, spec, snaps)
        if spec.write_guard:
            spec.write_guard(staff, current)
        merged = current | changes
        derived = spec.derive(store, staff, scope, merged) if spec.derive else {}
        _checked(spec, merged | derived)
        tx.write(Write(snaps[-1].path, changes | derived, "update"))
        return merged | derived

    merged = store.run_transaction(run)
    log.info("%s %s updated (%s) by %s", spec.name, item_id, ", ".join(sorted(body)), staff.uid)
    return view(spec, merged)


def delete_item(
    store: DocumentStore, staff: StaffIdentity, spec: ResourceSpec, scope: Scope, item_id: str
) -> None:
    """Delete one document (a lead with its notes, interactions and assignments).

    Raises:
        PermissionDenied: Another company, a role too low, or another author's note.
        NotFound: No such document.
        Refused: The document may not be deleted (published content).
    """
    assert spec.delete is not None
    authorize(staff, scope, spec.delete)
    snaps = store.get_all(item_paths(spec, scope, item_id))
    current = check_item(staff, spec, snaps)
    for guard in (spec.write_guard, spec.deletable):
        if guard:
            guard(staff, current)
    path = snaps[-1].path
    if spec.name == "leads":
        _delete_children(store, path)
    store.commit([Write(path, {}, "delete")])
    log.info("%s %s deleted from %s by %s", spec.name, item_id, scope.base, staff.uid)


LEAD_CHILDREN = ("notes", "interactions", "assignments")
BATCH = 400  # below Firestore's 500 writes per commit


def _delete_children(store: DocumentStore, lead: str) -> None:
    """A lead's notes, interactions and assignments go first (Firestore would keep them as
    orphans); a retry after a failure part-way finishes the job."""
    for kind in LEAD_CHILDREN:
        while True:
            batch = store.query(f"{lead}/{kind}", [], [], BATCH)
            if batch:
                store.commit([Write(s.path, {}, "delete") for s in batch])
            if len(batch) < BATCH:
                break
