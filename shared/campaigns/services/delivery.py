"""One campaign message to one recipient, through the outreach policy.

The recipient's outcome (contacted, excluded, deferred), the campaign's counters, the
lead's timeline entry or the contact's outreach message, and the policy's send record are
written in one commit after the send: a batch cut short before that commit finds the
recipient still queued, and sending it again reuses the reserved send and its key, so
nothing goes out twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.campaigns.domain.campaigns import Campaign, Recipient, SendState
from shared.campaigns.domain.keys import RecipientStatus, campaign_path, send_key
from shared.campaigns.domain.outreach import business_path, contact_path
from shared.campaigns.domain.outreach_keys import message_id, message_path
from shared.campaigns.domain.templates import (
    TemplateProblem,
    contact_context,
    lead_context,
    render_message,
)
from shared.campaigns.domain.tracking import LinkSigner
from shared.campaigns.services.policy import Outreach, SendResult, send_marketing
from shared.domain.common import stable_id
from shared.domain.company import Company
from shared.domain.consent import send_refusal
from shared.domain.leads import handed_status, interaction_path, lead_path
from shared.ports import DocumentStore, Increment, Messenger, Snapshot, TaskQueue, Write
from shared.services.scheduling import schedule_task

log = logging.getLogger("growthkit.campaigns")


def _company_fields(company: Company) -> dict[str, Any]:
    return {"name": company.name, "website": company.website, "industry": company.industry}


def _target(
    store: DocumentStore, company_id: str, recipient: Recipient
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The lead, or the contact and its business, as they are now (None: deleted)."""
    if recipient.kind == "lead":
        lead = store.get_all([lead_path(company_id, recipient.id)])[0].data
        return (lead, {}) if lead is not None else None
    paths = [contact_path(company_id, recipient.id)]
    if recipient.business_id:
        paths.append(business_path(company_id, recipient.business_id))
    snaps = store.get_all(paths)
    if snaps[0].data is None:
        return None
    return snaps[0].data, (snaps[1].data or {}) if len(snaps) > 1 else {}


def _refs(campaign: Campaign, recipient: Recipient, key: str) -> dict[str, str]:
    """What the send record keeps for tracking: the campaign, and the lead's timeline
    entry or the contact's outreach message."""
    refs = {"campaign_id": campaign.id}
    if recipient.kind == "lead":
        interaction = stable_id("campaign", key)
        refs |= {
            "lead_id": recipient.id,
            "interaction": interaction_path(campaign.company_id, recipient.id, interaction),
        }
    else:
        business = recipient.business_id or ""
        mid = message_id(campaign.id, business, recipient.id, campaign.channel)
        refs |= {"contact_id": recipient.id, "message_id": mid}
    return refs


def plan(
    company: Company,
    campaign: Campaign,
    recipient: Recipient,
    target: tuple[dict[str, Any], dict[str, Any]] | None,
) -> Outreach | str:
    """The message for this recipient, or why none is sent (the exclusion reason)."""
    if target is None:
        return f"the {recipient.kind} was deleted"
    person, business = target
    refusal = send_refusal(person, "marketing", campaign.channel)
    if refusal is not None:
        return refusal
    address = person.get("email" if campaign.channel == "email" else "phone")
    if not isinstance(address, str) or not address.strip():
        return f"no {campaign.channel} address"
    if campaign.template is None:
        return "the campaign has no message template"
    company_data = _company_fields(company)
    context = (
        lead_context(person, company_data)
        if recipient.kind == "lead"
        else contact_context(person, business, company_data)
    )
    try:
        rendered = render_message(campaign.template.subject, campaign.template.body, context)
    except TemplateProblem as err:
        return f"template: {err}"
    key = send_key(company.id, campaign.id, recipient.id, campaign.channel)
    tz_source = {**business, **person} if business else person
    refs = _refs(campaign, recipient, key)
    return Outreach(
        campaign.channel, address.strip(), rendered.subject, rendered.body, key, tz_source, refs,
        rendered.filled,
    )  # fmt: skip


def send_to(
    store: DocumentStore,
    queue: TaskQueue,
    messenger: Messenger,
    links: LinkSigner,
    now: datetime,
    company: Company,
    campaign: Campaign,
    snap: Snapshot,
    counters: Mapping[str, Snapshot] | None = None,
) -> str:
    """Send the campaign's message to the recipient read as ``snap``, and record it.

    Args:
        store: The document store.
        queue: For the wake-up task of a deferred recipient.
        messenger: Sends the message (through the outreach policy).
        links: Signs the message's links.
        now: The time of sending.
        company: The sender.
        campaign: The campaign.
        snap: The recipient as the batch read it.
        counters: Frequency counters the batch read ahead, by path (see
            ``send_marketing``).

    Returns:
        The outcome: sent, deferred, blocked, failed or excluded.
    """
    recipient = Recipient.model_validate(snap.data)
    outreach = plan(company, campaign, recipient, _target(store, company.id, recipient))
    if isinstance(outreach, str):
        store.commit(_excluded(campaign, recipient, snap.path, outreach, now, "excluded"))
        return "excluded"
    result = send_marketing(store, messenger, links, now, company, outreach, counters)
    store.commit(
        [*_recorded(campaign, recipient, snap.path, outreach, result, now), *result.writes]
    )
    if result.outcome == "deferred" and result.until is not None:
        _wake_later(store, queue, now, campaign, result.until)
    return result.outcome


