"""Integration functions: ``integrations`` (staff REST, Firebase ID token),
``oauth_callback`` (public: where the platforms send the browser back) and
``refresh_social_tokens`` (Cloud Scheduler, every 15 minutes).

    integrations  /companies/{c}/integrations[/{id}]             managers read, admins write
                  /companies/{c}/social_connections[/{platform}] managers read, admins write
                  /companies/{c}/social_connections/{platform}/authorize   POST, admins
                  /companies/{c}/secrets[/{name}]                admins
    oauth_callback  ?code=&state= (or ?error=&state=)            GET, public: an HTML page

GET lists (``sort``, ``limit``, ``cursor``, ``status``) and reads, POST creates (with an
optional ``Idempotency-Key``), PATCH changes the fields sent, DELETE removes. Secrets,
credentials and tokens are accepted in writes and never returned: responses say
``has_access_token``, ``has_credentials``, ``has_value``. ``.../authorize`` answers the
platform's authorization URL (OAuth 2.0 with PKCE) to send the admin's browser to; the
platform sends it back to ``oauth_callback``, which stores the account connected and says
so on a page (or redirects to ``oauth_return_url``).
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode

import flask
from msgspec.structs import asdict

from functions import https_fn, scheduler_fn
from functions._http import MethodNotAllowed
from functions._pages import page, refused
from functions.https_fn import Request, Result
from shared.domain.common import is_document_id
from shared.domain.identity import StaffIdentity
from shared.errors import DomainError, NotFound
from shared.services.integrations import resource_specs
from shared.staff_api.domain.lists import Scope
from shared.staff_api.services import writes
from shared.staff_api.services.resources import ResourceSpec, get_item, list_items

RESOURCES = ("integrations", "social_connections", "secrets")


def _route(path: str) -> tuple[str, str, str | None, str | None]:
    """(company, resource, item id, action) of ``/companies/{c}/{resource}[/{id}]`` or
    ``/companies/{c}/social_connections/{id}/authorize``."""
    parts = [p for p in path.split("/") if p]
    action = parts.pop() if parts[-1:] == ["authorize"] and len(parts) == 5 else None
    ok = len(parts) in (3, 4) and parts[0] == "companies" and parts[2] in RESOURCES
    ok = ok and (action is None or (parts[2] == "social_connections" and len(parts) == 4))
    if not ok or not all(is_document_id(p) and len(p) <= 128 for p in parts):
        raise NotFound(
            f"Use /companies/{{companyId}}/{{{'|'.join(RESOURCES)}}}[/{{id}}], or "
            "/companies/{companyId}/social_connections/{platform}/authorize."
        )
    return parts[1], parts[2], parts[3] if len(parts) == 4 else None, action


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


def redirect_uri(req: Request) -> str:
    """Where the platforms send the browser back: registered with each platform's app."""
    return req.settings.functions_base_url.rstrip("/") + "/oauth_callback"


def _authorize(req: Request, staff: StaffIdentity, company_id: str, item_id: str) -> Result:
    from shared.adapters.crypto import cipher
    from shared.adapters.oauth_connect import oauth_apps
    from shared.services import social_connect

    if req.method != "POST":
        raise MethodNotAllowed(("POST",))
    answer = social_connect.start(
        req.store,
        cipher(),
        oauth_apps(req.settings),
        req.now(),
        staff,
        company_id=company_id,
        connection_id=item_id,
        body=req.body(),
        redirect_uri=redirect_uri(req),
    )
    return answer, 200


@https_fn.on_request(
    methods=("GET", "POST", "PATCH", "DELETE"),
    secrets=("GROWTHKIT_SECRETS_KEY",),
    oauth_clients=True,
)
def integrations(req: Request) -> Result:
    """Integrations, social connections and named secrets, for staff; secrets sealed;
    connecting a social account by OAuth."""
    staff = req.staff()
    company_id, resource, item_id, action = _route(req.path)
    # Another company's data is refused before anything about it is looked at.
    staff.require_company(company_id)
    if action is not None and item_id is not None:
        return _authorize(req, staff, company_id, item_id)
    spec = _spec(resource, req.settings.webhooks_allow_loopback)
    scope = Scope(company_id)
    if item_id is None:
        return _collection(req, staff, spec, scope)
    return _item(req, staff, spec, scope, item_id)


@https_fn.on_request(
    methods=("GET",), public=True, secrets=("GROWTHKIT_SECRETS_KEY",), oauth_clients=True
)
def oauth_callback(req: Request) -> Result:
    """Where LinkedIn, X and Facebook send the admin's browser back: the account is stored
    (tokens sealed) and a page says so, or the browser goes to ``oauth_return_url``; an
    unknown, used or expired ``state``, or a refusal, is a page saying what to do (for a
    browser, ``Accept: text/html``; the usual JSON error otherwise), with nothing stored."""
    from shared.adapters.crypto import cipher
    from shared.adapters.oauth_connect import HttpAccountLinker, oauth_apps
    from shared.services import social_connect

    settings = req.settings
    try:
        done = social_connect.finish(
            req.store,
            cipher(),
            HttpAccountLinker(settings),
            oauth_apps(settings),
            req.now(),
            req.args.to_dict(),
        )
    except DomainError as err:
        if not req.flask.accept_mimetypes.accept_html:
            raise  # not a browser: the usual JSON error
        return refused("The account was not connected", err)
    if settings.oauth_return_url:
        return _return(settings.oauth_return_url, done.connection_id)
    name = html.escape(
        f"{done.username} ({done.connection_id})" if done.username else done.connection_id
    )
    return page("Account connected", f"{name} is connected: you may close this window.")


def _return(url: str, connection_id: str) -> flask.Response:
    joiner = "&" if "?" in url else "?"
    location = url + joiner + urlencode({"connected": connection_id})
    return flask.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


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
