"""Newsletter issue use cases beyond the staff REST API's create and edit: sending,
scheduling and cancelling an issue, previewing it, its figures, the public archive, and
``send_issue`` for other features (an e-mail content item sent as an issue).

Staff write issues at ``/staff_api/companies/{c}/newsletter_issues`` (managers and
admins); the ``newsletters`` function moves them, as ``campaigns`` moves campaigns.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from msgspec import Struct

from shared.campaigns.domain.templates import TemplateProblem
from shared.campaigns.services.policy import require_marketing_ready
from shared.domain.common import stable_id
from shared.domain.company import Company, company_path
from shared.domain.identity import Role, StaffIdentity
from shared.domain.newsletter_issues import (
    ARCHIVE_LIMIT,
    IssueFields,
    IssueStatus,
    NewsletterIssue,
    issue_context,
    issue_deletable,
    issue_editable,
    issue_path,
    render_issue,
    transition,
)
from shared.domain.newsletters import subscription_id, subscription_path
from shared.domain.tasks import ScheduledTask
from shared.errors import AlreadyExists, InvalidInput, NotFound, Refused
from shared.ports import DocumentStore, Filter, Snapshot, TaskQueue, Transaction, Write
from shared.services.intake import load_company
from shared.services.newsletter_sending import IssueBatch, schedule_issue_batch
from shared.services.scheduling import schedule_task
from shared.services.task_handlers import TaskContext
from shared.staff_api.domain.lists import PageQuery
from shared.staff_api.services.resources import ResourceSpec, enum_values

log = logging.getLogger("growthkit.newsletters")
SYSTEM = "system:newsletter"
FIGURES = ("recipients", "sent", "skipped", "excluded", "blocked", "failed")
ENGAGEMENT = ("bounced", "complained", "opened", "clicked")


class ArchivePage(Struct, frozen=True):
    company_name: str
    issues: list[dict[str, Any]]


class WebIssue(Struct, frozen=True):
    company_name: str
    subject: str
    html: str  # cleaned or escaped already: safe to serve
    sent_at: datetime | None


def load_issue(
    store: DocumentStore, company_id: str, issue_id: str
) -> tuple[Company, NewsletterIssue]:
    company_snap, snap = store.get_all([company_path(company_id), issue_path(company_id, issue_id)])
    if company_snap.data is None or snap.data is None:
        raise NotFound(f"No newsletter issue {issue_id}.")
    company = Company.model_validate({**company_snap.data, "id": company_id})
    return company, NewsletterIssue.model_validate({**snap.data, "id": issue_id})


def _fields(company: Company) -> dict[str, Any]:
    return {"name": company.name, "website": company.website, "industry": company.industry}


def _ready(company: Company, issue: NewsletterIssue, action: str, now: datetime) -> None:
    """What an issue needs before it is scheduled or sent: a subject and body, a future
    ``send_at`` to schedule, the postal address, and a body every reader can be shown
    (a personal field without a ``default`` would fail for a subscriber without it)."""
    if action not in ("send", "schedule"):
        return
    if not issue.subject or not issue.body:
        raise InvalidInput("An issue needs a subject and a body.", {"fields": {"body": "required"}})
    if action == "schedule" and (issue.send_at is None or issue.send_at <= now):
        raise InvalidInput("Scheduling needs a future send_at.", {"fields": {"send_at": "future"}})
    require_marketing_ready(company, "email")
    try:
        render_issue(issue.subject, issue.body, issue.format, issue_context(None, _fields(company)))
    except TemplateProblem as err:
        raise InvalidInput(
            "The issue must render for every subscriber: give personal fields a default, "
            '{{ subscriber.first_name | default("there") }}.',
            {"fields": err.errors},
        ) from err


def change_status(
    store: DocumentStore,
    queue: TaskQueue,
    now: datetime,
    staff: StaffIdentity,
    issue_id: str,
    action: str,
) -> NewsletterIssue:
    """Send, schedule, unschedule or cancel an issue.

    Sending starts a run of throttled batches now; scheduling sends it at ``send_at``;
    cancelling stops a sending issue at its next batch (those sent stay sent).

    Raises:
        PermissionDenied: a role below manager. NotFound: no such issue.
        Refused: the action does not apply to its status, or no postal address.
        InvalidInput: no subject or body, a template that cannot render for everyone,
            or scheduling without a future ``send_at``.
    """
    staff.require_role(Role.MANAGER)
    company, _ = load_issue(store, staff.company_id, issue_id)

    def move(tx: Transaction) -> NewsletterIssue:
        snap = tx.get(issue_path(staff.company_id, issue_id))
        if snap.data is None:
            raise NotFound(f"No newsletter issue {issue_id}.")
        issue = NewsletterIssue.model_validate({**snap.data, "id": issue_id})
        target = transition(issue.status, action)
        _ready(company, issue, action, now)
        update: dict[str, Any] = {"status": target.value, "updated_at": now,
                                  "status_reason": f"{action} by {staff.uid}"}  # fmt: skip
        if action == "send":
            update |= {"run": issue.run + 1, "started_at": now}
        if target == IssueStatus.CANCELLED:
            update["completed_at"] = now
        tx.write(Write(snap.path, update, "merge"))
        return issue.model_copy(update={**update, "status": target})

    moved = store.run_transaction(move)
    _follow_up(store, queue, now, moved, action)
    log.info("newsletter issue %s/%s: %s by %s", moved.company_id, issue_id, action, staff.uid)
    return moved


def _follow_up(
    store: DocumentStore, queue: TaskQueue, now: datetime, issue: NewsletterIssue, action: str
) -> None:
    if action == "send":
        schedule_issue_batch(
            store, queue, now, IssueBatch(issue.company_id, issue.id, issue.run, 1), now
        )
    if action == "schedule" and issue.send_at is not None:
        schedule_task(
            store,
            queue,
            now,
            company_id=issue.company_id,
            task_type="newsletter_start",
            data={"issue_id": issue.id, "send_at": issue.send_at.isoformat()},
            run_at=issue.send_at,
            key=f"newsletter_start:{issue.company_id}:{issue.id}:{issue.send_at.isoformat()}",
        )


def newsletter_start_task(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """Task ``newsletter_start`` (data: ``issue_id``, ``send_at``): a scheduled issue is
    sent; if its time was changed since, it is scheduled for the new one."""
    issue_id = str(task.data.get("issue_id") or "")
    _, issue = load_issue(ctx.store, task.company_id, issue_id)
    if issue.status != IssueStatus.SCHEDULED:
        return {"skipped": f"issue {issue.status.value}"}
    due = issue.send_at
    if due is not None and due.isoformat() != task.data.get("send_at") and due > ctx.now:
        _follow_up(ctx.store, ctx.queue, ctx.now, issue, "schedule")
        return {"rescheduled": due.isoformat()}
    system = StaffIdentity(SYSTEM, task.company_id, Role.ADMIN)
    try:
        change_status(ctx.store, ctx.queue, ctx.now, system, issue_id, "send")
    except (Refused, InvalidInput) as err:  # e.g. the postal address was removed since
        log.warning("scheduled newsletter issue %s not sent: %s", issue_id, err.message)
        return {"skipped": err.message}
    return {"started": issue_id}


def preview(
    store: DocumentStore, staff: StaffIdentity, issue_id: str, email: str | None
) -> dict[str, Any]:
    """The issue as the subscriber ``email`` (or the archive, without one) would read it,
    untracked: ``{"subject", "text", "html"}``, or ``{"errors"}`` when it cannot render.

    Raises:
        PermissionDenied: a role below manager. NotFound: no such issue or subscriber.
    """
    staff.require_role(Role.MANAGER)
    company, issue = load_issue(store, staff.company_id, issue_id)
    sub = None
    if email is not None:
        sub = store.get_all([subscription_path(company.id, subscription_id(email))])[0].data
        if sub is None:
            raise NotFound(f"No subscriber {email}.")
    try:
        shown = render_issue(
            issue.subject, issue.body, issue.format, issue_context(sub, _fields(company))
        )
    except TemplateProblem as err:
        return {"errors": err.errors}
    return {"subject": shown.subject, "text": shown.text, "html": shown.html}


def figures(store: DocumentStore, staff: StaffIdentity, issue_id: str) -> dict[str, Any]:
    """An issue's figures: recipients and their outcomes, then unique bounces,
    complaints, opens and clicks (people's only: scanners' and Apple's privacy proxy's
    hits are recorded but not counted), with open and click rates of those sent.

    Raises:
        PermissionDenied: a role below manager. NotFound: no such issue.
    """
    staff.require_role(Role.MANAGER)
    _, issue = load_issue(store, staff.company_id, issue_id)
    counts = {name: int(issue.stats.get(name, 0)) for name in (*FIGURES, *ENGAGEMENT)}
    sent = counts["sent"]
    rates = {
        "open_rate": round(counts["opened"] / sent, 4) if sent else 0.0,
        "click_rate": round(counts["clicked"] / sent, 4) if sent else 0.0,
    }
    times = {k: v.isoformat() if v else None for k, v in
             (("started_at", issue.started_at), ("completed_at", issue.completed_at))}  # fmt: skip
    summary = {"id": issue.id, "subject": issue.subject, "status": issue.status.value, **times}
    return {"issue": summary, "figures": {**counts, **rates}}


def _archived(store: DocumentStore, company_id: str) -> list[NewsletterIssue]:
    snaps = store.query(
        f"companies/{company_id}/newsletter_issues",
        [Filter("archivable", "==", True), Filter("status", "==", IssueStatus.SENT.value)],
        [("started_at", True)],
        ARCHIVE_LIMIT,
    )
    return [
        NewsletterIssue.model_validate({**(s.data or {}), "id": s.path.rsplit("/", 1)[1]})
        for s in snaps
    ]


def archive(store: DocumentStore, now: datetime, form_key: str) -> ArchivePage:
    """The public archive of the company a form key names: its sent issues staff marked
    archivable, newest first (up to ``ARCHIVE_LIMIT``), by subject and date.

    Raises:
        NotFound: an unknown form key.
    """
    company = load_company(store, form_key, now)
    listed = [
        {"id": i.id, "subject": i.subject, "sent_at": i.started_at}
        for i in _archived(store, company.id)
    ]
    return ArchivePage(company.name or company.id, listed)


def archived_issue(store: DocumentStore, now: datetime, form_key: str, issue_id: str) -> WebIssue:
    """One archived issue's web version: rendered without any subscriber's fields (the
    ``default`` of each), no pixel, no tracked link, no unsubscribe link.

    Raises:
        NotFound: an unknown form key, or no such sent, archivable issue.
    """
    company = load_company(store, form_key, now)
    snap = store.get_all([issue_path(company.id, issue_id)])[0]
    data = snap.data or {}
    if data.get("archivable") is not True or data.get("status") != IssueStatus.SENT.value:
        raise NotFound("No such issue in the archive.")
    issue = NewsletterIssue.model_validate({**data, "id": issue_id})
    context = issue_context(None, _fields(company))
    try:
        web = render_issue(issue.subject, issue.body, issue.format, context)
    except TemplateProblem as err:  # edited after sending into one that needs a subscriber
        log.warning("archived issue %s/%s does not render: %s", company.id, issue_id, err)
        raise NotFound("No such issue in the archive.") from err
    return WebIssue(company.name or company.id, web.subject, web.html, issue.started_at)


def issue_id_for(company_id: str, key: str) -> str:
    """The id of the issue ``send_issue`` makes for ``key`` (a content item's id)."""
    return stable_id("newsletter-issue", company_id, key)


def send_issue(
    store: DocumentStore,
    queue: TaskQueue,
    now: datetime,
    staff: StaffIdentity,
    fields: IssueFields,
    source_content_id: str | None = None,
) -> NewsletterIssue:
    """Create an issue from ``fields`` and send it now (or schedule it at its
    ``send_at``): for other features, e.g. publishing an e-mail content item. The same
    ``source_content_id`` again makes no second issue: the first one is returned as it is.

    Raises:
        As ``change_status``; PermissionDenied for a role below manager.
    """
    staff.require_role(Role.MANAGER)
    key = source_content_id or f"{staff.uid}:{now.isoformat()}"
    issue_id = issue_id_for(staff.company_id, key)
    data = {**fields.model_dump(mode="python"), "id": issue_id, "company_id": staff.company_id,
            "status": IssueStatus.DRAFT.value, "source_content_id": source_content_id,
            "created_at": now, "updated_at": now, "created_by": staff.uid}  # fmt: skip
    try:
        store.commit([Write(issue_path(staff.company_id, issue_id), data, "create")])
    except AlreadyExists:
        return load_issue(store, staff.company_id, issue_id)[1]
    action = "schedule" if fields.send_at is not None and fields.send_at > now else "send"
    return change_status(store, queue, now, staff, issue_id, action)


def _list_issues(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """Issues of some statuses by creation time (as ``staff_api_queries`` writes them)."""
    w = q.window
    filters = [
        Filter("status", "in", q.values["status"]),
        Filter("created_at", ">=", w.low),
        Filter("created_at", "<=", w.high),
        Filter("id", ">", w.after_id),
        Filter("id", "<", w.before_id),
    ]
    order_by = (
        [("created_at", True), ("id", True)]
        if q.descending
        else [("created_at", False), ("id", False)]
    )
    return store.query(f"companies/{q.company_id}/newsletter_issues", filters, order_by, q.limit)


ISSUE_RESOURCES: tuple[ResourceSpec, ...] = (
    ResourceSpec(
        "newsletter_issues",
        NewsletterIssue,
        {"created_at": ("time", _list_issues)},
        IssueFields,
        filters={"status": enum_values(IssueStatus)},
        required=frozenset({"subject", "body"}),
        read=Role.MANAGER,
        write_guard=issue_editable,
        deletable=issue_deletable,
    ),
)