def _excluded(
    campaign: Campaign, recipient: Recipient, path: str, reason: str, now: datetime, stat: str
) -> list[Write]:
    update = {
        "status": RecipientStatus.EXCLUDED.value,
        "send_state": SendState.DONE.value,
        "reason": reason,
        "updated_at": now,
    }
    writes = [
        Write(path, update, "merge"),
        Write(campaign_path(campaign.company_id, campaign.id), _stat(stat), "merge"),
    ]
    if recipient.kind == "contact":
        mid = message_id(campaign.id, recipient.business_id or "", recipient.id, campaign.channel)
        failed = {"status": "failed", "error": reason, "updated_at": now}
        writes.append(Write(message_path(campaign.company_id, mid), failed, "merge"))
    return writes


def _stat(name: str) -> dict[str, Any]:
    return {"stats": {name: Increment(1)}}


def _recorded(
    campaign: Campaign,
    recipient: Recipient,
    path: str,
    outreach: Outreach,
    result: SendResult,
    now: datetime,
) -> list[Write]:
    if result.outcome == "deferred":
        update = {
            "send_state": SendState.DEFERRED.value,
            "deferred_until": result.until,
            "reason": result.reason,
            "updated_at": now,
        }
        return [Write(path, update, "merge")]
    if result.outcome != "sent":
        stat = "failed" if result.outcome == "failed" else "excluded"
        return _excluded(campaign, recipient, path, f"{result.outcome}: {result.reason}", now, stat)
    update = {
        "status": RecipientStatus.CONTACTED.value,
        "send_state": SendState.DONE.value,
        "send_id": result.send_id,
        "contacted_at": now,
        "reason": None,
        "deferred_until": None,
        "updated_at": now,
    }
    writes = [
        Write(path, update, "merge"),
        Write(campaign_path(campaign.company_id, campaign.id), _stat("sent"), "merge"),
    ]
    return writes + [_trace(campaign, recipient, outreach, result, now)]


def _trace(
    campaign: Campaign, recipient: Recipient, outreach: Outreach, result: SendResult, now: datetime
) -> Write:
    """The lead's timeline entry for the message, or the contact's outreach message."""
    if recipient.kind == "contact":
        return _message_sent(campaign, outreach, result, now)
    message = result.message
    body = message.body if message is not None else outreach.body
    data = {
        "id": outreach.refs["interaction"].rsplit("/", 1)[1],
        "lead_id": recipient.id,
        "company_id": campaign.company_id,
        "type": campaign.channel,
        "direction": "outbound",
        "channel": campaign.channel,
        "status": handed_status(result.accepted).value,
        "subject": outreach.subject or None,
        "body": body,
        "metadata": {
            "campaign_id": campaign.id,
            "send_id": result.send_id,
            "message_id": result.provider_id,
        },
        "created_at": now,
        "updated_at": now,
    }
    return Write(outreach.refs["interaction"], data, "set")


def _message_sent(
    campaign: Campaign, outreach: Outreach, result: SendResult, now: datetime
) -> Write:
    sent = {
        "status": "sent",
        "to": outreach.to,
        "subject": outreach.subject,
        "send_id": result.send_id,
        "provider_id": result.provider_id,
        "sent_at": now,
        "updated_at": now,
    }
    return Write(message_path(campaign.company_id, outreach.refs["message_id"]), sent, "merge")


def wake_key(company_id: str, campaign_id: str, at: datetime) -> str:
    return f"campaign_wake:{company_id}:{campaign_id}:{at.isoformat()}"


def _wake_later(
    store: DocumentStore, queue: TaskQueue, now: datetime, campaign: Campaign, at: datetime
) -> None:
    """One wake-up task per campaign and time: recipients deferred to the same hour
    share it (their time zones' 08:00 often coincide)."""
    schedule_task(
        store,
        queue,
        now,
        company_id=campaign.company_id,
        task_type="campaign_wake",
        data={"campaign_id": campaign.id},
        run_at=at,
        key=wake_key(campaign.company_id, campaign.id, at),
    )
