"""``workflows``: staff manage nurture workflows over HTTP. What runs them is elsewhere, each
its own area so a cold start loads only its part: the triggers that enrol leads and end
enrolments, and the schedule that fires schedule-triggered workflows
(functions/workflow_triggers.py); engagement scoring and its decay
(functions/engagement.py)."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework

from functions._http import read_body, respond
from shared import bootstrap
from shared.adapters.auth import verify_bearer
from shared.domain.identity import StaffIdentity
from shared.domain.workflows import Workflow, WorkflowRequest, WorkflowStatus
from shared.domain.workflows_runtime import Execution
from shared.errors import InvalidInput
from shared.services import workflows as service
from shared.settings import get_settings

_NOT_ALLOWED = {"error": {"code": "method-not-allowed", "message": "Use GET or POST."}}


def _view(workflow: Workflow) -> dict[str, Any]:
    return workflow.model_dump(mode="json", by_alias=True)


def _execution_view(execution: Execution) -> dict[str, Any]:
    return execution.model_dump(mode="json", exclude={"definition"})


def _get(request: flask.Request, staff: StaffIdentity) -> tuple[Any, int]:
    store = bootstrap.document_store()
    staff.require_company(request.args.get("company_id") or staff.company_id)
    if execution_id := request.args.get("execution_id"):
        return {
            "execution": _execution_view(service.get_execution(store, staff, execution_id))
        }, 200
    if workflow_id := request.args.get("id"):
        return {"workflow": _view(service.get_workflow(store, staff, workflow_id))}, 200
    raw_status = request.args.get("status")
    try:
        status = WorkflowStatus(raw_status) if raw_status else None
    except ValueError as err:
        raise InvalidInput(f"Unknown status {raw_status!r}; use active or inactive.") from err
    return {"workflows": [_view(w) for w in service.list_workflows(store, staff, status)]}, 200


def _post(request: flask.Request, staff: StaffIdentity) -> tuple[Any, int]:
    settings = get_settings()
    req = WorkflowRequest.model_validate(read_body(request, settings.max_body_bytes))
    staff.require_company(req.company_id or staff.company_id)
    store, now = bootstrap.document_store(), bootstrap.clock.now()
    loopback = settings.webhooks_allow_loopback
    if req.action == "create":
        raw = req.workflow or {}
        created = service.create_workflow(store, now, staff, raw, req.id, allow_loopback=loopback)
        return {"workflow": _view(created)}, 201
    if req.action == "update":
        workflow_id, raw, version = req.id or "", req.workflow or {}, req.expected_version
        updated = service.update_workflow(
            store, now, staff, workflow_id, raw, version, allow_loopback=loopback
        )
        return {"workflow": _view(updated)}, 200
    queue = bootstrap.task_queue()
    enrolment = service.enrol_manually(store, queue, now, staff, req.id or "", req.lead_id or "")
    body = {"execution_id": enrolment.execution_id, "run": enrolment.run}
    return {"enrolment": {**body, "workflow_id": req.id, "lead_id": req.lead_id}}, 201


def _workflows(request: flask.Request) -> tuple[Any, int]:
    staff = verify_bearer(request.headers.get("Authorization"))
    if request.method == "GET":
        return _get(request, staff)
    if request.method == "POST":
        return _post(request, staff)
    return _NOT_ALLOWED, 405


@functions_framework.http
def workflows(request: flask.Request) -> flask.Response:
    """Staff: GET lists (``?status=``) or reads one (``?id=``, ``?execution_id=``); POST
    ``{"workflow": {...}}`` creates (201), ``{"action": "update", "id", "workflow",
    "expected_version"?}`` updates, ``{"action": "enrol", "id", "lead_id"}`` enrols a
    lead by hand (201; 409 when already enrolled). Invalid definitions are a 400 naming
    each error's path, e.g. ``steps[3].branch.else``."""
    return respond(lambda: _workflows(request))
