"""The staff REST API: ``staff_api`` for the company and its resources, ``company_users``
for its staff. Both take a Firebase ID token and a path naming the company:

    staff_api      /companies/{c}                          GET, PATCH (admin)
                   /companies/{c}/{resource}[/{id}]        GET (list), POST | GET, PATCH, DELETE
                   /companies/{c}/leads/{id}/{sub}[/{id}]  notes, interactions, assignments
    company_users  /companies/{c}/users[/{uid}|/me]        GET, POST (invite) | GET, PATCH, DELETE
                   /companies/{c}/users/me/session         POST (the app reports a sign-in)

Lists take ``sort`` (``-field`` descending), ``limit``, ``cursor`` and filters; a POST may
carry an ``Idempotency-Key`` header.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import flask
import functions_framework
from msgspec import Struct

from functions._http import idempotency_key, not_allowed, read_body, respond
from shared import bootstrap
from shared.adapters.auth import verify_bearer, verify_token
from shared.domain.identity import StaffIdentity, identity_from_claims, signed_in_from_claims
from shared.domain.staff_api import Scope
from shared.errors import NotFound
from shared.services import staff_api_writes as writes
from shared.services.staff_api import ResourceSpec, get_item, list_items
from shared.services.staff_api_resources import RESOURCES
from shared.settings import get_settings

if TYPE_CHECKING:
    from shared.services import users

Result = tuple[Any, int] | flask.Response
_SEGMENT = re.compile(r"^(?!\.\.?$)(?!__.*__$)[^/]{1,128}$")


class Route(Struct, frozen=True):
    company_id: str
    resource: str | None = None
    item_id: str | None = None
    lead_id: str = ""


def parse_route(path: str) -> Route:
    """``/companies/{c}/...`` as a route; 404 for any other shape."""
    parts = [p for p in path.split("/") if p]
    if len(parts) < 2 or parts[0] != "companies" or not all(map(_SEGMENT.match, parts)):
        raise NotFound("Use /companies/{companyId}/{resource}[/{id}].")
    c, rest = parts[1], parts[2:]
    if len(rest) >= 3 and rest[0] == "leads":  # a lead's notes, interactions, assignments
        return Route(c, rest[2], rest[3] if len(rest) == 4 else None, rest[1])
    if len(rest) > 2:
        raise NotFound("No such path.")
    return Route(c, rest[0] if rest else None, rest[1] if len(rest) == 2 else None)


def _body(request: flask.Request) -> dict[str, Any]:
    return read_body(request, get_settings().max_body_bytes)


def _resource(request: flask.Request, staff: StaffIdentity, route: Route) -> Result:
    spec = RESOURCES.get(route.resource or "")
    if spec is None or spec.under_lead != bool(route.lead_id):
        raise NotFound(f"No resource {route.resource!r} here.")
    allowed = spec.methods(item=route.item_id is not None)
    if request.method not in allowed:
        return not_allowed(allowed, spec.writes_elsewhere)
    scope = Scope(route.company_id, route.lead_id)
    if route.item_id is None:
        return _collection(request, staff, spec, scope)
    return _item(request, staff, spec, scope, route.item_id)


def _collection(
    request: flask.Request, staff: StaffIdentity, spec: ResourceSpec, scope: Scope
) -> Result:
    store = bootstrap.document_store()
    if request.method == "GET":
        page = list_items(store, staff, spec, scope, request.args.to_dict())
        return {"items": page.items, "next_cursor": page.next_cursor}, 200
    now = bootstrap.clock.now()
    item, created = writes.create_item(
        store, now, staff, spec, scope, _body(request), idempotency_key(request)
    )
    return item, 201 if created else 200


def _item(
    request: flask.Request, staff: StaffIdentity, spec: ResourceSpec, scope: Scope, item_id: str
) -> Result:
    store = bootstrap.document_store()
    if request.method == "GET":
        return get_item(store, staff, spec, scope, item_id), 200
    if request.method == "PATCH":
        now = bootstrap.clock.now()
        return writes.update_item(store, now, staff, spec, scope, item_id, _body(request)), 200
    writes.delete_item(store, staff, spec, scope, item_id)
    return flask.Response(status=204)


def _company(request: flask.Request, staff: StaffIdentity, company_id: str) -> Result:
    # Imported here, as users is in company_users: the two functions share this area, and
    # staff_api's usual first request (a lead list) needs neither the company's editing
    # rules nor staff accounts on its cold start.
    from shared.services import staff_api_company as company

    store = bootstrap.document_store()
    if request.method == "GET":
        return company.get_company(store, staff, company_id), 200
    if request.method == "PATCH":
        now = bootstrap.clock.now()
        return company.update_company(store, now, staff, company_id, _body(request)), 200
    return not_allowed(("GET", "PATCH"))


def _staff_api(request: flask.Request) -> Result:
    staff = verify_bearer(request.headers.get("Authorization"))
    route = parse_route(request.path)
    # Another company's data is refused before anything about it is looked at.
    staff.require_company(route.company_id)
    if route.resource is None:
        return _company(request, staff, route.company_id)
    if route.resource == "users" and not route.lead_id:
        raise NotFound("Staff are served by the company_users function.")
    return _resource(request, staff, route)


@functions_framework.http
def staff_api(request: flask.Request) -> flask.Response:
    """The company and its leads, notes, interactions, assignments, content, campaigns,
    reviews and referrals, as REST resources for staff."""
    return respond(lambda: _staff_api(request))


def _users_item(request: flask.Request, staff: StaffIdentity, c: str, uid: str) -> Result:
    from shared.services import users

    store, admin = bootstrap.document_store(), _user_admin()
    if request.method == "GET":
        return get_item(store, staff, users.USERS, Scope(c), uid), 200
    if request.method == "PATCH":
        now = bootstrap.clock.now()
        return users.update_user(store, admin, now, staff, c, uid, _body(request)), 200
    if request.method == "DELETE":
        users.remove_user(store, admin, staff, c, uid)
        return flask.Response(status=204)
    return not_allowed(("GET", "PATCH", "DELETE"))


def _user_admin() -> users.UserAdmin:
    from shared.adapters.user_admin import user_admin

    return user_admin()


def _session(request: flask.Request, parts: list[str]) -> Result:
    """``POST .../users/me/session``: staff record a sign-in; an invitee whose token has no
    company yet takes up their pending invitation."""
    from shared.services import users

    if request.method != "POST":
        return not_allowed(("POST",))
    claims = verify_token(request.headers.get("Authorization"))
    route = parse_route("/".join(parts))
    store, now = bootstrap.document_store(), bootstrap.clock.now()
    if "company_id" not in claims:
        caller = signed_in_from_claims(claims)
        return users.accept_invitation(store, _user_admin(), now, caller, route.company_id), 200
    staff = identity_from_claims(claims)
    staff.require_company(route.company_id)
    return users.record_sign_in(store, now, staff, route.company_id), 200


def _company_users(request: flask.Request) -> Result:
    from shared.services import users

    parts = [p for p in request.path.split("/") if p]
    if parts[-2:] == ["me", "session"]:
        return _session(request, parts[:-1])
    staff = verify_bearer(request.headers.get("Authorization"))
    route = parse_route("/".join(parts))
    staff.require_company(route.company_id)
    if route.resource != "users" or route.lead_id:
        raise NotFound("Use /companies/{companyId}/users[/{uid}].")
    c = route.company_id
    if route.item_id is not None:
        uid = staff.uid if route.item_id == "me" else route.item_id
        return _users_item(request, staff, c, uid)
    store = bootstrap.document_store()
    if request.method == "GET":
        page = list_items(store, staff, users.USERS, Scope(c), request.args.to_dict())
        return {"items": page.items, "next_cursor": page.next_cursor}, 200
    if request.method == "POST":
        now = bootstrap.clock.now()
        admin, messenger = _user_admin(), bootstrap.messenger()
        invited, created = users.invite_user(store, admin, messenger, now, staff, c, _body(request))
        return invited, 201 if created else 200
    return not_allowed(("GET", "POST"))


@functions_framework.http
def company_users(request: flask.Request) -> flask.Response:
    """Staff of a company: admins invite them (setting their Firebase Auth claims), change
    roles and remove them; everyone reads the team and edits their own profile."""
    return respond(lambda: _company_users(request))
