"""Operations of the functions added after the first ones: the staff REST APIs (routed by
path: ``/companies/{companyId}/...``), the staff action functions, and the public links,
forms and webhooks. Each is described as the entry point in ``functions/`` routes it: the
methods and sub-paths it answers, its query parameters and the models it validates with.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from shared.campaigns.domain.campaigns import CampaignRequest
from shared.campaigns.domain.email_events import EmailEventBatch
from shared.campaigns.domain.keys import RecipientStatus
from shared.domain.business_resources import DownloadRequest
from shared.domain.consultations import BookingRequest, CancelRequest, CompleteRequest
from shared.domain.events import EventBatch
from shared.domain.newsletter_issues import IssueRequest
from shared.domain.newsletters import SignupRequest
from shared.domain.oauth import AuthorizeRequest
from shared.domain.posting_queue import PostingSchedule, QueueRequest
from shared.domain.users import InviteFields, UserFields
from shared.openapi.operations import FORM_PAGE_ERRORS, Op, header, query
from shared.staff_api.domain.models import CompanyFields
from shared.staff_api.services.resources import ResourceSpec
from shared.workflows.domain.definition import WorkflowDefinition, WorkflowRequest, WorkflowStatus

# The schema of a request body that is not a pydantic model (text/csv, a form webhook).
Inline = dict[str, Any]
STAFF_ERRORS = (400, 401, 403, 404, 405, 409, 413, 503)
READ_ERRORS = (400, 401, 403, 404, 405)
PUBLIC_ERRORS = (400, 403, 404, 405, 409, 413, 429, 503)
FORM_KEY = query("key", "The company's public form key (or `form_key` in the body)")
ORIGIN = header("Origin", "Set by browsers; must be one of the company's allowed origins")
IDEMPOTENCY = header("Idempotency-Key", "1 to 200 characters; a repeated POST is answered once")
COMPANY = query("company_id", "Must be the caller's company (the default)")
# Models whose JSON schema is not all of what the entry point validates: the value is
# validated again by the service, with this model (error paths like steps[2].branch).
NESTED: dict[tuple[type[BaseModel], str], type[BaseModel]] = {
    (WorkflowRequest, "workflow"): WorkflowDefinition,
}


def _staff(
    method: str,
    summary: str,
    ok: dict[int, str],
    body: type[BaseModel] | None = None,
    required: tuple[str, ...] = (),
    parameters: tuple[dict[str, Any], ...] = (),
) -> Op:
    errors = STAFF_ERRORS if body is not None else READ_ERRORS
    return Op(
        method,
        summary,
        ok,
        errors,
        (body,) if body is not None else (),
        "application/json" if body is not None else None,
        parameters=parameters,
        security="firebaseIdToken",
        required_fields=required,
    )


def list_parameters(spec: ResourceSpec) -> tuple[dict[str, Any], ...]:
    """``sort``, ``limit``, ``cursor``, the spec's filters (comma-separated values), its
    own parameters and ``q`` where it searches; any other parameter is a 400."""
    sorts = [
        s
        for name, (kind, _) in spec.sorts.items()
        for s in ((name,) if kind == "text" else (name, f"-{name}"))
    ]
    filters = tuple(
        query(name, f"Comma-separated: {', '.join(values)}")
        for name, values in spec.filters.items()
    )
    own = tuple(query(name, text[:1].upper() + text[1:]) for name, text in spec.params.items())
    search = (
        (query("q", f"The start of {spec.search} (any case), listed A to Z"),)
        if spec.search
        else ()
    )
    return (
        query("sort", "A sort field, '-' first for descending", enum=sorts),
        query("limit", "1 to 100", pattern=r"^\d+$"),
        query("cursor", "The next_cursor of the previous page"),
        *filters,
        *own,
        *search,
    )


def resource_paths(spec: ResourceSpec, base: str, item: str = "{id}") -> dict[str, tuple[Op, ...]]:
    """The collection and item operations of one staff REST resource under ``base``."""
    name = spec.name
    collection = [_staff("get", f"List {name}", {200: "A page"}, parameters=list_parameters(spec))]
    one = [_staff("get", f"Read one of {name}", {200: "The item"})]
    if spec.fields is not None:
        collection.append(
            _staff(
                "post",
                f"Create one of {name}",
                {201: "Created", 200: "Already created (the same Idempotency-Key)"},
                spec.fields,
                tuple(sorted(spec.required)),
                (IDEMPOTENCY,),
            )
        )
        if spec.patchable:
            one.append(_staff("patch", f"Change one of {name}", {200: "Changed"}, spec.fields))
        if spec.delete is not None:
            one.append(_staff("delete", f"Delete one of {name}", {204: "Deleted"}))
    return {f"{base}/{name}": tuple(collection), f"{base}/{name}/{item}": tuple(one)}


def staff_api_paths() -> dict[str, tuple[Op, ...]]:
    from shared.staff_api.services.registry import RESOURCES

    company = "/companies/{companyId}"
    paths: dict[str, tuple[Op, ...]] = {
        company: (
            _staff("get", "Read the company", {200: "The company"}),
            _staff("patch", "Change the company (admins)", {200: "Changed"}, CompanyFields),
        )
    }
    for spec in RESOURCES.values():
        base = f"{company}/leads/{{leadId}}" if spec.under_lead else company
        paths.update(resource_paths(spec, base))
    paths[f"{company}/posting_schedule"] = (
        _staff("get", "The posting schedule and the company's time zone", {200: "It"}),
        _staff(
            "patch",
            "Change the posting schedule's days named (managers); [] clears a day",
            {200: "The schedule"},
            PostingSchedule,
        ),
    )
    paths[f"{company}/content/{{id}}/queue"] = (
        _staff(
            "post",
            "Put content in the posting queue (managers): scheduled for the next free slot "
            "of the schedule, on the company's clock; a repeat keeps the slot",
            {200: "Scheduled: scheduled_at, local_time, queue_slot, platform_status"},
            QueueRequest,
        ),
    )
    paths[f"{company}/spam_submissions/{{id}}/release"] = (
        _staff(
            "post",
            "Release a submission kept apart as spam into the lead it would have made "
            "(managers); once: again, the first release's answer",
            {200: "The released record, with its lead_id"},
        ),
    )
    return paths


def company_users_paths() -> dict[str, tuple[Op, ...]]:
    base = "/companies/{companyId}/users"
    listing = query("sort", "A sort field, '-' first for descending", enum=["created_at"])
    return {
        base: (
            _staff("get", "List the company's staff", {200: "A page"}, parameters=(listing,)),
            _staff(
                "post",
                "Invite someone (admins); pending until the owner of an account the invitation "
                "did not make proves the address",
                {201: "Invited", 200: "Already"},
                InviteFields,
            ),
        ),
        f"{base}/{{uid}}": (
            _staff("get", "Read one member ('me': the caller)", {200: "The member"}),
            _staff(
                "patch",
                "Change a member (admins; anyone their own profile)",
                {200: "Changed"},
                UserFields,
            ),
            _staff("delete", "Remove a member (admins)", {204: "Removed"}),
        ),
        f"{base}/me/session": (
            _staff(
                "post",
                "The app reports a sign-in; an invitee's token without a company takes up "
                "their pending invitation once the address is proved",
                {200: "Recorded"},
            ),
        ),
    }


def consultations_paths() -> dict[str, tuple[Op, ...]]:
    from shared.services.consultations import CONSULTATIONS

    base = "/companies/{companyId}"
    paths = resource_paths(CONSULTATIONS, base)
    paths[f"{base}/consultations"] = (
        paths[f"{base}/consultations"][0],
        _staff(
            "post",
            "Book a consultation (never overlapping the host's others)",
            {201: "Booked", 200: "Already booked (the same Idempotency-Key)"},
            BookingRequest,
            parameters=(IDEMPOTENCY,),
        ),
    )
    item = f"{base}/consultations/{{id}}"
    paths[f"{item}/cancel"] = (
        _staff("post", "Cancel (and tell the attendee)", {200: "Cancelled"}, CancelRequest),
    )
    paths[f"{item}/complete"] = (
        _staff("post", "Complete, with notes", {200: "Completed"}, CompleteRequest),
    )
    return paths


def integrations_paths() -> dict[str, tuple[Op, ...]]:
    from shared.services.integrations import resource_specs

    paths: dict[str, tuple[Op, ...]] = {}
    for spec in resource_specs(None).values():  # type: ignore[arg-type]  # no sealing here
        paths.update(resource_paths(spec, "/companies/{companyId}"))
    paths["/companies/{companyId}/social_connections/{id}/authorize"] = (
        _staff(
            "post",
            "Connect a social account by OAuth 2.0 with PKCE (admins): the platform's "
            "authorization URL to send the browser to, with a single-use state valid 10 "
            "minutes. {id}: linkedin, x (twitter), facebook or instagram, -<label> for a "
            "second account",
            {200: "authorize_url, state, expires_at, connection_id, platform, redirect_uri"},
            AuthorizeRequest,
        ),
    )
    return paths


def oauth_callback_ops() -> tuple[Op, ...]:
    params = (
        query("state", "The state the authorization URL carried", maxLength=400),
        query("code", "The authorization code", maxLength=2000),
        query("error", "The platform's refusal (access_denied...)", maxLength=100),
        query("error_description", "Its words", maxLength=500),
    )
    return (
        Op(
            "get",
            "Where the platforms send the browser back: the account is stored, its tokens "
            "sealed, and a page says so (or 303 to oauth_return_url); an unknown (400), "
            "used or expired (409) state, or a refusal (409), stores nothing and is a page "
            "for browsers (Accept: text/html)",
            {200: "An HTML page: connected", 303: "To oauth_return_url?connected=<id>"},
            (400, 405, 409, 503),
            parameters=params,
            html_errors=(400, 409, 503),
        ),
    )


def _query_op(method: str, summary: str, ok: dict[int, str], *params: dict[str, Any]) -> Op:
    return Op(
        method, summary, ok, READ_ERRORS, parameters=(COMPANY, *params), security="firebaseIdToken"
    )


def workflows_ops() -> tuple[Op, ...]:
    get = _query_op(
        "get",
        "List workflows (?status=), read one (?id=) or an execution (?execution_id=)",
        {200: "The workflows, the workflow or the execution"},
        query("id", "A workflow id"),
        query("execution_id", "An execution id"),
        query("status", "Only workflows in this status", enum=[s.value for s in WorkflowStatus]),
    )
    post = _staff(
        "post",
        "Create (201), update or enrol a lead by hand (201); an invalid definition is a 400 "
        "naming each error's path, e.g. steps[3].branch.else",
        {201: "Created, or enrolled", 200: "Updated"},
        WorkflowRequest,
    )
    return get, post


def campaigns_ops() -> tuple[Op, ...]:
    get = _query_op(
        "get",
        "A campaign's progress (?id=), or its recipients (?id=&view=recipients)",
        {200: "The progress, or a page of recipients"},
        query("id", "The campaign"),
        query("view", "recipients: list recipients", enum=["recipients"]),
        query("status", "Only recipients in this status", enum=[s.value for s in RecipientStatus]),
        query("after", "The last recipient id of the previous page"),
        query("limit", "1 to 100", pattern=r"^\d+$"),
    )
    post = _staff(
        "post",
        "Move a campaign through its statuses, preview its message, or mark a recipient",
        {200: "Moved, previewed or marked"},
        CampaignRequest,
    )
    return get, post


def newsletters_ops() -> tuple[Op, ...]:
    get = _query_op(
        "get",
        "A newsletter issue's figures (?id=): recipients, sent, skipped, bounced, complained, "
        "opened and clicked (people only)",
        {200: "The issue and its figures"},
        query("id", "The issue", required=True),
    )
    post = _staff(
        "post",
        "Send, schedule, unschedule or cancel a newsletter issue, or preview it",
        {200: "Moved or previewed"},
        IssueRequest,
    )
    return get, post


CSV_BODY: Inline = {
    "type": "object",
    "required": ["csv"],
    "properties": {"csv": {"type": "string", "minLength": 1}},
}


def outreach_import_ops() -> tuple[Op, ...]:
    return (
        Op(
            "post",
            "Import businesses and contacts from CSV (header row first; managers). Good rows "
            "are imported, each duplicate and each invalid row is reported with its row number",
            {200: "The import's report"},
            (400, 401, 403, 405, 409, 413, 503),
            content_type="text/csv",
            inline={"text/csv": {"type": "string"}, "application/json": CSV_BODY},
            parameters=(COMPANY,),
            security="firebaseIdToken",
        ),
    )


def public_form(
    summary: str, model: type[BaseModel], ok: dict[int, str], *extra: Any
) -> tuple[Op, ...]:
    post = Op(
        "post",
        summary,
        ok,
        PUBLIC_ERRORS,
        (model,),
        "application/json",
        form_encoded=True,
        parameters=(FORM_KEY, ORIGIN, *extra),
        html_errors=FORM_PAGE_ERRORS,
    )
    preflight = Op(
        "options",
        "CORS preflight: 204 with CORS headers for an allowed Origin, else 403",
        {204: "The origin may post"},
        (403, 404),
        parameters=(FORM_KEY, ORIGIN),
    )
    return post, preflight


def link(
    methods: tuple[str, ...],
    name: str,
    summary: str,
    ok: dict[int, str],
    errors: tuple[int, ...] = (400, 404, 405),
    html_errors: tuple[int, ...] = (),
) -> tuple[Op, ...]:
    token = query(name, "The signed token from the message", required=True)
    return tuple(
        Op(m, summary, ok, errors, parameters=(token,), html_errors=html_errors) for m in methods
    )


SMS_FORM: Inline = {
    "type": "object",
    "required": ["From", "Body"],
    "properties": {
        "From": {"type": "string", "maxLength": 40},
        "Body": {"type": "string", "maxLength": 1600},
        "MessageSid": {"type": "string", "maxLength": 100},
    },
}
CONFIRM_FORM: Inline = {"type": "object", "properties": {"token": {"type": "string"}}}
NEWSLETTER_UNSUBSCRIBE_FORM: Inline = {
    "type": "object",
    "properties": {
        "token": {"type": "string"},
        "List-Unsubscribe": {"type": "string", "enum": ["One-Click"]},
    },
}
UNSUBSCRIBE_FORM: Inline = {
    "type": "object",
    "properties": {
        "t": {"type": "string"},
        "List-Unsubscribe": {"type": "string", "enum": ["One-Click"]},
    },
}


def path_ops() -> dict[str, dict[str, tuple[Op, ...]]]:
    """Functions routed by path: sub-path -> operations."""
    return {
        "staff_api": staff_api_paths(),
        "company_users": company_users_paths(),
        "consultations": consultations_paths(),
        "integrations": integrations_paths(),
    }


def later_ops() -> dict[str, tuple[Op, ...]]:
    """Functions served at their own root."""
    return {
        "workflows": workflows_ops(),
        "campaigns": campaigns_ops(),
        "outreach_import": outreach_import_ops(),
        "oauth_callback": oauth_callback_ops(),
        "newsletter_signup": public_form(
            "A newsletter signup: pending until confirmed by mail (the same answer whatever "
            "the address's state)",
            SignupRequest,
            {202: "Pending confirmation", 303: "An urlencoded form post: to the thank-you page"},
        ),
        "newsletter_confirm": (
            Op(
                "get",
                "The confirmation link: a page whose button confirms (it changes nothing, so "
                "a mail provider's link scanner confirms nothing); a refused link is an HTML "
                "page for browsers (Accept: text/html)",
                {200: "An HTML page"},
                (400, 404, 405, 409),
                parameters=(query("token", "The signed token from the message", required=True),),
                html_errors=(400, 404, 409),
            ),
            Op(
                "post",
                "Confirm the subscription (the page's button); again: already confirmed",
                {200: "An HTML page"},
                (400, 404, 405, 409, 413, 503),
                content_type="application/x-www-form-urlencoded",
                inline={"application/x-www-form-urlencoded": CONFIRM_FORM},
                parameters=(query("token", "The signed token (or token in the body)"),),
                html_errors=(400, 404, 409, 503),
            ),
        ),
        "newsletter_unsubscribe": (
            Op(
                "get",
                "The unsubscribe link: a page whose button unsubscribes (it changes nothing, "
                "so a mail provider's link scanner unsubscribes nobody)",
                {200: "An HTML page"},
                (400, 404, 405),
                parameters=(query("token", "The signed token from the message", required=True),),
            ),
            Op(
                "post",
                "Unsubscribe (the page's button, or a mail client's one-click post)",
                {200: "An HTML page"},
                (400, 404, 405, 413, 503),
                content_type="application/x-www-form-urlencoded",
                inline={"application/x-www-form-urlencoded": NEWSLETTER_UNSUBSCRIBE_FORM},
                parameters=(query("token", "The signed token (or token in the body)"),),
            ),
        ),
        "newsletter_archive": (
            Op(
                "get",
                "The company's archive of past newsletter issues, newest first, or one issue's "
                "web version (&issue=): an HTML page, no personal fields, nothing tracked",
                {200: "An HTML page"},
                (400, 404, 405),
                parameters=(
                    query("key", "The company's form key", required=True),
                    query("issue", "One issue"),
                ),
            ),
        ),
        "newsletters": newsletters_ops(),
        "download_resource": public_form(
            "A download form: the lead and the download recorded, then the file",
            DownloadRequest,
            {302: "To the file", 200: "Accept: application/json: {url}"},
            query("resource", "The resource id (or resource_id in the body)"),
            IDEMPOTENCY,
        ),
        "track_events": (
            Op(
                "post",
                "A batch of website analytics events (at most 100); text/plain is read as "
                "JSON (navigator.sendBeacon)",
                {202: "Stored (duplicates counted apart)"},
                PUBLIC_ERRORS,
                (EventBatch,),
                "application/json",
                inline={"text/plain": {"$ref": "#/components/schemas/EventBatch"}},
                parameters=(FORM_KEY, ORIGIN),
            ),
            public_form("", EventBatch, {})[1],
        ),
        "analytics_summary": (
            _query_op(
                "get",
                "Daily metrics per day and totalled, over at most 93 days; today's (and "
                "yesterday's until the nightly rollup) computed live",
                {200: "The metrics"},
                query("from", "YYYY-MM-DD (default: 29 days before to)", format="date"),
                query("to", "YYYY-MM-DD (default: today)", format="date"),
            ),
        ),
        "unsubscribe": (
            Op(
                "get",
                "The unsubscribe link: a page asking to confirm",
                {200: "An HTML page"},
                (400, 405),
                parameters=(query("t", "The signed token", required=True),),
            ),
            Op(
                "post",
                "Unsubscribe (the page's button, or a mail client's one-click post)",
                {200: "An HTML page"},
                (400, 405, 413, 503),
                content_type="application/x-www-form-urlencoded",
                inline={"application/x-www-form-urlencoded": UNSUBSCRIBE_FORM},
                parameters=(query("t", "The signed token (or t in the body)"),),
            ),
        ),
        "sms_inbound": (
            Op(
                "post",
                "The SMS provider's webhook: STOP/START/HELP keywords; answered as TwiML",
                {200: "TwiML"},
                (400, 401, 404, 405, 413, 503),
                content_type="application/x-www-form-urlencoded",
                inline={"application/x-www-form-urlencoded": SMS_FORM},
                parameters=(
                    query("company_id", "The company whose number received it", required=True),
                    header(
                        "X-Twilio-Signature",
                        "Twilio's signature under sms_auth_token; required wherever it is "
                        "set (always in production)",
                    ),
                ),
            ),
        ),
        "email_events": (
            Op(
                "post",
                "The e-mail provider's events (through a relay mapping its payloads): "
                "deliveries, bounces, spam complaints and replies, each acting once per "
                "event_id; an event matching no message we sent is recorded and answered 200",
                {200: "Each event's outcome: applied, duplicate or unmatched"},
                (400, 401, 405, 413, 503),
                (EmailEventBatch,),
                "application/json",
                parameters=(
                    header(
                        "X-GrowthKit-Signature",
                        "sha256=<hex HMAC-SHA256 of the body under email_events_secret>; "
                        "required when it is set (always in production)",
                    ),
                ),
            ),
        ),
        "track_open": link(("get", "head"), "t", "The open pixel: a 1x1 GIF", {200: "image/gif"}),
        "track_click": link(
            ("get", "head"),
            "t",
            "The click redirect, to the URL signed into the token while the link is valid "
            "(click_link_max_age_days); a refused or expired link is an HTML page for "
            "browsers (Accept: text/html), never a redirect",
            {302: "To the link's URL"},
            (400, 404, 405, 409),
            (400, 409),
        ),
    }
