"""The bundle's one manifest: every function, its trigger, schedule and queue.

localcloud routes events, creates Scheduler jobs and Tasks queues from this list (the
queues in shared.queues, apart because every function's Settings names one), and the
deploy plan is printed from it, so the local stack and production cannot drift.
"""

from __future__ import annotations

from enum import StrEnum

from msgspec import Struct, field


class Trigger(StrEnum):
    HTTP = "http"
    EVENT = "event"
    SCHEDULE = "schedule"
    TASK = "task"


EVENT_TYPE_PREFIX = "google.cloud.firestore.document.v1."
# Every function needs these (Settings refuses production without a signing key).
COMMON_SECRETS = ("GROWTHKIT_SIGNING_KEY",)


class Function(Struct, frozen=True):
    """One Cloud Function: ``entry_point`` is the name in ``functions/main.py``."""

    name: str
    trigger: Trigger
    public: bool = False
    event_type: str | None = None  # created, updated, deleted or written
    document: str | None = None  # path pattern, e.g. companies/{companyId}/leads/{leadId}
    schedule: str | None = None  # unix-cron
    time_zone: str = "Etc/UTC"
    memory: str = "256Mi"
    timeout_seconds: int = 60
    max_instances: int = 10
    concurrency: int = 20
    # Variables holding the secrets the function reads, besides COMMON_SECRETS: the deploy
    # plan maps each from Secret Manager only to the functions that name it, and in
    # production the function refuses to start without every one (functions/main.py).
    secrets: tuple[str, ...] = field(default=())
    # Called by another platform's servers (SMS, e-mail provider): what its secret does not
    # verify is refused (401), so it must name that secret in ``secrets``.
    webhook: bool = False
    # Creates staff accounts and sets their claims (Firebase Auth admin): the deploy plan
    # gives that right to this function's identity alone.
    user_admin: bool = False
    # Gets the OAuth clients of the platforms a deploy configures (``--oauth-platforms``).
    oauth_clients: bool = False

    @property
    def entry_point(self) -> str:
        return self.name

    @property
    def required_secrets(self) -> tuple[str, ...]:
        """Every secret variable the function cannot run without."""
        return tuple(dict.fromkeys((*COMMON_SECRETS, *self.secrets)))

    @property
    def full_event_type(self) -> str | None:
        return EVENT_TYPE_PREFIX + self.event_type if self.event_type else None


FUNCTIONS: tuple[Function, ...] = (
    Function("lead_intake", Trigger.HTTP, public=True),
    Function("redeem_referral", Trigger.HTTP, public=True),
    Function("request_review", Trigger.HTTP),
    Function("publish_content", Trigger.HTTP),
    Function("referral_codes", Trigger.HTTP),
    Function("run_task", Trigger.TASK, timeout_seconds=300),
    Function(
        "on_lead_written",
        Trigger.EVENT,
        event_type="written",
        document="companies/{companyId}/leads/{leadId}",
    ),
    Function(
        "on_interaction_created",
        Trigger.EVENT,
        event_type="created",
        document="companies/{companyId}/leads/{leadId}/interactions/{interactionId}",
    ),
    Function(
        "on_review_written",
        Trigger.EVENT,
        event_type="written",
        document="companies/{companyId}/reviews/{reviewId}",
    ),
    Function(
        "on_content_written",
        Trigger.EVENT,
        event_type="written",
        document="companies/{companyId}/content/{contentId}",
    ),
    Function("dispatch_due_tasks", Trigger.SCHEDULE, schedule="* * * * *"),
    Function("rollup_analytics", Trigger.SCHEDULE, schedule="15 0 * * *"),
    Function("expire_referrals", Trigger.SCHEDULE, schedule="0 * * * *"),
    Function("staff_api", Trigger.HTTP),
    Function("company_users", Trigger.HTTP, user_admin=True),
    Function("workflows", Trigger.HTTP),
    Function(
        "on_lead_workflows",
        Trigger.EVENT,
        event_type="written",
        document="companies/{companyId}/leads/{leadId}",
    ),
    Function(
        "on_interaction_workflows",
        Trigger.EVENT,
        event_type="written",
        document="companies/{companyId}/leads/{leadId}/interactions/{interactionId}",
    ),
    Function(
        "on_interaction_scored",
        Trigger.EVENT,
        event_type="written",
        document="companies/{companyId}/leads/{leadId}/interactions/{interactionId}",
    ),
    Function(
        "on_scoring_rule_written",
        Trigger.EVENT,
        event_type="written",
        document="companies/{companyId}/scoring_rules/{ruleId}",
    ),
    Function("enrol_scheduled_workflows", Trigger.SCHEDULE, schedule="* * * * *"),
    Function("decay_engagement_scores", Trigger.SCHEDULE, schedule="30 2 * * *"),
    Function("newsletter_signup", Trigger.HTTP, public=True),
    Function("newsletter_confirm", Trigger.HTTP, public=True),
    Function("newsletter_unsubscribe", Trigger.HTTP, public=True),
    Function("consultations", Trigger.HTTP),
    Function("download_resource", Trigger.HTTP, public=True),
    Function("integrations", Trigger.HTTP, secrets=("GROWTHKIT_SECRETS_KEY",)),
    Function(
        "refresh_social_tokens",
        Trigger.SCHEDULE,
        schedule="*/15 * * * *",
        secrets=("GROWTHKIT_SECRETS_KEY",),
        oauth_clients=True,
    ),
    Function("track_events", Trigger.HTTP, public=True),
    Function("analytics_summary", Trigger.HTTP),
    Function("campaigns", Trigger.HTTP),
    Function("outreach_import", Trigger.HTTP),
    Function("unsubscribe", Trigger.HTTP, public=True),
    Function(
        "sms_inbound",
        Trigger.HTTP,
        public=True,
        webhook=True,
        secrets=("GROWTHKIT_SMS_AUTH_TOKEN",),
    ),
    Function(
        "email_events",
        Trigger.HTTP,
        public=True,
        webhook=True,
        secrets=("GROWTHKIT_EMAIL_EVENTS_SECRET",),
    ),
    Function("track_open", Trigger.HTTP, public=True),
    Function("track_click", Trigger.HTTP, public=True),
    Function(
        "on_lead_campaigns",
        Trigger.EVENT,
        event_type="written",
        document="companies/{companyId}/leads/{leadId}",
    ),
)


def by_name(name: str) -> Function:
    for function in FUNCTIONS:
        if function.name == name:
            return function
    raise KeyError(name)


def scheduler_job_id(function: Function) -> str:
    """The Cloud Scheduler job id of a scheduled function."""
    return f"growthkit-{function.name.replace('_', '-')}"
