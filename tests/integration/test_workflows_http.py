"""The staff ``workflows`` function through functions-framework, real ID tokens and the
local Firestore: create, validate with error paths, read, list, update with versions,
enrol by hand (once, unless re-enrolment is allowed) and read an enrolment back."""

from __future__ import annotations

from typing import Any

import pytest

from shared.workflows.domain.runtime import registry_path
from tests.fakes import FakeTaskQueue
from tests.support import seed_company

LEAD = "companies/acme/leads/l1"
EMAIL = {"type": "send_email", "subject": "Hi {first_name}", "body": "Welcome"}
WORKFLOW = {"name": "Welcome", "trigger": {"type": "lead_created"}, "steps": [EMAIL]}


@pytest.fixture
def api(db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any) -> Any:
    """``api(method, body_or_query, role=, company=)`` -> (status, json) as acme staff."""
    seed_company(db)
    # Assigned to the uid of staff_auth's tokens, so a user may enrol it.
    lead = {"email": "jane@example.com", "name": "Jane", "status": "new", "assigned_to": "user-1"}
    db.document(LEAD).set(lead)
    client = function_client("workflows")

    def call(
        method: str, payload: dict[str, Any], role: str = "manager", company: str = "acme"
    ) -> tuple[int, Any]:
        headers = staff_auth(company, role)
        if method == "GET":
            res = client.get("/", query_string=payload, headers=headers)
        else:
            res = client.open("/", method=method, json=payload, headers=headers)
        return res.status_code, res.get_json()

    return call


def test_create_read_and_list(api: Any) -> None:
    """201 with defaults and version 1; readable by id and listed by status."""
    status, body = api("POST", {"id": "welcome", "workflow": WORKFLOW})
    assert (201, "active", 1, "step-1") == (
        status,
        body["workflow"]["status"],
        body["workflow"]["version"],
        body["workflow"]["steps"][0]["id"],
    )
    api("POST", {"id": "paused", "workflow": {**WORKFLOW, "name": "Paused", "status": "inactive"}})
    assert (200, "Welcome") == (
        api("GET", {"id": "welcome"})[0],
        api("GET", {"id": "welcome"})[1]["workflow"]["name"],
    )
    listed = api("GET", {"status": "active"}, role="user")[1]["workflows"]
    assert ["welcome"] == [w["id"] for w in listed]
    assert ["paused", "welcome"] == [w["id"] for w in api("GET", {})[1]["workflows"]]


def test_invalid_definitions_are_400_with_the_paths_of_the_errors(api: Any) -> None:
    """A branch to a missing step and an unknown step type, named by path."""
    branch = {
        "type": "branch",
        "branch": {"condition": {"field": "status"}, "then": "end", "else": "gone"},
    }
    steps = [EMAIL, {"type": "wait", "duration": {"hours": 1}}, EMAIL, branch]
    status, body = api("POST", {"workflow": {**WORKFLOW, "steps": steps}})
    assert (400, "invalid-argument") == (status, body["error"]["code"])
    assert {"steps[3].branch.else": "no step 'gone'"} == body["error"]["details"]["fields"]
    assert "steps[3].branch.else" in body["error"]["message"]
    status, body = api("POST", {"workflow": {**WORKFLOW, "steps": [{"type": "teleport"}]}})
    assert (400, ["steps[0].type"]) == (status, list(body["error"]["details"]["fields"]))
    status, body = api("POST", {"action": "update", "workflow": WORKFLOW})
    assert (400, "Some fields are invalid.") == (status, body["error"]["message"])


def test_updates_bump_the_version_and_refuse_stale_edits(api: Any) -> None:
    """An update replaces the definition (version 2); an edit based on version 1 is 409."""
    api("POST", {"id": "welcome", "workflow": WORKFLOW})
    renamed = {**WORKFLOW, "name": "Welcome v2"}
    status, body = api(
        "POST", {"action": "update", "id": "welcome", "workflow": renamed, "expected_version": 1}
    )
    assert (200, 2, "Welcome v2") == (status, body["workflow"]["version"], body["workflow"]["name"])
    stale = api(
        "POST", {"action": "update", "id": "welcome", "workflow": WORKFLOW, "expected_version": 1}
    )
    assert (409, {"version": 2}) == (stale[0], stale[1]["error"]["details"])
    assert 404 == api("POST", {"action": "update", "id": "nope", "workflow": WORKFLOW})[0]
    assert 409 == api("POST", {"id": "welcome", "workflow": WORKFLOW})[0]  # create again


