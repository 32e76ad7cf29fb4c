"""Managing workflows: staff create, update, read and list them, and enrol leads by hand.

Definitions are validated on save (``parse_definition``: every error with its path). An
update replaces the definition and bumps ``version``; enrolments under way keep the copy
they started with. ``expected_version`` makes concurrent edits by two staff members a 409
instead of a lost update.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from shared.domain.common import is_document_id, random_id
from shared.domain.identity import Role, StaffIdentity, lead_guard, sees_every_lead
from shared.domain.leads import lead_path
from shared.errors import AlreadyExists, InvalidInput, NotFound, Refused
from shared.ports import DocumentStore, Filter, Snapshot, TaskQueue, Transaction, Write
from shared.workflows.domain.definition import (
    Workflow,
    WorkflowDefinition,
    WorkflowStatus,
    workflow_path,
    workflows_collection,
)
from shared.workflows.domain.runtime import Execution, execution_path
from shared.workflows.domain.triggers import next_fire
from shared.workflows.domain.validation import parse_definition
from shared.workflows.services.enrolment import Enrolment, enrol

log = logging.getLogger("growthkit.workflows")

LIST_LIMIT = 200


def workflow_from(snap: Snapshot) -> Workflow:
    """A stored workflow (its id and company from its path)."""
    parts = snap.path.split("/")
    return Workflow.model_validate({**(snap.data or {}), "id": parts[3], "company_id": parts[1]})


def _stored(workflow: Workflow) -> dict[str, Any]:
    return workflow.model_dump(by_alias=True)


def create_workflow(
    store: DocumentStore,
    now: datetime,
    staff: StaffIdentity,
    raw: dict[str, Any],
    workflow_id: str | None = None,
    *,
    allow_loopback: bool = False,
) -> Workflow:
    """Validate and store a new workflow.

    Args:
        store: The document store.
        now: The creation time.
        staff: The caller; needs the manager role.
        raw: The definition as sent (``name``, ``trigger``, ``steps``, ``goals``...).
        workflow_id: An id of the caller's choosing (default: a random one).
        allow_loopback: Webhook steps may call this machine (local receivers only).

    Returns:
        The stored workflow, version 1.

    Raises:
        PermissionDenied: below manager. InvalidInput: the definition, by path.
        AlreadyExists: a workflow with that id exists.
    """
    staff.require_role(Role.MANAGER)
    definition = parse_definition(raw, allow_loopback=allow_loopback)
    workflow = _workflow(definition, staff, workflow_id or random_id(), 1, now, now)
    try:
        store.commit(
            [Write(workflow_path(staff.company_id, workflow.id), _stored(workflow), "create")]
        )
    except AlreadyExists as err:
        raise AlreadyExists(f"A workflow with id {workflow.id!r} exists; update it.") from err
    log.info("workflow %s created for %s by %s", workflow.id, staff.company_id, staff.uid)
    return workflow


def _workflow(
    definition: WorkflowDefinition,
    staff: StaffIdentity,
    workflow_id: str,
    version: int,
    created_at: datetime,
    now: datetime,
    created_by: str | None = None,
    fired_at: datetime | None = None,
) -> Workflow:
    # A schedule fires at its cron's times after creation, or after its last fire.
    since = max(created_at, fired_at) if fired_at else created_at
    try:
        return Workflow.model_validate(
            {
                **definition.model_dump(by_alias=True),
                "id": workflow_id,
                "company_id": staff.company_id,
                "version": version,
                "created_by": created_by or staff.uid,
                "created_at": created_at,
                "updated_at": now,
                "schedule_fired_at": fired_at,
                "next_fire_at": next_fire(definition.trigger, since),
            }
        )
    except ValidationError as err:  # only the id can still be wrong here
        raise InvalidInput(f"Invalid workflow id {workflow_id!r}.") from err


def update_workflow(
    store: DocumentStore,
    now: datetime,
    staff: StaffIdentity,
    workflow_id: str,
    raw: dict[str, Any],
    expected_version: int | None = None,
    *,
    allow_loopback: bool = False,
) -> Workflow:
    """Replace a workflow's definition (validated like a new one, ``allow_loopback``
    too) and bump its version.

    Raises:
        PermissionDenied: below manager. InvalidInput: the definition, by path.
        NotFound: no such workflow. Refused: ``expected_version`` is not the stored one.
    """
    staff.require_role(Role.MANAGER)
    definition = parse_definition(raw, allow_loopback=allow_loopback)

    def update(tx: Transaction) -> Workflow:
        snap = tx.get(workflow_path(staff.company_id, workflow_id))
        if snap.data is None:
            raise NotFound(f"Unknown workflow {workflow_id}.")
        current = workflow_from(snap)
        if expected_version is not None and expected_version != current.version:
            raise Refused(
                f"The workflow is at version {current.version}, not {expected_version}.",
                {"version": current.version},
            )
        created = current.created_at or now
        updated = _workflow(
            definition,
            staff,
            workflow_id,
            current.version + 1,
            created,
            now,
            current.created_by,
            current.schedule_fired_at,
        )
        tx.write(Write(snap.path, _stored(updated), "set"))
        return updated

    workflow = store.run_transaction(update)
    log.info("workflow %s updated to version %d by %s", workflow_id, workflow.version, staff.uid)
    return workflow


def _known(item_id: str, kind: str) -> None:
    """An id from a request that no document can have ("/", "..", "__x__", too long) is
    unknown, before it gets into a document path (which would be a bad path, not a 404)."""
    if not is_document_id(item_id) or len(item_id) > 200:
        raise NotFound(f"Unknown {kind} {item_id[:50]!r}.")


def get_workflow(store: DocumentStore, staff: StaffIdentity, workflow_id: str) -> Workflow:
    """Raises ``NotFound`` for an unknown workflow (of the caller's company)."""
    _known(workflow_id, "workflow")
    snap = store.get_all([workflow_path(staff.company_id, workflow_id)])[0]
    if snap.data is None:
        raise NotFound(f"Unknown workflow {workflow_id}.")
    return workflow_from(snap)


def get_execution(store: DocumentStore, staff: StaffIdentity, execution_id: str) -> Execution:
    """An enrolment with its step records; ``NotFound`` when unknown, ``PermissionDenied``
    for a user when its lead is not assigned to them."""
    _known(execution_id, "enrolment")
    snap = store.get_all([execution_path(staff.company_id, execution_id)])[0]
    if snap.data is None:
        raise NotFound(f"Unknown enrolment {execution_id}.")
    execution = Execution.model_validate(snap.data)
    if not sees_every_lead(staff):
        lead = store.get_all([lead_path(staff.company_id, execution.lead_id)])[0]
        lead_guard(staff, lead.data)
    return execution


def list_workflows(
    store: DocumentStore, staff: StaffIdentity, status: WorkflowStatus | None = None
) -> list[Workflow]:
    """The company's workflows (optionally of one status), by name."""
    filters = [Filter("status", "==", status.value)] if status else []
    snaps = store.query(workflows_collection(staff.company_id), filters, limit=LIST_LIMIT)
    return sorted((workflow_from(s) for s in snaps), key=lambda w: (w.name.lower(), w.id))


def enrol_manually(
    store: DocumentStore,
    queue: TaskQueue,
    now: datetime,
    staff: StaffIdentity,
    workflow_id: str,
    lead_id: str,
) -> Enrolment:
    """Enrol a lead by hand (any workflow, whatever its trigger; its conditions are the
    caller's judgement).

    Returns:
        The new enrolment.

    Raises:
        NotFound: unknown workflow or lead. Refused: the workflow is inactive, or the
            lead was enrolled before (without re-enrolment) or still is.
        PermissionDenied: a user enrolling a lead not assigned to them.
    """
    workflow = get_workflow(store, staff, workflow_id)
    if workflow.status != WorkflowStatus.ACTIVE:
        raise Refused(f"Workflow {workflow_id} is inactive; activate it to enrol leads.")
    _known(lead_id, "lead")
    lead = store.get_all([lead_path(staff.company_id, lead_id)])[0]
    lead_guard(staff, lead.data)
    if lead.data is None:
        raise NotFound(f"Unknown lead {lead_id}.")
    result = enrol(
        store,
        queue,
        now,
        workflow=workflow,
        lead_id=lead_id,
        enrolled_by=f"manual:{staff.uid}",
        cause=f"manual:{staff.uid}:{now.isoformat()}",
    )
    if result.outcome == "enrolled":
        return result
    why = (
        "was already enrolled and the workflow does not allow re-enrolment"
        if result.outcome == "already enrolled"
        else "is still enrolled"
    )
    raise Refused(f"Lead {lead_id} {why}.", {"execution_id": result.execution_id})
