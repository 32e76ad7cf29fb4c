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

from typing import Any

import flask
from msgspec.structs import asdict

from functions import https_fn, scheduler_fn
from functions._http import MethodNotAllowed
from functions.https_fn import Request, Result
from shared.domain.common import is_document_id
from shared.domain.identity import StaffIdentity
from shared.errors import NotFound
from shared.services.integrations import resource_specs
from shared.staff_api.domain.lists import Scope
from shared.staff_api.services import writes
from shared.staff_api.services.resources import ResourceSpec, get_item, list_items

RESOURCES = ("integrations", "social_connections", "secrets")


def _route(path: str) -> tuple[str, str, str | None]:
    """(company, resource, item id) of ``/companies/{c}/{resource}[/{id}]``."""
    parts = [p for p in path.split("/") if p]
    ok = len(parts) in (3, 4) and parts[0] == "companies" and parts[2] in RESOURCES
    if not ok or not all(is_document_id(p) and len(p) <= 128 for p in parts):
        raise NotFound(f"Use /companies/{{companyId}}/{{{'|'.join(RESOURCES)}}}[/{{id}}].")
    return parts[1], parts[2], parts[3] if len(parts) == 4 else None


def _spec(resource: str, allow_loopback: bool) -> ResourceSpec:
    from shared.adapters.crypto import cipher

    return resource_specs(cipher(), allow_loopback=allow_loopback)[resource]


def _collection(req: Request, staff: StaffIdentity, spec: ResourceSpec, scope: Scope) -> Result:
    if req.method == "GET":
        page = list_items(req.store, staff, spec, scope, req.args.to_dict())
        return {"items": page.items, "next_cursor": page.next_cursor}, 200
    if req.method != "POST":
        raise MethodNotAllowed(("GET", "POST"))
    item, created = writes.create_item(
        req.store, req.now(), staff, spec, scope, req.body(), req.idempotency_key()
    )
    return item, 201 if created else 200


def _item(
    req: Request, staff: StaffIdentity, spec: ResourceSpec, scope: Scope, item: str
) -> Result:
    if req.method == "GET":
        return get_item(req.store, staff, spec, scope, item), 200
    if req.method == "PATCH":
        return writes.update_item(req.store, req.now(), staff, spec, scope, item, req.body()), 200
    if req.method == "DELETE":
        writes.delete_item(req.store, staff, spec, scope, item)
        return flask.Response(status=204)
    raise MethodNotAllowed(("GET", "PATCH", "DELETE"))


@https_fn.on_request(methods=("GET", "POST", "PATCH", "DELETE"), secrets=("GROWTHKIT_SECRETS_KEY",))
def integrations(req: Request) -> Result:
    """Integrations, social connections and named secrets, for staff; secrets sealed."""
    staff = req.staff()
    company_id, resource, item_id = _route(req.path)
    # Another company's data is refused before anything about it is looked at.
    staff.require_company(company_id)
    spec = _spec(resource, req.settings.webhooks_allow_loopback)
    scope = Scope(company_id)
    if item_id is None:
        return _collection(req, staff, spec, scope)
    return _item(req, staff, spec, scope, item_id)


# Its companies' tasks (run_task) open the tokens and call the platforms, not this.
@scheduler_fn.on_schedule(schedule="*/15 * * * *")
def refresh_social_tokens(
    event: scheduler_fn.ScheduledEvent, ctx: scheduler_fn.Context
) -> dict[str, Any]:
    """Refresh social tokens before they expire; mark refused ones expired (Cloud
    Scheduler, every 15 minutes): one task per company with connections due, a page of
    companies per invocation (a repeated run only sees what is still due)."""
    from shared.services.periodic import fan_out

    return asdict(fan_out(ctx.store, ctx.queue, ctx.now(), event, ctx.name))
