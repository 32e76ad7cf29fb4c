"""Task functions: ``run_task`` (the Cloud Tasks target), ``dispatch_due_tasks`` (every
minute from Cloud Scheduler, the catch-up for tasks whose Cloud Task was never created),
and the handler of each kind of scheduled task.

Each handler imports its service when it first runs, so a ``run_task`` instance loads only
the services of the task types it is handed.
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import asdict

from functions import scheduler_fn, tasks_fn
from functions.tasks_fn import TaskContext
from shared.domain.tasks import RUN_TASK_TIMEOUT_SECONDS, ScheduledTask, TaskRef
from shared.services.scheduling import dispatch_due_tasks as dispatch_service
from shared.services.task_runner import run_scheduled_task

Result = dict[str, Any]


# The secrets key opens the social connections publish_content tasks post through, and
# the tokens each company's refresh task renews with the platforms' OAuth clients.
@tasks_fn.on_task_dispatched(
    timeout_seconds=RUN_TASK_TIMEOUT_SECONDS,
    secrets=("GROWTHKIT_SECRETS_KEY",),
    oauth_clients=True,
    sends=True,
)
def run_task(event: tasks_fn.TaskEvent, ctx: tasks_fn.Context) -> Result:
    """Run one scheduled task. 503 (so Cloud Tasks retries) only for transient failures
    and for a task another delivery is running; every other outcome is a 200."""
    ref = TaskRef.model_validate(event.payload)
    result = run_scheduled_task(
        ctx.store,
        ctx.queue,
        ctx.messenger,
        ctx.clock,
        event,
        company_id=ref.company_id,
        task_id=ref.task_id,
    )
    return asdict(result)


@scheduler_fn.on_schedule(schedule="* * * * *")
def dispatch_due_tasks(event: scheduler_fn.ScheduledEvent, ctx: scheduler_fn.Context) -> Result:
    """Enqueue every due pending task (Cloud Scheduler, every minute)."""
    result = dispatch_service(ctx.store, ctx.queue, event.schedule_time, run_key=event.run_key)
    return asdict(result)


@tasks_fn.on_task("review_request")
def review_request(ctx: TaskContext, task: ScheduledTask) -> Result:
    """Send a review request (its first message)."""
    from shared.services.reviews import review_request_task

    return review_request_task(ctx, task)


@tasks_fn.on_task("review_reminder")
def review_reminder(ctx: TaskContext, task: ScheduledTask) -> Result:
    """Remind a customer who has not left the review yet."""
    from shared.services.reviews import review_reminder_task

    return review_reminder_task(ctx, task)


@tasks_fn.on_task("publish_content")
def publish_content_at(ctx: TaskContext, task: ScheduledTask) -> Result:
    """Publish a content item whose time came (or retry the platforms that failed)."""
    from shared.services.content import publish_content_task

    return publish_content_task(ctx, task)


@tasks_fn.on_task("workflow_step")
def workflow_step(ctx: TaskContext, task: ScheduledTask) -> Result:
    """Run an enrolment's next workflow step."""
    from shared.workflows.services.engine import workflow_step_task

    return workflow_step_task(ctx, task)


@tasks_fn.on_task("workflow_fire")
def workflow_fire(ctx: TaskContext, task: ScheduledTask) -> Result:
    """Enrol the leads of a schedule-triggered workflow whose time came."""
    from shared.workflows.services.schedule import workflow_fire_task

    return workflow_fire_task(ctx, task)


@tasks_fn.on_task("score_notify")
def score_notify(ctx: TaskContext, task: ScheduledTask) -> Result:
    """Tell a lead's owner that its score crossed the company's threshold."""
    from shared.scoring.services.engagement import score_notify_task

    return score_notify_task(ctx, task)


@tasks_fn.on_task("rescore_leads")
def rescore_leads(ctx: TaskContext, task: ScheduledTask) -> Result:
    """Rescore a page of a company's leads by its changed rules; schedule the next page."""
    from shared.scoring.services.rescore import rescore_leads_task

    return rescore_leads_task(ctx, task)


@tasks_fn.on_task("campaign_start")
def campaign_start(ctx: TaskContext, task: ScheduledTask) -> Result:
    """Start a scheduled campaign (or reschedule it if its start time changed)."""
    from shared.campaigns.services.campaigns import campaign_start_task

    return campaign_start_task(ctx, task)


@tasks_fn.on_task("campaign_batch")
def campaign_batch(ctx: TaskContext, task: ScheduledTask) -> Result:
    """Send a campaign's next batch of messages, throttled."""
    from shared.campaigns.services.sending import campaign_batch_task

    return campaign_batch_task(ctx, task)


@tasks_fn.on_task("campaign_wake")
def campaign_wake(ctx: TaskContext, task: ScheduledTask) -> Result:
    """Queue again a campaign's deferred recipients whose time came."""
    from shared.campaigns.services.sending import campaign_wake_task

    return campaign_wake_task(ctx, task)


@tasks_fn.on_task("newsletter_start")
def newsletter_start(ctx: TaskContext, task: ScheduledTask) -> Result:
    """Send a scheduled newsletter issue (or reschedule it if its time changed)."""
    from shared.services.newsletter_issues import newsletter_start_task

    return newsletter_start_task(ctx, task)


@tasks_fn.on_task("newsletter_batch")
def newsletter_batch(ctx: TaskContext, task: ScheduledTask) -> Result:
    """Send a newsletter issue's next batch of mails, throttled."""
    from shared.services.newsletter_sending import newsletter_batch_task

    return newsletter_batch_task(ctx, task)


@tasks_fn.on_task("consultation_reminder")
def consultation_reminder(ctx: TaskContext, task: ScheduledTask) -> Result:
    """Remind the attendee of an upcoming consultation."""
    from shared.services.consultations_lifecycle import consultation_reminder_task

    return consultation_reminder_task(ctx, task)


@tasks_fn.on_task("periodic_company")
def periodic_company(ctx: TaskContext, task: ScheduledTask) -> Result:
    """One company's part of a periodic run (a page of it), fanned out by the run."""
    from shared.services.periodic import periodic_company_task

    return periodic_company_task(ctx, task)


@tasks_fn.on_task("periodic_retry")
def periodic_retry(ctx: TaskContext, task: ScheduledTask) -> Result:
    """A company's part of a periodic run, as stored before runs fanned out."""
    from shared.services.periodic import periodic_company_task

    return periodic_company_task(ctx, task)


@tasks_fn.on_task("migrate_company")
def migrate_company(ctx: TaskContext, task: ScheduledTask) -> Result:
    """Run a company's pending schema migrations (``growthkit migrate --via-tasks``)."""
    from shared.services.migrations import migrate_company_task

    return migrate_company_task(ctx, task)


@tasks_fn.on_task("new_lead_alert")
def new_lead_alert(ctx: TaskContext, task: ScheduledTask) -> Result:
    """E-mail a new lead to its assignee, or to the company's admins."""
    from shared.services.lead_alerts import new_lead_alert_task

    return new_lead_alert_task(ctx, task)