def test_enrolment_by_hand_once_unless_re_enrolment_is_allowed(
    api: Any, db: Any, queue: FakeTaskQueue
) -> None:
    """201 and a first-step task; again: 409. With re-enrolment: 409 while the first run
    is active, then run 2 once it ended."""
    api("POST", {"id": "once", "workflow": WORKFLOW})
    status, body = api("POST", {"action": "enrol", "id": "once", "lead_id": "l1"}, role="user")
    assert (201, 1, 1) == (status, body["enrolment"]["run"], len(queue.tasks))
    again = api("POST", {"action": "enrol", "id": "once", "lead_id": "l1"})
    assert 409 == again[0]
    assert "does not allow re-enrolment" in again[1]["error"]["message"]
    api("POST", {"id": "repeat", "workflow": {**WORKFLOW, "allow_reenrolment": True}})
    first = api("POST", {"action": "enrol", "id": "repeat", "lead_id": "l1"})[1]["enrolment"]
    busy = api("POST", {"action": "enrol", "id": "repeat", "lead_id": "l1"})
    assert (409, "Lead l1 is still enrolled.") == (busy[0], busy[1]["error"]["message"])
    execution = f"companies/acme/workflow_executions/{first['execution_id']}"
    db.document(execution).update({"status": "completed"})
    db.document(registry_path("acme", "repeat", "l1")).update({"active": False})
    second = api("POST", {"action": "enrol", "id": "repeat", "lead_id": "l1"})
    assert (201, 2) == (second[0], second[1]["enrolment"]["run"])
    assert first["execution_id"] != second[1]["enrolment"]["execution_id"]


def test_reading_an_enrolment(api: Any) -> None:
    """The enrolment with its cursor, without the copied definition."""
    api("POST", {"id": "welcome", "workflow": WORKFLOW})
    enrolment = api("POST", {"action": "enrol", "id": "welcome", "lead_id": "l1"})[1]["enrolment"]
    status, body = api("GET", {"execution_id": enrolment["execution_id"]}, role="user")
    execution = body["execution"]
    assert (200, "active", "step-1", "welcome") == (
        status,
        execution["status"],
        execution["cursor"]["step_id"],
        execution["workflow_id"],
    )
    assert "definition" not in execution
    assert 404 == api("GET", {"execution_id": "nope"})[0]


@pytest.mark.parametrize(
    ("method", "payload", "role", "company", "expected"),
    [
        ("POST", {"workflow": WORKFLOW}, "user", "acme", 403),
        ("POST", {"workflow": WORKFLOW, "company_id": "other"}, "admin", "acme", 403),
        ("GET", {"company_id": "other"}, "admin", "acme", 403),
        ("POST", {"action": "enrol", "id": "welcome", "lead_id": "nobody"}, "manager", "acme", 404),
        # A user is not told whether a lead they may not see exists.
        ("POST", {"action": "enrol", "id": "welcome", "lead_id": "nobody"}, "user", "acme", 403),
        ("POST", {"action": "enrol", "id": "missing", "lead_id": "l1"}, "user", "acme", 404),
        ("GET", {"status": "sleeping"}, "user", "acme", 400),
        ("DELETE", {}, "admin", "acme", 405),
    ],
)
def test_refusals(
    api: Any, method: str, payload: dict[str, Any], role: str, company: str, expected: int
) -> None:
    """Roles, other companies, unknown leads or workflows, bad filters, bad methods."""
    assert 201 == api("POST", {"id": "welcome", "workflow": WORKFLOW})[0]
    status, body = api(method, payload, role=role, company=company)
    assert expected == status
    assert body["error"]["message"]


def test_inactive_workflows_enrol_nobody(api: Any) -> None:
    """Enrolling by hand in an inactive workflow is refused with a reason."""
    api("POST", {"id": "off", "workflow": {**WORKFLOW, "status": "inactive"}})
    status, body = api("POST", {"action": "enrol", "id": "off", "lead_id": "l1"})
    assert (409, "Workflow off is inactive; activate it to enrol leads.") == (
        status,
        body["error"]["message"],
    )


def test_no_token_is_401(
    db: Any, queue: FakeTaskQueue, function_client: Any, staff_auth: Any
) -> None:
    """Staff only."""
    assert 401 == function_client("workflows").get("/").status_code
