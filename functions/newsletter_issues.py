"""Newsletter issues: ``newsletters`` for staff (send, schedule, cancel, preview, figures)
and ``newsletter_archive``, the public page of a company's past issues.

Issues themselves are written through ``staff_api`` (``/companies/{c}/newsletter_issues``),
as campaigns are: that gives them the API's validation, lists, cursors and
``Idempotency-Key``. Sending is not an edit of fields but a move through statuses that
starts or stops the chained batches, so it has its own function, as ``campaigns`` does.
The subscriber's side (signup, confirmation, unsubscribe) is functions/newsletters.py.
"""

from __future__ import annotations

import html
from datetime import datetime
from urllib.parse import urlencode

import flask

from functions import https_fn
from functions.https_fn import Request, Result
from shared.domain.common import is_document_id
from shared.errors import InvalidInput

_ARCHIVE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
</head><body style="font-family:sans-serif;max-width:40rem;margin:3rem auto">
{body}</body></html>
"""


@https_fn.on_request(methods=("GET", "POST"))
def newsletters(req: Request) -> Result:
    """Staff (managers and admins): POST ``{"action": "send|schedule|unschedule|cancel",
    "issue_id"}`` moves an issue (409 when its status does not allow it); ``{"action":
    "preview", "issue_id", "email"?}`` renders it for a subscriber (or, without
    ``email``, as the archive shows it). GET ``?id=`` reads its figures."""
    from shared.domain.newsletter_issues import IssueRequest
    from shared.services import newsletter_issues as service

    staff = req.staff()
    if req.method == "GET":
        staff.require_company(req.args.get("company_id") or staff.company_id)
        issue_id = req.args.get("id", "")
        if not is_document_id(issue_id) or len(issue_id) > 200:
            raise InvalidInput("Name the issue: ?id=...", {"fields": {"id": "required"}})
        return service.figures(req.store, staff, issue_id), 200
    asked = IssueRequest.model_validate(req.body())
    staff.require_company(asked.company_id or staff.company_id)
    if asked.action == "preview":
        return service.preview(req.store, staff, asked.issue_id, asked.email), 200
    moved = service.change_status(
        req.store, req.queue, req.now(), staff, asked.issue_id, asked.action
    )
    return {"issue": moved.model_dump(mode="json", exclude={"batch_lease"})}, 200


def _date(value: datetime | None) -> str:
    return value.date().isoformat() if value is not None else ""


def _archive_page(title: str, body: str) -> flask.Response:
    text = _ARCHIVE.format(title=html.escape(title), body=body)
    # Public and the same for everyone: caches may keep it a few minutes.
    headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "public, max-age=300"}
    return flask.Response(text, 200, headers)


@https_fn.on_request(methods=("GET", "HEAD"), public=True)
def newsletter_archive(req: Request) -> Result:
    """The company's past issues (``?key=`` its form key), newest first: only issues
    staff marked archivable, each (``&issue=``) as its web version, with no subscriber's
    fields and nothing tracked. 404 for an unknown key or issue."""
    from shared.services import newsletter_issues as service

    key, issue_id = req.args.get("key", ""), req.args.get("issue", "")
    if not key:
        raise InvalidInput(
            "Name the company: ?key=<its form key>.", {"fields": {"key": "required"}}
        )
    if issue_id:
        if not is_document_id(issue_id) or len(issue_id) > 200:
            raise InvalidInput("issue is not a valid id.")
        web = service.archived_issue(req.store, req.now(), key, issue_id)
        back = f'<p><a href="?{html.escape(urlencode({"key": key}))}">All issues</a></p>'
        sent = f"<p><small>{html.escape(web.company_name)}, {_date(web.sent_at)}</small></p>"
        return _archive_page(
            web.subject, f"{back}<h1>{html.escape(web.subject)}</h1>{sent}{web.html}"
        )
    listed = service.archive(req.store, req.now(), key)
    items = "".join(
        f'<li><a href="?{html.escape(urlencode({"key": key, "issue": i["id"]}))}">'
        f"{html.escape(i['subject'])}</a> <small>{_date(i['sent_at'])}</small></li>"
        for i in listed.issues
    )
    title = f"{listed.company_name}: newsletter archive"
    body = (
        f"<h1>{html.escape(title)}</h1><ul>{items}</ul>"
        if items
        else f"<h1>{html.escape(title)}</h1><p>No issues yet.</p>"
    )
    return _archive_page(title, body)
