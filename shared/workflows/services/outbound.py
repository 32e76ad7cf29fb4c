"""Workflow steps that reach outside: e-mail and SMS through the ``Messenger``, webhooks.

Messages and webhook calls cannot be part of a Firestore commit, so they go out first,
under an idempotency key derived from (enrolment, step, visit): a retry after a lost
commit is deduplicated by the outbox or SMTP layer, and a webhook receiver can fold
retries by the ``Idempotency-Key`` header. Once the commit holding the step's ledger entry
lands, the step is never run again.
"""

from __future__ import annotations

from typing import Literal

from shared.campaigns.services.policy import (
    Outreach,
    SendResult,
    links_from_settings,
    send_marketing,
)
from shared.domain.common import stable_id
from shared.domain.leads import handed_status, interaction_path
from shared.ports import Write
from shared.workflows.domain.definition import SendEmail, SendSms, Webhook
from shared.workflows.domain.runtime import render, render_spans
from shared.workflows.services.context import StepContext, StepEffect

LEAD_FIELDS = ("email", "name", "phone", "status", "score", "tags")


def send(ctx: StepContext, step: SendEmail | SendSms) -> StepEffect:
    """Send the step's message to the lead, unless they have no address or the outreach
    policy refuses it (no consent, opted out, capped; see ``send_marketing``)."""
    lead = ctx.lead_data
    channel: Literal["email", "sms"] = "email" if isinstance(step, SendEmail) else "sms"
    to = lead.get("email") if channel == "email" else lead.get("phone")
    if not isinstance(to, str) or not to:
        return StepEffect(f"skipped: no {channel} address", ctx.after)
    subject = render(step.subject, lead, ctx.company_name) if isinstance(step, SendEmail) else ""
    body, filled = render_spans(step.body, lead, ctx.company_name)
    # Marketing: suppressions, frequency caps, quiet hours and the unsubscribe footer
    # apply as to campaigns (shared.campaigns.services.policy, the one place for them).
    result = send_marketing(
        ctx.store,
        ctx.messenger,
        links_from_settings(),
        ctx.now,
        ctx.company,
        Outreach(channel, to, subject, body, ctx.key, lead, _refs(ctx), filled),
    )
    if result.outcome == "deferred" and result.until is not None:
        # The same step again when quiet hours end (its next visit, so a new key).
        outcome = f"deferred until {result.until.isoformat()} ({result.reason})"
        return StepEffect(outcome, ctx.step.id, resume_at=result.until)
    if result.outcome != "sent":
        error = {"error": result.reason} if result.outcome == "failed" else {}
        outcome = "failed" if error else f"skipped: {result.reason}"
        return StepEffect(outcome, ctx.after, list(result.writes), detail=error)
    sent = result.message.body if result.message is not None else body
    timeline = _timeline(ctx, channel, subject, sent, result)
    detail = {"message_id": result.provider_id}
    return StepEffect("sent", ctx.after, [timeline, *result.writes], detail=detail)


def _refs(ctx: StepContext) -> dict[str, str]:
    """What the send record keeps for tracking opens and clicks of this message."""
    interaction = stable_id("workflow", ctx.key)
    return {
        "lead_id": ctx.execution.lead_id,
        "interaction": interaction_path(ctx.company_id, ctx.execution.lead_id, interaction),
        "workflow_id": ctx.execution.workflow_id,
        "execution_id": ctx.execution.id,
        "step_id": ctx.step.id,
    }


def _timeline(ctx: StepContext, channel: str, subject: str, body: str, sent: SendResult) -> Write:
    """The message on the lead's timeline (``sent``, or ``queued`` when only recorded),
    tagged with its enrolment and step so that a branch on opens or clicks of that
    message finds it; its id is derived, so a replay overwrites it instead of adding
    another."""
    lead_id, interaction_id = ctx.execution.lead_id, stable_id("workflow", ctx.key)
    data = {
        "id": interaction_id,
        "lead_id": lead_id,
        "company_id": ctx.company_id,
        "type": channel,
        "direction": "outbound",
        "channel": channel,
        "status": handed_status(sent.accepted).value,
        "subject": subject or None,
        "body": body,
        "metadata": {
            "workflow_id": ctx.execution.workflow_id,
            "execution_id": ctx.execution.id,
            "step_id": ctx.step.id,
            "message_id": sent.provider_id,
        },
        "created_at": ctx.now,
        "updated_at": ctx.now,
    }
    return Write(interaction_path(ctx.company_id, lead_id, interaction_id), data, "set")


def call_webhook(ctx: StepContext, step: Webhook) -> StepEffect:
    """POST the enrolment and the lead to the step's URL (``Transient`` to retry)."""
    lead = {"id": ctx.execution.lead_id, **{k: ctx.lead_data.get(k) for k in LEAD_FIELDS}}
    payload = {
        "event": "workflow.step",
        "company_id": ctx.company_id,
        "workflow_id": ctx.execution.workflow_id,
        "execution_id": ctx.execution.id,
        "step_id": step.id,
        "lead": lead,
        "sent_at": ctx.now.isoformat(),
    }
    status = ctx.webhooks.post(
        step.url, payload, timeout=step.timeout_seconds, idempotency_key=ctx.key
    )
    return StepEffect(f"webhook answered {status}", ctx.after)
