"""Telling staff a lead came in: the ``new_lead_alert`` task (scheduled by
``on_lead_written`` for companies with ``settings.notify_new_leads``).

The alert goes to the lead's assignee, or, while the lead has none, to every active admin
of the company: whoever must call the customer back. It is transactional mail to staff,
keyed by the task, so a retried task sends it once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from shared.domain.company import company_path
from shared.domain.identity import Role
from shared.domain.leads import Interaction, InteractionType, lead_path
from shared.domain.tasks import ScheduledTask
from shared.domain.users import CompanyUser, UserStatus
from shared.errors import InvalidInput
from shared.ports import DocumentStore, Filter, OutboundMessage
from shared.services.task_handlers import TaskContext

log = logging.getLogger("growthkit.leads")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SHOWN = (("name", "Name"), ("email", "E-mail"), ("phone", "Phone"), ("source", "Source"))


def new_lead_alert_task(ctx: TaskContext, task: ScheduledTask) -> dict[str, Any]:
    """Task ``new_lead_alert`` (data: ``lead_id``): e-mail the lead to its assignee, or to
    the company's admins."""
    lead_id = task.data.get("lead_id")
    if not isinstance(lead_id, str) or not lead_id:
        raise InvalidInput("A new_lead_alert task needs data.lead_id.")
    company, lead = ctx.store.get_all(
        [company_path(task.company_id), lead_path(task.company_id, lead_id)]
    )
    if lead.data is None:
        return {"skipped": "lead deleted"}
    recipients = _recipients(ctx.store, task.company_id, lead.data.get("assigned_to"))
    if not recipients:
        return {"skipped": "no staff with an e-mail address to tell"}
    who = str(lead.data.get("name") or lead.data.get("email") or lead_id)
    subject = f"New lead: {who}"
    message = _form_message(ctx.store, task.company_id, lead_id)
    body = _body(str((company.data or {}).get("name") or ""), lead.data, message)
    sent = []
    for uid, address in recipients:
        key = f"{task.key}:{uid}"
        sent.append(ctx.messenger.send(OutboundMessage("email", address, subject, body, key)))
    log.info("new lead %s/%s told to %s", task.company_id, lead_id, [u for u, _ in recipients])
    return {"sent_to": [uid for uid, _ in recipients], "message_ids": sent}


def _recipients(store: DocumentStore, company_id: str, assignee: object) -> list[tuple[str, str]]:
    """(uid, e-mail) of the assignee, else of every admin: invited or active staff (an
    unproven or leaving account is told nothing)."""
    users = f"{company_path(company_id)}/users"
    if isinstance(assignee, str) and assignee:
        found = store.get_all([f"{users}/{assignee}"])
    else:
        found = store.query(users, [Filter("role", "==", Role.ADMIN.value)])
    profiles = [
        CompanyUser.model_validate({**snap.data, "id": snap.path.rsplit("/", 1)[1]})
        for snap in found
        if snap.data is not None
    ]
    told = (UserStatus.INVITED, UserStatus.ACTIVE)
    return [(p.id, p.email) for p in profiles if p.status in told and "@" in p.email]


def _form_message(store: DocumentStore, company_id: str, lead_id: str) -> str | None:
    """What the visitor wrote in the form that made the lead (its latest form post)."""
    found = store.query(
        f"{lead_path(company_id, lead_id)}/interactions",
        [Filter("type", "==", InteractionType.FORM.value)],
    )
    posts = [
        Interaction.model_validate({**snap.data, "id": snap.path.rsplit("/", 1)[1]})
        for snap in found
        if snap.data is not None
    ]
    latest = max(posts, key=lambda post: post.created_at or EPOCH, default=None)
    return latest.body if latest is not None else None


def _body(company_name: str, lead: dict[str, Any], message: str | None) -> str:
    lines = [f"A new lead came in{' at ' + company_name if company_name else ''}:", ""]
    lines += [f"{label}: {lead[field]}" for field, label in _SHOWN if lead.get(field)]
    if message:
        lines += ["", "Their message:", message]
    lines += ["", "Open it in your staff app to follow up."]
    return "\n".join(lines)
