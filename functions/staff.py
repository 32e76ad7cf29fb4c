"""The staff REST API: ``staff_api`` for the company and its resources, ``company_users``
for its staff. Both take a Firebase ID token and a path naming the company:

    staff_api      /companies/{c}                          GET, PATCH (admin)
                   /companies/{c}/{resource}[/{id}]        GET (list), POST | GET, PATCH, DELETE
                   /companies/{c}/leads/{id}/{sub}[/{id}]  notes, interactions, assignments
                   /companies/{c}/posting_schedule         GET, PATCH (manager)
                   /companies/{c}/content/{id}/queue       POST (manager): the next free slot
                   /companies/{c}/spam_submissions/{id}/release  POST (managers)
    company_users  /companies/{c}/users[/{uid}|/me]        GET, POST (invite) | GET, PATCH, DELETE
                   /companies/{c}/users/me/session         POST (the app reports a sign-in)

Lists take ``sort`` (``-field`` descending), ``limit``, ``cursor`` and filters; a POST may
carry an ``Idempotency-Key`` header.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import flask
from msgspec import Struct

from functions import https_fn
from functions._http import MethodNotAllowed
from functions.https_fn import Request, Result
from shared.domain.identity import StaffIdentity
from shared.errors import NotFound
from shared.staff_api.domain.lists import Scope
from shared.staff_api.services import writes
from shared.staff_api.services.registry import RESOURCES
from shared.staff_api.services.resources import ResourceSpec, get_item, list_items, view

if TYPE_CHECKING:
    from shared.services import users

_SEGMENT = re.compile(r"^(?!\.\.?$)(?!__.*__$)[^/]{1,128}$")
METHODS = ("GET", "POST", "PATCH", "DELETE")


class Route(Struct, frozen=True):
    company_id: str
    resource: str | None = None
    item_id: str | None = None
    lead_id: str = ""
    action: str | None = None  # ``.../{resource}/{id}/{action}``: a POST that is no edit


# The actions on items, by resource and name.
ACTIONS = {("spam_submissions", "release")}


def parse_route(path: str) -> Route:
    """``/companies/{c}/...`` as a route; 404 for any other shape."""
    parts = [p for p in path.split("/") if p]
    if len(parts) < 2 or parts[0] != "companies" or not all(map(_SEGMENT.match, parts)):
        raise NotFound("Use /companies/{companyId}/{resource}[/{id}].")
    c, rest = parts[1], parts[2:]
    if len(rest) >= 3 and rest[0] == "leads":  # a lead's notes, interactions, assignments
        return Route(c, rest[2], rest[3] if len(rest) == 4 else None, rest[1])
    if len(rest) == 3 and (rest[0], rest[2]) in ACTIONS:
        return Route(c, rest[0], rest[1], action=rest[2])
    if len(rest) > 2:
        raise NotFound("No such path.")
    return Route(c, rest[0] if rest else None, rest[1] if len(rest) == 2 else None)


def _resource(req: Request, staff: StaffIdentity, route: Route) -> Result:
    spec = RESOURCES.get(route.resource or "")
    if spec is None or spec.under_lead != bool(route.lead_id):
        raise NotFound(f"No resource {route.resource!r} here.")
    allowed = ("POST",) if route.action else spec.methods(item=route.item_id is not None)
    if req.method not in allowed:
        raise MethodNotAllowed(allowed, None if route.action else spec.writes_elsewhere)
    scope = Scope(route.company_id, route.lead_id)
    if route.action is not None:
        return _action(req, staff, spec, route)
    if route.item_id is None:
        return _collection(req, staff, spec, scope)
    return _item(req, staff, spec, scope, route.item_id)


def _action(req: Request, staff: StaffIdentity, spec: ResourceSpec, route: Route) -> Result:
    """``POST .../spam_submissions/{id}/release``: the submission becomes a lead."""
    from shared.services.spam import release_spam

    assert route.item_id is not None  # parse_route makes actions of items only
    released = release_spam(req.store, req.now(), staff, route.company_id, route.item_id)
    return view(spec, released), 200


def _collection(req: Request, staff: StaffIdentity, spec: ResourceSpec, scope: Scope) -> Result:
    if req.method == "GET":
        page = list_items(req.store, staff, spec, scope, req.args.to_dict())
        return {"items": page.items, "next_cursor": page.next_cursor}, 200
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
    writes.delete_item(req.store, staff, spec, scope, item)
    return flask.Response(status=204)


def _company(req: Request, staff: StaffIdentity, company_id: str) -> Result:
    # Imported here, as users is in company_users: the two functions share this area, and
    # staff_api's usual first request (a lead list) needs neither the company's editing
    # rules nor staff accounts on its cold start.
    from shared.staff_api.services import company

    if req.method == "GET":
        return company.get_company(req.store, staff, company_id), 200
    if req.method == "PATCH":
        return company.update_company(req.store, req.now(), staff, company_id, req.body()), 200
    raise MethodNotAllowed(("GET", "PATCH"))


def _posting_schedule(req: Request, staff: StaffIdentity, company_id: str) -> Result:
    from shared.services import posting_queue

    if req.method == "GET":
        return posting_queue.get_schedule(req.store, staff, company_id), 200
    if req.method == "PATCH":
        body = req.body()
        return posting_queue.update_schedule(req.store, req.now(), staff, company_id, body), 200
    raise MethodNotAllowed(("GET", "PATCH"))


def _queue(req: Request, staff: StaffIdentity, parts: list[str]) -> Result:
    """``POST /companies/{c}/content/{id}/queue``: the content takes the next free slot."""
    from shared.services import posting_queue

    if req.method != "POST":
        raise MethodNotAllowed(("POST",))
    route = parse_route("/".join(parts[:-1]))
    staff.require_company(route.company_id)
    answer = posting_queue.add_to_queue(
        req.store,
        req.queue,
        req.now(),
        staff,
        company_id=route.company_id,
        content_id=str(route.item_id),
        body=req.body(),
    )
    return answer, 200


@https_fn.on_request(methods=METHODS)
def staff_api(req: Request) -> Result:
    """The company and its leads, notes, interactions, assignments, content, campaigns,
    reviews and referrals, as REST resources for staff; the posting queue."""
    staff = req.staff()
    parts = [p for p in req.path.split("/") if p]
    if len(parts) == 5 and parts[2] == "content" and parts[4] == "queue":
        return _queue(req, staff, parts)
    route = parse_route(req.path)
    # Another company's data is refused before anything about it is looked at.
    staff.require_company(route.company_id)
    if route.resource is None:
        return _company(req, staff, route.company_id)
    if route.resource == "posting_schedule" and route.item_id is None:
        return _posting_schedule(req, staff, route.company_id)
    if route.resource == "users" and not route.lead_id:
        raise NotFound("Staff are served by the company_users function.")
    return _resource(req, staff, route)


def _users_item(req: Request, staff: StaffIdentity, c: str, uid: str) -> Result:
    from shared.services import users

    admin = _user_admin()
    if req.method == "GET":
        return get_item(req.store, staff, users.USERS, Scope(c), uid), 200
    if req.method == "PATCH":
        return users.update_user(req.store, admin, req.now(), staff, c, uid, req.body()), 200
    if req.method == "DELETE":
        users.remove_user(req.store, admin, staff, c, uid)
        return flask.Response(status=204)
    raise MethodNotAllowed(("GET", "PATCH", "DELETE"))


def _user_admin() -> users.UserAdmin:
    from shared.adapters.user_admin import user_admin

    return user_admin()


def _session(req: Request, parts: list[str]) -> Result:
    """``POST .../users/me/session``: staff record a sign-in; an invitee whose token has no
    company yet takes up their pending invitation."""
    from shared.adapters.auth import verify_token
    from shared.domain.identity import identity_from_claims, signed_in_from_claims
    from shared.services import users

    if req.method != "POST":
        raise MethodNotAllowed(("POST",))
    claims = verify_token(req.headers.get("Authorization"))
    route = parse_route("/".join(parts))
    if "company_id" not in claims:
        caller = signed_in_from_claims(claims)
        accepted = users.accept_invitation(
            req.store, _user_admin(), req.now(), caller, route.company_id
        )
        return accepted, 200
    staff = identity_from_claims(claims)
    staff.require_company(route.company_id)
    return users.record_sign_in(req.store, req.now(), staff, route.company_id), 200


@https_fn.on_request(methods=METHODS, user_admin=True, sends=True)
def company_users(req: Request) -> Result:
    """Staff of a company: admins invite them (setting their Firebase Auth claims), change
    roles and remove them; everyone reads the team and edits their own profile."""
    from shared.services import users

    parts = [p for p in req.path.split("/") if p]
    if parts[-2:] == ["me", "session"]:
        return _session(req, parts[:-1])
    staff = req.staff()
    route = parse_route("/".join(parts))
    staff.require_company(route.company_id)
    if route.resource != "users" or route.lead_id:
        raise NotFound("Use /companies/{companyId}/users[/{uid}].")
    c = route.company_id
    if route.item_id is not None:
        uid = staff.uid if route.item_id == "me" else route.item_id
        return _users_item(req, staff, c, uid)
    if req.method == "GET":
        page = list_items(req.store, staff, users.USERS, Scope(c), req.args.to_dict())
        return {"items": page.items, "next_cursor": page.next_cursor}, 200
    if req.method == "POST":
        invited, created = users.invite_user(
            req.store, _user_admin(), req.messenger, req.now(), staff, c, req.body()
        )
        return invited, 201 if created else 200
    raise MethodNotAllowed(("GET", "POST"))
