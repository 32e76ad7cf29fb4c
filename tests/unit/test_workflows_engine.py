"""Running enrolments on the fakes: waits as tasks, branches, goals, each step's effect
exactly once, re-enrolment rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.errors import Contention, InvalidInput, Transient
from shared.workflows.domain.runtime import ExecutionStatus, execution_path, ledger_path
from shared.workflows.services.enrolment import enrol
from tests.workflow_support import COMPANY, EMAIL, LEAD, Env, at, enrol_lead, new_env, save

WAIT = {"type": "wait", "duration": {"days": 2}}
OPENED = {"kind": "engagement", "event": "opened", "within_hours": 48, "step": "welcome"}
NURTURE = (
    {**EMAIL, "id": "welcome"},
    WAIT,
    {"type": "branch", "branch": {"condition": OPENED, "then": "engaged", "else": "nudge"}},
    {"id": "engaged", "type": "add_tag", "tag": "engaged", "next": "end"},
    {"id": "nudge", "type": "send_email", "subject": "Still there?", "body": "Hi {name}"},
)


def mark_opened(env: Env) -> None:
    """The welcome e-mail's interaction becomes opened (as open tracking would)."""
    interactions = env.docs(f"{LEAD}/interactions")
    (interaction_id,) = interactions
    opened = {**interactions[interaction_id], "status": "opened", "updated_at": at(env)}
    env.seed(f"{LEAD}/interactions/{interaction_id}", opened)


@pytest.mark.parametrize(
    ("opened", "path", "subjects"),
    [(True, "engaged", ["Hi Jane"]), (False, "nudge", ["Hi Jane", "Still there?"])],
)
def test_nurture_sequence_waits_then_branches_on_the_open(
    opened: bool, path: str, subjects: list[str]
) -> None:
    """Welcome e-mail now; the branch only after two days (a task due then); opened
    takes 'then' (tag), not opened 'else' (second e-mail); the enrolment completes."""
    env = new_env()
    execution_id = enrol_lead(env, save(env, *NURTURE))
    env.run_due()
    waiting = env.execution(execution_id)
    assert (1, "step-3") == (len(env.messenger.calls), waiting.cursor and waiting.cursor.step_id)
    assert ["sent", f"waiting until {(at(env) + timedelta(days=2)).isoformat()}"] == [
        s.outcome for s in waiting.steps
    ]
    env.clock.advance(days=1)
    assert [] == env.run_due()  # the branch's task is not due yet
    if opened:
        mark_opened(env)
    env.clock.advance(days=1)
    env.run_due()
    done = env.execution(execution_id)
    assert ExecutionStatus.COMPLETED == done.status
    assert ["welcome", "step-2", "step-3", path] == [s.step_id for s in done.steps]
    assert subjects == [m.subject for m in env.messenger.calls]
    assert opened == ("engaged" in env.doc(LEAD).get("tags", []))


def test_the_message_is_rendered_and_keyed_by_enrolment_and_step() -> None:
    """Subject and body filled from the lead and company; the key names the step."""
    env = new_env()
    execution_id = enrol_lead(env, save(env, {**EMAIL, "id": "welcome"}))
    env.run_due()
    (message,) = env.messenger.calls
    assert ("jane@example.com", "Hi Jane", "Welcome to Acme Plumbing") == (
        message.to,
        message.subject,
        message.body.split("\n\n--\n")[0],  # then the marketing footer (outreach policy)
    )
    assert f"workflow:{COMPANY}:{execution_id}:welcome:1" == message.idempotency_key
    ledger = env.doc(ledger_path(COMPANY, execution_id, "welcome", 1))
    assert ("sent", message.idempotency_key.replace("workflow:", "msg-workflow:")) == (
        ledger["outcome"],
        ledger["message_id"],
    )


