"""Integration functions: ``integrations`` (staff REST, Firebase ID token) and
``refresh_social_tokens`` (Cloud Scheduler, every 15 minutes).

    integrations  /companies/{c}/integrations[/{id}]             managers read, admins write
                  /companies/{c}/social_connections[/{platform}] managers read, admins write
                  /companies/{c}/secrets[/{name}]                admins

GET lists (``sort``, ``limit``, ``cursor``, ``status``) and reads, POST creates (with an
optional ``Idempotency-Key``), PATCH changes the fields sent, DELETE removes. Secrets,
credentials and tokens are accepted in writes and never returned: responses say
``has_access_token``, ``has_credentials``, ``has_value``.
"""

from __future__ import annotations

import logging
from typing import Any

import flask
import functions_framework
from msgspec.structs import asdict

from functions._http import headers_of, idempotency_key, not_allowed, read_body, respond
from shared import bootstrap
from shared.adapters.auth import verify_bearer
from shared.domain.common import is_document_id
from shared.domain.identity import StaffIdentity
from shared.domain.staff_api import Scope
from shared.errors import NotFound
from shared.events import scheduled_event
from shared.services import staff_api_writes as writes
from shared.services.integrations import resource_specs
from shared.services.integrations_refresh import refresh_due_tokens
from shared.services.staff_api import ResourceSpec, get_item, list_items
from shared.settings import get_settings

log = logging.getLogger("growthkit.integrations")
Result = tuple[Any, int] | flask.Response
RESOURCES = ("integrations", "social_connections", "secrets")


def _route(path: str) -> tuple[str, str, str | None]:
    """(company, resource, item id) of ``/companies/{c}/{resource}[/{id}]``."""
    parts = [p for p in path.split("/") if p]
    ok = len(parts) in (3, 4) and parts[0] == "companies" and parts[2] in RESOURCES
    if not ok or not all(is_document_id(p) and len(p) <= 128 for p in parts):
        raise NotFound(f"Use /companies/{{companyId}}/{{{'|'.join(RESOURCES)}}}[/{{id}}].")
    return parts[1], parts[2], parts[3] if len(parts) == 4 else None


def _spec(resource: str) -> ResourceSpec:
    from shared.adapters.crypto import cipher

    return resource_specs(cipher())[resource]


def _collection(
    request: flask.Request, staff: StaffIdentity, spec: ResourceSpec, scope: Scope
) -> Result:
    store = bootstrap.document_store()
    if request.method == "GET":
        page = list_items(store, staff, spec, scope, request.args.to_dict())
        return {"items": page.items, "next_cursor": page.next_cursor}, 200
    if request.method != "POST":
        return not_allowed(("GET", "POST"))
    body = read_body(request, get_settings().max_body_bytes)
    now = bootstrap.clock.now()
    item, created = writes.create_item(
        store, now, staff, spec, scope, body, idempotency_key(request)
    )
    return item, 201 if created else 200


def _item(
    request: flask.Request, staff: StaffIdentity, spec: ResourceSpec, scope: Scope, item_id: str
) -> Result:
    store = bootstrap.document_store()
    if request.method == "GET":
        return get_item(store, staff, spec, scope, item_id), 200
    if request.method == "PATCH":
        body = read_body(request, get_settings().max_body_bytes)
        now = bootstrap.clock.now()
        return writes.update_item(store, now, staff, spec, scope, item_id, body), 200
    if request.method == "DELETE":
        writes.delete_item(store, staff, spec, scope, item_id)
        return flask.Response(status=204)
    return not_allowed(("GET", "PATCH", "DELETE"))


def _integrations(request: flask.Request) -> Result:
    staff = verify_bearer(request.headers.get("Authorization"))
    company_id, resource, item_id = _route(request.path)
    # Another company's data is refused before anything about it is looked at.
    staff.require_company(company_id)
    spec, scope = _spec(resource), Scope(company_id)
    if item_id is None:
        return _collection(request, staff, spec, scope)
    return _item(request, staff, spec, scope, item_id)


@functions_framework.http
def integrations(request: flask.Request) -> flask.Response:
    """Integrations, social connections and named secrets, for staff; secrets sealed."""
    return respond(lambda: _integrations(request))


def _refresh(request: flask.Request) -> tuple[dict[str, Any], int]:
    from shared.adapters.crypto import cipher
    from shared.adapters.token_refresher import token_refresher

    # The run works as of now (a retried run must still see what is due now); the
    # Scheduler headers are checked and name the run in the logs.
    now = bootstrap.clock.now()
    event = scheduled_event(headers_of(request), now)
    log.info("token refresh run %s", event.run_key)
    result = refresh_due_tokens(bootstrap.document_store(), cipher(), token_refresher(), now)
    return asdict(result), 200


@functions_framework.http
def refresh_social_tokens(request: flask.Request) -> flask.Response:
    """Refresh social tokens before they expire; mark refused ones expired (Cloud
    Scheduler, every 15 minutes; a repeated run only sees what is still due)."""
    return respond(lambda: _refresh(request))
