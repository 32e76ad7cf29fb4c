"""``workflows``: staff manage nurture workflows over HTTP. What runs them is elsewhere, each
its own area so a cold start loads only its part: the triggers that enrol leads and end
enrolments, and the schedule that fires schedule-triggered workflows
(functions/workflow_triggers.py); engagement scoring and its decay
(functions/engagement.py)."""

from __future__ import annotations

from typing import Any

from functions import https_fn
from functions.https_fn import Request, Result
from shared.domain.identity import StaffIdentity
from shared.errors import InvalidInput
from shared.staff_api.domain.lists import refuse_unknown_parameters
from shared.workflows.domain.definition import Workflow, WorkflowRequest, WorkflowStatus
from shared.workflows.domain.runtime import Execution
from shared.workflows.services import manage as service


def _view(workflow: Workflow) -> dict[str, Any]:
    return workflow.model_dump(mode="json", by_alias=True)


def _execution_view(execution: Execution) -> dict[str, Any]:
    return execution.model_dump(mode="json", exclude={"definition"})


def _get(req: Request, staff: StaffIdentity) -> tuple[Any, int]:
    staff.require_company(req.args.get("company_id") or staff.company_id)
    refuse_unknown_parameters(req.args, ("company_id", "execution_id", "id", "status"))
    if execution_id := req.args.get("execution_id"):
        execution = service.get_execution(req.store, staff, execution_id)
        return {"execution": _execution_view(execution)}, 200
    if workflow_id := req.args.get("id"):
        return {"workflow": _view(service.get_workflow(req.store, staff, workflow_id))}, 200
    raw_status = req.args.get("status")
    try:
        status = WorkflowStatus(raw_status) if raw_status else None
    except ValueError as err:
        raise InvalidInput(f"Unknown status {raw_status!r}; use active or inactive.") from err
    found = service.list_workflows(req.store, staff, status)
    return {"workflows": [_view(w) for w in found]}, 200


def _post(req: Request, staff: StaffIdentity) -> tuple[Any, int]:
    asked = WorkflowRequest.model_validate(req.body())
    staff.require_company(asked.company_id or staff.company_id)
    store, now = req.store, req.now()
    loopback = req.settings.webhooks_allow_loopback
    if asked.action == "create":
        raw = asked.workflow or {}
        created = service.create_workflow(store, now, staff, raw, asked.id, allow_loopback=loopback)
        return {"workflow": _view(created)}, 201
    if asked.action == "update":
        workflow_id, raw, version = asked.id or "", asked.workflow or {}, asked.expected_version
        updated = service.update_workflow(
            store, now, staff, workflow_id, raw, version, allow_loopback=loopback
        )
        return {"workflow": _view(updated)}, 200
    enrolment = service.enrol_manually(
        store, req.queue, now, staff, asked.id or "", asked.lead_id or ""
    )
    body = {"execution_id": enrolment.execution_id, "run": enrolment.run}
    return {"enrolment": {**body, "workflow_id": asked.id, "lead_id": asked.lead_id}}, 201


@https_fn.on_request(methods=("GET", "POST"))
def workflows(req: Request) -> Result:
    """Staff: GET lists (``?status=``) or reads one (``?id=``, ``?execution_id=``); POST
    ``{"workflow": {...}}`` creates (201), ``{"action": "update", "id", "workflow",
    "expected_version"?}`` updates, ``{"action": "enrol", "id", "lead_id"}`` enrols a
    lead by hand (201; 409 when already enrolled). Invalid definitions are a 400 naming
    each error's path, e.g. ``steps[3].branch.else``."""
    staff = req.staff()
    return _get(req, staff) if req.method == "GET" else _post(req, staff)
