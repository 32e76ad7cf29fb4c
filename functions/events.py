"""Analytics event functions: ``track_events`` (public: the website snippet's batches, by
form key, CORS from the company's sites) and ``analytics_summary`` (staff: a company's
daily metrics over a date range, ``GET ?from=YYYY-MM-DD&to=YYYY-MM-DD``)."""

from __future__ import annotations

from functions import https_fn
from shared.domain.events import EventBatch
from shared.services.events import Visitor, ingest_events
from shared.services.events_summary import analytics_summary as summary
from shared.services.events_summary import date_range
from shared.staff_api.domain.lists import refuse_unknown_parameters


@https_fn.on_request(methods=("POST",), public=True, cors=True)
def track_events(req: https_fn.Request) -> https_fn.Result:
    """A batch of website analytics events (at most 100): stored and counted for the day."""
    # navigator.sendBeacon posts text/plain (no preflight): the body is parsed as JSON.
    body = req.body()
    body.setdefault("form_key", req.args.get("key") or "")
    batch = EventBatch.model_validate(body)
    visitor = Visitor(req.client_ip, req.headers.get("User-Agent"), req.origin)
    result = ingest_events(req.store, req.now(), batch, visitor)
    req.allow_origins(result.company.allowed_origins)
    return {"stored": result.stored, "duplicates": result.duplicates}, 202


@https_fn.on_request(methods=("GET",))
def analytics_summary(req: https_fn.Request) -> https_fn.Result:
    """A company's daily metrics (leads, reviews, content, website events...) per day and
    totalled over a range of at most 93 days; today's (and yesterday's, until the night's
    rollup) computed live."""
    staff = req.staff()
    company_id = req.args.get("company_id") or staff.company_id
    staff.require_company(company_id)
    refuse_unknown_parameters(req.args, ("company_id", "from", "to"))
    start, end = date_range(req.args.get("from"), req.args.get("to"), req.now())
    return summary(req.store, staff, company_id, start, end, req.now()), 200