def test_a_step_whose_commit_was_lost_sends_under_the_same_key() -> None:
    """The send happens, the commit fails (contention three times: the task is
    retried); the retry sends again under the same key, which the outbox folds into
    one message; the ledger then holds one entry."""
    env = new_env()
    execution_id = enrol_lead(env, save(env, {**EMAIL, "id": "welcome"}))
    commit, failures = env.store.commit, [Contention("x")] * 3

    def flaky(writes: Any) -> None:
        if failures and any("/ledger/" in w.path for w in writes):
            raise failures.pop()
        commit(writes)

    env.store.commit = flaky  # type: ignore[method-assign]
    (task,) = env.due_tasks()
    with pytest.raises(Transient):
        env.run(task)
    env.run(task)
    assert (4, 1) == (len(env.messenger.calls), len(env.messenger.unique))
    assert 1 == len(env.docs(f"{execution_path(COMPANY, execution_id)}/ledger"))


def test_a_task_delivered_again_after_it_ran_does_nothing() -> None:
    """Re-running a finished step's task (a duplicate delivery whose lease expired) finds
    the cursor moved on: no second e-mail."""
    env = new_env()
    enrol_lead(env, save(env, {**EMAIL, "id": "welcome"}, WAIT, EMAIL))
    (first,) = env.due_tasks()
    env.run(first)
    again = env.run(first)
    assert ([], 1) == (again["steps"], len(env.messenger.calls))
    assert "superseded by a later task" == again["then"]


def test_enrolled_once_unless_re_enrolment_is_allowed() -> None:
    """A second enrolment is refused; with re-enrolment, refused while the first run is
    active and a new run (new id) once it ended."""
    env = new_env()
    once = save(env, EMAIL)
    enrol_lead(env, once)
    again = enrol(
        env.store, env.queue, at(env), workflow=once, lead_id="l1", enrolled_by="t", cause="c"
    )
    assert "already enrolled" == again.outcome
    repeat = save(env, WAIT, EMAIL, workflow_id="repeat", allow_reenrolment=True)
    first = enrol_lead(env, repeat)
    busy = enrol(
        env.store, env.queue, at(env), workflow=repeat, lead_id="l1", enrolled_by="t", cause="c"
    )
    assert ("still enrolled", first) == (busy.outcome, busy.execution_id)
    env.run_due()
    env.clock.advance(days=3)
    env.run_due()
    second = enrol_lead(env, repeat)
    assert (first != second, 2) == (True, env.execution(second).run)


def test_a_goal_ends_the_enrolment_before_its_next_step() -> None:
    """Converting during the wait: the next step finds the goal and sends nothing."""
    env = new_env()
    execution_id = enrol_lead(env, save(env, EMAIL, WAIT, EMAIL, goals=[{"kind": "converted"}]))
    env.run_due()
    env.seed(LEAD, {**env.doc(LEAD), "status": "converted"})
    env.clock.advance(days=2)
    env.run_due()
    done = env.execution(execution_id)
    assert (ExecutionStatus.GOAL_REACHED, "goal reached: converted", 1) == (
        done.status,
        done.exit_reason,
        len(env.messenger.calls),
    )


def test_an_inactive_workflow_or_a_deleted_lead_ends_enrolments() -> None:
    """Deactivating the workflow exits its enrolments at their next step."""
    env = new_env()
    execution_id = enrol_lead(env, save(env, WAIT, EMAIL))
    env.run_due()
    workflow_doc = "companies/acme/workflows/nurture"
    env.seed(workflow_doc, {**env.doc(workflow_doc), "status": "inactive"})
    env.clock.advance(days=2)
    env.run_due()
    assert ("exited", "workflow inactive") == (
        env.execution(execution_id).status.value,
        env.execution(execution_id).exit_reason,
    )


