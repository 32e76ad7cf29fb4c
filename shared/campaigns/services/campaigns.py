"""Campaign use cases beyond the staff REST API's create and edit: moving a campaign
through its statuses (schedule, start, pause, resume, complete, cancel), previewing its
message for the recipients it would reach, and marking recipients' outcomes (reading
progress and recipients: ``campaigns_progress``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from shared.campaigns.domain.campaigns import (
    Campaign,
    CampaignStatus,
    MessageTemplate,
    Recipient,
    transition,
)
from shared.campaigns.domain.keys import RecipientStatus, campaign_path, recipient_path
from shared.campaigns.domain.outreach_keys import message_id, message_path
from shared.campaigns.services.audience import candidates
from shared.campaigns.services.delivery import plan
from shared.campaigns.services.policy import require_marketing_ready
from shared.campaigns.services.sending import BatchRef, requeue_due, schedule_batch
from shared.domain.company import Company, company_path
from shared.domain.identity import Role, StaffIdentity, lead_guard, sees_every_lead
from shared.domain.leads import lead_path
from shared.domain.tasks import ScheduledTask
from shared.errors import InvalidInput, NotFound, Refused
from shared.ports import DocumentStore, Increment, TaskQueue, Transaction, Write
from shared.services.scheduling import schedule_task
from shared.services.task_handlers import TaskContext

log = logging.getLogger("growthkit.campaigns")
SYSTEM = StaffIdentity("system:campaign_start", "", Role.ADMIN)


def load_campaign(
    store: DocumentStore, company_id: str, campaign_id: str
) -> tuple[Company, Campaign]:
    company_snap, snap = store.get_all(
        [company_path(company_id), campaign_path(company_id, campaign_id)]
    )
    if company_snap.data is None or snap.data is None:
        raise NotFound(f"No campaign {campaign_id}.")
    company = Company.model_validate({**company_snap.data, "id": company_id})
    return company, Campaign.model_validate({**snap.data, "id": campaign_id})


def _ready(company: Company, campaign: Campaign, action: str, now: datetime) -> None:
    """What a campaign needs before it may be scheduled or start sending."""
    if action == "schedule" and (campaign.starts_at is None or campaign.starts_at <= now):
        raise InvalidInput(
            "Scheduling needs a future starts_at.", {"fields": {"starts_at": "in the future"}}
        )
    if action in ("schedule", "start") and campaign.sends_messages:
        require_marketing_ready(company, campaign.channel)


def change_status(
    store: DocumentStore,
    queue: TaskQueue,
    now: datetime,
    staff: StaffIdentity,
    campaign_id: str,
    action: str,
) -> Campaign:
    """Move a campaign: schedule, unschedule, start, pause, resume, complete or cancel.

    Starting and resuming begin a new run of send batches (resuming also queues the
    recipients whose quiet hours ended while paused); pausing and cancelling stop the
    running chain at its next batch; scheduling starts the campaign at ``starts_at``.

    Args:
        store: The document store.
        queue: For the send batches and the scheduled start.
        now: The time of the change.
        staff: The caller (a manager or admin of the campaign's company).
        campaign_id: The campaign.
        action: One of ``shared.campaigns.domain.campaigns.TRANSITIONS``.

    Returns:
        The campaign as changed.

    Raises:
        PermissionDenied: a role below manager. NotFound: no such campaign.
        Refused: the action does not apply to the campaign's status, or marketing e-mail
            without a postal address. InvalidInput: scheduling without a future start.
    """
    staff.require_role(Role.MANAGER)
    company_id = staff.company_id
    company, _ = load_campaign(store, company_id, campaign_id)

    def move(tx: Transaction) -> Campaign:
        snap = tx.get(campaign_path(company_id, campaign_id))
        if snap.data is None:
            raise NotFound(f"No campaign {campaign_id}.")
        campaign = Campaign.model_validate({**snap.data, "id": campaign_id})
        target = transition(campaign.status, action)
        _ready(company, campaign, action, now)
        update = _update(campaign, action, target, staff, now)
        if action == "resume":
            requeue_due(tx, company_id, campaign_id, now)
        tx.write(Write(snap.path, update, "merge"))
        return campaign.model_copy(update={**update, "status": target})

    moved = store.run_transaction(move)
    _follow_up(store, queue, now, moved, action)
    log.info("campaign %s/%s: %s by %s", company_id, campaign_id, action, staff.uid)
    return moved


def _update(
    campaign: Campaign, action: str, target: CampaignStatus, staff: StaffIdentity, now: datetime
) -> dict[str, Any]:
    update: dict[str, Any] = {
        "status": target.value,
        "status_reason": f"{action} by {staff.uid}",
        "updated_at": now,
        "updated_by": staff.uid,
    }
    if action in ("start", "resume") and campaign.sends_messages:
        update |= {"run": campaign.run + 1, "chain_active": True}
    if action == "start":
        update["started_at"] = now
    if target in (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED):
        update |= {"completed_at": now, "chain_active": False}
    return update


def _follow_up(
    store: DocumentStore, queue: TaskQueue, now: datetime, campaign: Campaign, action: str
) -> None:
    if action in ("start", "resume") and campaign.sends_messages:
        ref = BatchRef(campaign.company_id, campaign.id, campaign.run, 1, "")
        schedule_batch(store, queue, now, ref, now)
    if action == "schedule" and campaign.starts_at is not None:
        schedule_task(
            store,
            queue,
            now,
            company_id=campaign.company_id,
            task_type="campaign_start",
            data={"campaign_id": campaign.id, "starts_at": campaign.starts_at.isoformat()},
            run_at=campaign.starts_at,
            key=f"campaign_start:{campaign.company_id}:{campaign.id}:{campaign.starts_at}",
        )


def campaign_start_task(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """Task ``campaign_start`` (data: ``campaign_id``, ``starts_at``): a scheduled
    campaign starts; if its start time was changed since, it is scheduled for the new one."""
    campaign_id = str(task.data.get("campaign_id") or "")
    _, campaign = load_campaign(ctx.store, task.company_id, campaign_id)
    if campaign.status != CampaignStatus.SCHEDULED:
        return {"skipped": f"campaign {campaign.status.value}"}
    due = campaign.starts_at
    if due is not None and due.isoformat() != task.data.get("starts_at") and due > ctx.now:
        _follow_up(ctx.store, ctx.queue, ctx.now, campaign, "schedule")
        return {"rescheduled": due.isoformat()}
    system = StaffIdentity(SYSTEM.uid, task.company_id, Role.ADMIN)
    try:
        change_status(ctx.store, ctx.queue, ctx.now, system, campaign_id, "start")
    except Refused as err:  # e.g. the postal address was removed since scheduling
        return {"skipped": err.message}
    return {"started": campaign_id}


def preview(
    store: DocumentStore,
    staff: StaffIdentity,
    campaign_id: str,
    limit: int,
    template: MessageTemplate | None = None,
) -> dict[str, Any]:
    """The message each of the first ``limit`` recipients would get, or why not.

    Args:
        store: The document store.
        staff: The caller: a manager or admin, as for sending (a preview shows every
            recipient's data, and a user sees only the leads assigned to them).
        campaign_id: The campaign.
        limit: How many recipients to render (1-100).
        template: A template to try instead of the campaign's saved one.

    Returns:
        ``{"recipients": [{"id", "kind", "to", "subject", "body"} or {"id", "kind",
        "error"}], "rendered": n, "errors": m}``.

    Raises:
        NotFound: no such campaign. InvalidInput: no template to preview.
        PermissionDenied: a role below manager.
    """
    staff.require_role(Role.MANAGER)
    company, campaign = load_campaign(store, staff.company_id, campaign_id)
    if template is not None:
        campaign = campaign.model_copy(update={"template": template})
    if campaign.template is None:
        raise InvalidInput("The campaign has no template.", {"fields": {"template": "required"}})
    shown: list[dict[str, Any]] = []
    target = campaign.target.model_copy(update={"limit": limit})
    for candidate in candidates(store, company.id, target, campaign.channel):
        recipient = Recipient(
            id=candidate.id,
            company_id=company.id,
            campaign_id=campaign.id,
            kind="lead" if candidate.kind == "lead" else "contact",
            business_id=candidate.business.get("id"),
        )
        planned = plan(company, campaign, recipient, (candidate.data, candidate.business))
        item: dict[str, Any] = {"id": candidate.id, "kind": candidate.kind}
        if isinstance(planned, str):
            shown.append({**item, "error": planned})
        else:
            sent = {"to": planned.to, "subject": planned.subject, "body": planned.body}
            shown.append({**item, **sent})
    errors = sum(1 for s in shown if "error" in s)
    return {"recipients": shown, "rendered": len(shown) - errors, "errors": errors}


_OUTCOME_STAT = {"responded": "responded", "converted": "converted", "excluded": "excluded"}


def mark_recipient(
    store: DocumentStore,
    now: datetime,
    staff: StaffIdentity,
    campaign_id: str,
    recipient_id: str,
    status: str,
    reason: str | None = None,
) -> dict[str, Any]:
    """Record a recipient's outcome (responded, converted, or excluded by hand); a
    contact's reply also marks its outreach message replied.

    Raises:
        NotFound: no such campaign or recipient. PermissionDenied: a role below user, or
            a user marking a lead not assigned to them.
    """
    staff.require_role(Role.USER)
    company_id = staff.company_id
    path = recipient_path(company_id, campaign_id, recipient_id)

    def mark(tx: Transaction) -> dict[str, Any]:
        snap, campaign = tx.get_all([path, campaign_path(company_id, campaign_id)])
        if snap.data is None or campaign.data is None:
            raise NotFound(f"No recipient {recipient_id} in campaign {campaign_id}.")
        recipient = Recipient.model_validate(snap.data)
        if recipient.kind == "lead" and not sees_every_lead(staff):
            lead_guard(staff, tx.get(lead_path(company_id, recipient.id)).data)
        update: dict[str, Any] = {"status": status, "updated_at": now, "updated_by": staff.uid}
        update |= {"reason": reason} if reason else {}
        tx.write(Write(path, update, "merge"))
        if recipient.status.value != status:
            stats = {"stats": {_OUTCOME_STAT[status]: Increment(1)}}
            tx.write(Write(campaign.path, stats, "merge"))
        if recipient.kind == "contact" and status == RecipientStatus.RESPONDED.value:
            channel = str(campaign.data.get("channel") or "email")
            mid = message_id(campaign_id, recipient.business_id or "", recipient.id, channel)
            replied = {"status": "replied", "replied_at": now, "updated_at": now}
            tx.write(Write(message_path(company_id, mid), replied, "merge"))
        return {**snap.data, **update}

    return store.run_transaction(mark)
