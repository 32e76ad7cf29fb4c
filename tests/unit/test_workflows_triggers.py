"""Enrolment by events and schedules on the fakes: the right workflows, once per event,
and goals ending enrolments as soon as they are reached."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.events import DocumentEvent
from shared.services.task_handlers import TaskContext
from shared.workflows.services.schedule import workflow_fire_task
from shared.workflows.services.triggers import on_interaction_workflows, on_lead_workflows
from tests.periodic_runs import results_of, run_periodic
from tests.workflow_support import EMAIL, LEAD, Env, at, enrol_lead, new_env, save

WAIT = {"type": "wait", "duration": {"days": 1}}


def lead_event(env: Env, before: dict[str, Any] | None, event_id: str = "e1") -> DocumentEvent:
    params = {"companyId": "acme", "leadId": "l1"}
    return DocumentEvent(event_id, "written", LEAD, before, env.doc(LEAD), params=params)


def form_event(form_id: str | None, event_id: str = "f1", **changes: Any) -> DocumentEvent:
    before = changes.pop("before", None)
    data = {"type": "form", "direction": "inbound", "metadata": {"form_id": form_id}, **changes}
    params = {"companyId": "acme", "leadId": "l1", "interactionId": "i1"}
    return DocumentEvent(
        event_id, "written", f"{LEAD}/interactions/i1", before, data, params=params
    )


def executions(env: Env) -> dict[str, str]:
    """Workflow id -> status of every enrolment."""
    found = env.docs("companies/acme/workflow_executions").values()
    return {e["workflow_id"]: e["status"] for e in found}


def test_a_new_lead_enrols_in_matching_workflows_once() -> None:
    """lead_created workflows whose conditions hold enrol it; a duplicate delivery (or
    the lead's next event) does not enrol it again."""
    env = new_env(source="referral")
    save(env, EMAIL, workflow_id="all", trigger={"type": "lead_created"})
    referral = {"field": "source", "op": "==", "value": "referral"}
    save(env, EMAIL, workflow_id="refs", trigger={"type": "lead_created", "conditions": [referral]})
    web = {**referral, "value": "web_form"}
    save(env, EMAIL, workflow_id="web", trigger={"type": "lead_created", "conditions": [web]})
    save(env, EMAIL, workflow_id="off", trigger={"type": "lead_created"}, status="inactive")
    event = lead_event(env, None)
    assert "enrolled 2, goal 0, notified 0" == on_lead_workflows(
        env.store, env.queue, at(env), event, "fn"
    )
    assert "enrolled 0, goal 0, notified 0" == on_lead_workflows(
        env.store, env.queue, at(env), event, "fn"
    )
    assert {"all": "active", "refs": "active"} == executions(env)
    assert 2 == len(env.queue.tasks)


def test_status_and_tag_changes_enrol_their_workflows() -> None:
    """Status becoming qualified and a tag added each fire their own trigger only."""
    env = new_env(status="qualified", tags=["vip"])
    save(
        env,
        EMAIL,
        workflow_id="qualified",
        trigger={"type": "status_changed", "status": "qualified"},
    )
    save(env, EMAIL, workflow_id="lost", trigger={"type": "status_changed", "status": "lost"})
    save(env, EMAIL, workflow_id="vip", trigger={"type": "tag_added", "tag": "vip"})
    before = {**env.doc(LEAD), "status": "new", "tags": []}
    on_lead_workflows(env.store, env.queue, at(env), lead_event(env, before), "fn")
    assert {"qualified", "vip"} == set(executions(env))


def test_changes_that_fire_nothing_read_nothing() -> None:
    """A note edited: no trigger type applies, so not even the workflows are queried."""
    env = new_env()
    commits = env.store.commits
    assert "no trigger" == on_lead_workflows(
        env.store, env.queue, at(env), lead_event(env, env.doc(LEAD)), "fn"
    )
    assert commits == env.store.commits


def test_form_submissions_enrol_by_form() -> None:
    """A new inbound form interaction enrols in workflows for that form or any form."""
    env = new_env()
    save(env, EMAIL, workflow_id="quote", trigger={"type": "form_submitted", "form_id": "quote"})
    save(env, EMAIL, workflow_id="any", trigger={"type": "form_submitted"})
    save(
        env, EMAIL, workflow_id="newsletter", trigger={"type": "form_submitted", "form_id": "news"}
    )
    assert "enrolled 2" == on_interaction_workflows(
        env.store, env.queue, at(env), form_event("quote"), "fn"
    )
    assert {"quote", "any"} == set(executions(env))


def test_a_reply_ends_enrolments_with_that_goal_at_once() -> None:
    """An interaction becoming replied ends the lead's enrolments whose goal is a reply
    and cancels the task waiting to run their next step; others go on."""
    env = new_env()
    enrol_lead(env, save(env, WAIT, EMAIL, workflow_id="reply", goals=[{"kind": "replied"}]))
    enrol_lead(env, save(env, WAIT, EMAIL, workflow_id="plain"))
    env.run_due()
    reply = form_event(None, "r1", type="email", status="replied", before={"status": "delivered"})
    assert "goal 1" == on_interaction_workflows(env.store, env.queue, at(env), reply, "fn")
    assert {"reply": "goal_reached", "plain": "active"} == executions(env)
    assert 1 == len(env.queue.cancelled)
    env.clock.advance(days=1)
    env.run_due()
    assert ["Hi Jane"] == [m.subject for m in env.messenger.calls]  # only "plain" went on


def test_schedules_fire_once_per_cron_time_and_enrol_matching_leads() -> None:
    """A daily 09:00 workflow fires one task at 09:00 (not again in later runs that
    day); the task enrols the leads matching its conditions, once even if retried."""
    env = new_env(status="qualified")
    env.clock.current = env.clock.current.replace(hour=8)
    env.seed(LEAD, {**env.doc(LEAD), "created_at": at(env)})
    env.seed("companies/acme/leads/l2", {"email": "b@example.com", "created_at": at(env)})
    qualified = [{"field": "status", "op": "==", "value": "qualified"}]
    daily = {"type": "schedule", "cron": "0 9 * * *", "conditions": qualified}
    save(env, EMAIL, workflow_id="daily", trigger=daily, allow_reenrolment=True)
    env.clock.advance(hours=1, seconds=30)
    job, only = "enrol_scheduled_workflows", ("periodic_company",)
    runs = [
        results_of(run_periodic(env.store, env.queue, job, at(env) + m, only=only))
        for m in (timedelta(0), timedelta(minutes=1), timedelta(hours=2))
    ]
    assert [[1], [], []] == runs  # the later runs find no workflow due: no task at all
    (fire,) = [t for t in env.due_tasks() if t.type == "workflow_fire"]
    ctx = TaskContext(env.store, env.queue, env.messenger, at(env))
    first = {"workflow_id": "daily", "page": 1, "leads": 2, "enrolled": 1}
    assert first == workflow_fire_task(ctx, fire)
    assert {**first, "enrolled": 0} == workflow_fire_task(ctx, fire)
    assert {"daily": "active"} == executions(env)