def test_lead_steps_change_the_lead_once() -> None:
    """Status, tags, score and a staff task: applied, recorded, and an exit step ends."""
    env = new_env(tags=["old"])
    steps = (
        {"type": "update_status", "status": "contacted"},
        {"type": "add_tag", "tag": "nurtured"},
        {"type": "remove_tag", "tag": "old"},
        {"type": "adjust_score", "points": 7, "name": "replied to nurture"},
        {"type": "create_task", "title": "Call {name}", "due_in_hours": 24},
        {"type": "exit"},
        {"type": "send_email", "subject": "never", "body": "never"},
    )
    execution_id = enrol_lead(env, save(env, *steps))
    env.run_due()
    lead = env.doc(LEAD)
    assert ("contacted", ["nurtured"], 7, 7) == (
        lead["status"],
        lead["tags"],
        lead["engagement_score"],
        lead["score"],
    )
    (task,) = env.docs("companies/acme/staff_tasks").values()
    assert ("Call Jane Doe", at(env) + timedelta(hours=24)) == (task["title"], task["due_at"])
    (history,) = env.docs("companies/acme/lead_score_history").values()
    assert ("workflow:nurture:step-4", 7, "replied to nurture") == (
        history["rule_id"],
        history["points"],
        history["rule_name"],
    )
    done = env.execution(execution_id)
    assert ("exited", "exited at step-6", []) == (
        done.status.value,
        done.exit_reason,
        env.messenger.calls,
    )


def test_round_robin_assignment_takes_turns() -> None:
    """Three leads through an assign step share a team of two: u1, u2, u1."""
    env = new_env()
    env.seed("companies/acme/teams/sales", {"members": ["u1", "u2"]})
    workflow = save(env, {"type": "assign", "team_id": "sales"})
    for lead_id in ("l1", "l2", "l3"):
        env.seed(f"companies/acme/leads/{lead_id}", {"email": f"{lead_id}@example.com"})
        enrol_lead(env, workflow, lead_id)
    env.run_due()
    owners = [env.doc(f"companies/acme/leads/{i}")["assigned_to"] for i in ("l1", "l2", "l3")]
    assert ["u1", "u2", "u1"] == owners


def test_webhooks_retry_on_transient_failures_and_record_refusals() -> None:
    """A 5xx or timeout retries the task at the webhook; a 4xx is recorded as the step's
    failure and the enrolment goes on."""
    env = new_env()
    env.webhooks.errors = [Transient("timed out"), None, InvalidInput("refused with 404")]
    hook = {"type": "webhook", "url": "https://crm.example/hook"}
    execution_id = enrol_lead(
        env, save(env, hook, {**hook, "id": "again"}, {"type": "add_tag", "tag": "t"})
    )
    (task,) = env.due_tasks()
    with pytest.raises(Transient):
        env.run(task)
    env.run(task)
    steps = env.execution(execution_id).steps
    assert [
        ("step-1", "webhook answered 200", None),
        ("again", "failed", "refused with 404"),
        ("step-3", "tag 't' added", None),
    ] == [(s.step_id, s.outcome, s.error) for s in steps]
    keys = [key for _, _, key in env.webhooks.calls]
    assert keys[0] == keys[1] != keys[2]  # the retry carries the same Idempotency-Key
    assert {"id": "l1", "email": "jane@example.com"}.items() <= env.webhooks.calls[0][1][
        "lead"
    ].items()


def test_sms_and_opted_out_leads() -> None:
    """SMS goes through the messenger on its channel; a do-not-contact lead is skipped."""
    env = new_env(phone="+33600000000")
    enrol_lead(env, save(env, {"type": "send_sms", "body": "Hi {first_name}"}))
    env.run_due()
    sent = "Acme Plumbing: Hi Jane Reply STOP to opt out."  # as the outreach policy sends SMS
    assert [("sms", "+33600000000", sent)] == [
        (m.channel, m.to, m.body) for m in env.messenger.calls
    ]
    quiet = new_env(do_not_contact=True)
    execution_id = enrol_lead(quiet, save(quiet, EMAIL))
    quiet.run_due()
    assert ([], "skipped: asked not to be contacted") == (
        quiet.messenger.calls,
        quiet.execution(execution_id).steps[0].outcome,
    )
