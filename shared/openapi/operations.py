"""What each function accepts and answers: its operations, parameters and statuses.

The request bodies are the pydantic models the entry points validate with; the statuses
are the ones ``functions/_http.py`` maps the services' domain errors to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from shared.domain.content import PublishRequest
from shared.domain.leads import LeadSubmission
from shared.domain.referrals import (
    RedemptionRequest,
    ReferralAction,
    ReferralCreate,
    ReferralStatus,
)
from shared.domain.reviews import ReviewCompletionBody, ReviewRequestBody
from shared.domain.tasks import TaskRef
from shared.manifest import Function, Trigger

ERRORS = {
    400: "Invalid input: unreadable body or invalid fields (`details.fields`)",
    401: "No ID token, or an invalid, expired or foreign one",
    403: "Another company's data, a role too low, or an origin the company does not list",
    404: "Unknown form key, code, lead, review, content or task",
    405: "Method not allowed",
    409: "Refused by the business rules (`details.reason` where there are several)",
    413: "Body larger than the limit (`x-max-body-bytes`)",
    429: "Rate limited: try again in `Retry-After` seconds",
    503: "Transient failure: retry with backoff",
}
# A form a browser posts without a script is refused with a page (Accept: text/html): every
# refusal its function gives, not the glue's own 405 and 413.
FORM_PAGE_ERRORS = (400, 403, 404, 409, 429, 503)
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until the window that refused the request frees",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def header(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def query(name: str, description: str, required: bool = False, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string", **schema},
    }


FORM_PARAMETERS = (
    query("key", "The company's public form key (or `form_key` in the body)"),
    header("Origin", "Set by browsers; must be one of the company's allowed origins"),
    header(
        "X-Forwarded-For",
        "Set by the platform: the entry its front end appends (settings.trusted_proxies, "
        "counted from the right) is the client's; entries the caller wrote never count",
    ),
)
SCHEDULER_HEADERS = (
    header("X-CloudScheduler-JobName", "The Scheduler job (a manual call runs as 'manual')"),
    header(
        "X-CloudScheduler-ScheduleTime",
        "The run's time (RFC 3339); absent for a manual call, which runs as of now",
        format="date-time",
    ),
)
TASK_HEADERS = (
    header("X-CloudTasks-QueueName", "The queue delivering the task"),
    header("X-CloudTasks-TaskName", "The Cloud Task's short name"),
    header("X-CloudTasks-TaskRetryCount", "Earlier attempts", pattern=r"^\d+$"),
    header("X-CloudTasks-TaskExecutionCount", "Earlier answered attempts", pattern=r"^\d+$"),
)
_CE_ATTRIBUTES = (
    ("ce-id", "The event id (deliveries of one event share it)"),
    ("ce-source", "//firestore.googleapis.com/projects/{project}/databases/(default)"),
    ("ce-specversion", "1.0"),
    ("ce-subject", "documents/{document path}"),
    ("ce-time", "When the change was committed"),
    ("ce-database", "(default)"),
    ("ce-namespace", "(default)"),
    ("ce-document", "The changed document's path"),
    ("ce-location", "The database's location"),
    ("ce-project", "The project"),
)
CLOUD_EVENT_HEADERS = tuple(header(n, d) for n, d in _CE_ATTRIBUTES)


@dataclass(frozen=True)
class Op:
    """One operation of a function: method, body models, parameters and statuses."""

    method: str
    summary: str
    ok: dict[int, str]
    errors: tuple[int, ...]
    bodies: tuple[type[BaseModel], ...] = ()
    content_type: str | None = None
    form_encoded: bool = False
    parameters: tuple[dict[str, Any], ...] = ()
    security: str | None = None
    # Content types whose schema is not a model (text/csv, a webhook's form), by type.
    inline: dict[str, dict[str, Any]] = field(default_factory=dict)
    required_fields: tuple[str, ...] = ()  # required on create though optional in the model
    html_errors: tuple[int, ...] = ()  # also an HTML page, for a browser (Accept: text/html)


def error_responses(statuses: tuple[int, ...], html: tuple[int, ...] = ()) -> dict[str, Any]:
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    page = {"text/html": {"schema": {"type": "string"}}}
    return {
        str(s): {"description": ERRORS[s], "content": error | page if s in html else error}
        | ({"headers": RETRY_AFTER} if s == 429 else {})
        for s in statuses
    }


def _public_form(
    summary: str,
    model: type[BaseModel],
    ok: dict[int, str],
    extra: tuple[dict[str, Any], ...] = (),
) -> tuple[Op, ...]:
    post = Op(
        "post",
        summary,
        ok,
        (400, 403, 404, 405, 409, 413, 429, 503),
        (model,),
        "application/json",
        form_encoded=True,
        parameters=FORM_PARAMETERS + extra,
        html_errors=FORM_PAGE_ERRORS,
    )
    preflight = Op(
        "options",
        "CORS preflight: 204 with CORS headers for an allowed Origin, else 403",
        {204: "The origin may post"},
        (403, 404),
        parameters=FORM_PARAMETERS[:2],
    )
    return post, preflight


def _staff(summary: str, models: tuple[type[BaseModel], ...], ok: dict[int, str]) -> Op:
    errors = (400, 401, 403, 404, 405, 409, 413, 503)
    return Op("post", summary, ok, errors, models, "application/json", security="firebaseIdToken")


_LEAD_OK = {
    201: "A new lead",
    200: "Merged into the lead with that e-mail, or spam kept apart; a repeated "
    "submission_id is answered as before with `Idempotent-Replayed: true`",
    303: "An urlencoded form post: redirect to the company's thank-you page",
}
_BY_NAME: dict[str, tuple[Op, ...]] = {
    "lead_intake": _public_form(
        "A web form submission becomes a lead",
        LeadSubmission,
        _LEAD_OK,
        (header("Idempotency-Key", "Names the submission when the body has no submission_id"),),
    ),
    "redeem_referral": _public_form(
        "A visitor redeems a referral code",
        RedemptionRequest,
        {
            201: "Redeemed by a new lead",
            200: "Redeemed by an existing lead (`Idempotent-Replayed: true`: already "
            "redeemed by this person, nothing new stored)",
        },
    ),
    "request_review": (
        _staff(
            "Ask a customer for a review (action request) or record it (action complete)",
            (ReviewRequestBody, ReviewCompletionBody),
            {201: "Requested", 200: "Completed"},
        ),
    ),
    "publish_content": (
        _staff(
            "Publish a content item now or at scheduled_at",
            (PublishRequest,),
            {200: "Published (or failed per platform)", 202: "Scheduled"},
        ),
    ),
    "referral_codes": (
        _staff(
            "Create a referral code, or expire one ({action: expire, code})",
            (ReferralCreate, ReferralAction),
            {201: "Created", 200: "Expired"},
        ),
        Op(
            "get",
            "List the company's referral codes",
            {200: "The codes"},
            (400, 401, 403),
            parameters=(
                query(
                    "status", "Only codes in this status", enum=[s.value for s in ReferralStatus]
                ),
                query("company_id", "Defaults to the caller's company"),
            ),
            security="firebaseIdToken",
        ),
    ),
}


def paths_for(function: Function) -> dict[str, tuple[Op, ...]]:
    """The operations of ``function`` by sub-path ("" for the function's own URL)."""
    from shared.openapi.routes import later_ops, path_ops

    routed = path_ops().get(function.name)
    if routed is not None:
        return routed
    later = later_ops().get(function.name)
    return {"": later if later is not None else operations_for(function)}


def operations_for(function: Function) -> tuple[Op, ...]:
    """The operations of ``function``, by its trigger for the platform-invoked ones."""
    if function.name in _BY_NAME:
        return _BY_NAME[function.name]
    if function.trigger is Trigger.TASK:
        ok = {200: "Ran, or nothing to do (duplicate, missing, deferred, failed for good)"}
        return (
            Op(
                "post",
                "Run one scheduled task (Cloud Tasks)",
                ok,
                (400, 413, 503),
                (TaskRef,),
                "application/json",
                parameters=TASK_HEADERS,
                security="googleOidc",
            ),
        )
    if function.trigger is Trigger.SCHEDULE:
        summary = f"Cloud Scheduler, {function.schedule} ({function.time_zone})"
        return (
            Op(
                "post",
                summary,
                {200: "Done (a repeated run is a no-op)"},
                (400, 503),
                parameters=SCHEDULER_HEADERS,
                security="googleOidc",
            ),
        )
    if function.trigger is Trigger.HTTP:
        raise KeyError(f"{function.name}: describe it in shared/openapi/routes.py")
    ce_type = header("ce-type", "The event type", enum=[function.full_event_type])
    summary = f"Eventarc: {function.event_type} {function.document}"
    return (
        Op(
            "post",
            summary,
            {200: "Handled, or dropped as unusable (logged)"},
            (400, 503),
            content_type="application/protobuf",
            parameters=(ce_type, *CLOUD_EVENT_HEADERS),
            security="googleOidc",
        ),
    )
