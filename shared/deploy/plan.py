"""``python -m shared.deploy plan``: every command a deploy runs, read from the manifest.

The plan is a list of ``Step``s, each one command line: package the source, deploy the
Firestore rules and indexes, protect the data (point-in-time recovery, a daily backup
schedule), create the service accounts and bind their roles, create (or update) the
Cloud Tasks queues, deploy every function, then sync the Scheduler jobs.
``plan`` prints them as a shell script; ``apply`` (``shared.deploy.apply``) runs the same
list, so what is printed is what is run.

Least privilege: each function runs as the account of its kind (``ACCOUNTS``): public
forms, webhooks and the OAuth callback may only use Firestore (each under its own
account, so each reads only its own secrets), staff functions may also look Firebase Auth
accounts up, only company_users may set claims; Cloud Tasks and Scheduler call as an
account that may only invoke, Eventarc as one that may only receive events and invoke.
Each secret is readable only by the accounts that run a function given it.

Mail and SMS: the functions declared ``sends`` (and they alone) get the SMTP relay's and
the SMS provider's settings (``Mail``, ``Sms``) as variables and their passwords from
Secret Manager (``growthkit-smtp-password``, ``growthkit-sms-auth-token``).
"""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass
from typing import Any

from shared.manifest import FUNCTIONS, Function, Trigger
from shared.queues import QUEUES, Queue
from shared.settings import OAUTH_PLATFORMS

RUNTIME = "python311"
SOURCE = "build/deploy"
ACCOUNT_PREFIX = "growthkit"
DATABASE = "(default)"
# Daily backups are kept this long unless --backup-retention-days says otherwise;
# Firestore keeps a backup at most 14 weeks.
BACKUP_RETENTION_DAYS, MAX_BACKUP_RETENTION_DAYS = 14, 98


@dataclass(frozen=True)
class Account:
    """A service account the deploy creates (``<prefix>-<key>``) and its project roles."""

    key: str
    what: str
    roles: tuple[str, ...]
    # Enqueues Cloud Tasks that carry the invoker's OIDC token, which needs actAs on it.
    acts_as_invoker: bool = False


_FIRESTORE = "roles/datastore.user"
_TASKS = ("roles/cloudtasks.enqueuer", "roles/cloudtasks.taskDeleter")
ACCOUNTS = (
    Account("public", "public web forms and links", (_FIRESTORE,)),
    # Apart from the forms, so that only the webhooks may read the webhooks' secrets.
    Account("webhooks", "public webhooks of other platforms", (_FIRESTORE,)),
    # The OAuth callback, apart too: it reads the OAuth clients and the key that seals the
    # tokens it stores, which no web form may.
    Account("oauth", "the public OAuth callback (stores connected accounts)", (_FIRESTORE,)),
    Account(
        "staff",
        "staff functions (ID tokens' accounts looked up)",
        (_FIRESTORE, "roles/firebaseauth.viewer", *_TASKS),
        acts_as_invoker=True,
    ),
    Account("users", "company_users (sets staff claims)", (_FIRESTORE, "roles/firebaseauth.admin")),
    Account(
        "worker",
        "task, scheduled and Firestore-triggered functions",
        (_FIRESTORE, *_TASKS),
        acts_as_invoker=True,
    ),
    Account("invoker", "Cloud Tasks' and Scheduler's calls", ("roles/run.invoker",)),
    Account(
        "eventarc",
        "Eventarc's Firestore triggers",
        ("roles/eventarc.eventReceiver", "roles/run.invoker"),
    ),
)


def runtime_key(function: Function) -> str:
    """The account a function runs as: its kind decides what it may touch."""
    if function.trigger is not Trigger.HTTP:
        return "worker"
    if function.public:
        if function.oauth_clients:
            return "oauth"
        return "webhooks" if function.webhook else "public"
    return "users" if function.user_admin else "staff"


TWILIO_MESSAGES = "https://api.twilio.com/2010-04-01/Accounts/{account}/Messages.json"


@dataclass(frozen=True)
class Mail:
    """The SMTP relay the sending functions use (its password is a secret)."""

    host: str
    username: str
    sender: str
    port: int = 587
    tls: str = "starttls"  # or implicit (port 465)

    def env(self) -> dict[str, str]:
        return {
            "GROWTHKIT_MAIL_BACKEND": "smtp",
            "GROWTHKIT_SMTP_HOST": self.host,
            "GROWTHKIT_SMTP_PORT": str(self.port),
            "GROWTHKIT_SMTP_TLS": self.tls,
            "GROWTHKIT_SMTP_USERNAME": self.username,
            "GROWTHKIT_SMTP_SENDER": self.sender,
        }


@dataclass(frozen=True)
class Sms:
    """The Twilio-compatible SMS provider (its auth token is a secret)."""

    account: str
    from_number: str
    api_url: str = ""  # default: Twilio's Messages resource of the account

    def env(self) -> dict[str, str]:
        return {
            "GROWTHKIT_SMS_BACKEND": "http",
            "GROWTHKIT_SMS_API_URL": self.api_url or TWILIO_MESSAGES.format(account=self.account),
            "GROWTHKIT_SMS_ACCOUNT": self.account,
            "GROWTHKIT_SMS_FROM": self.from_number,
        }


@dataclass(frozen=True)
class Target:
    """Where a deploy goes: the project, region and the identities functions run as."""

    project: str
    region: str
    source: str = SOURCE
    account_prefix: str = ACCOUNT_PREFIX
    firestore_location: str = ""
    # Platforms whose OAuth client (id and secret, from Secret Manager) connecting accounts
    # and token refresh use; the others cannot be connected by OAuth, nor refreshed.
    oauth_platforms: tuple[str, ...] = ()
    # Given to the functions that send; without them those refuse to start in production.
    mail: Mail | None = None
    sms: Sms | None = None
    backup_retention_days: int = BACKUP_RETENTION_DAYS

    def account(self, key: str) -> str:
        """The e-mail of the service account ``key`` (``ACCOUNTS``)."""
        return f"{self.account_prefix}-{key}@{self.project}.iam.gserviceaccount.com"

    @property
    def invoker_account(self) -> str:
        """The identity of Cloud Tasks' and Scheduler's OIDC tokens."""
        return self.account("invoker")

    @property
    def trigger_location(self) -> str:
        """Eventarc Firestore triggers live where the database is (often not the region)."""
        return self.firestore_location or self.region

    @property
    def base_url(self) -> str:
        """Where Cloud Tasks, Scheduler and links in messages reach the functions."""
        return f"https://{self.region}-{self.project}.cloudfunctions.net"


@dataclass(frozen=True)
class Step:
    """One command; ``otherwise`` runs only if it fails (create, else update)."""

    what: str
    argv: tuple[str, ...]
    otherwise: tuple[str, ...] = ()

    def render(self) -> str:
        """The command as shell text, one flag per line."""
        text = _render(self.argv)
        return f"{text} \\\n  || {_render(self.otherwise)}" if self.otherwise else text


def _render(argv: tuple[str, ...]) -> str:
    words = [shlex.quote(a) for a in argv]
    first = next((i for i, w in enumerate(words) if w.lstrip("'").startswith("--")), len(words))
    return " \\\n    ".join([" ".join(words[:first]), *words[first:]])


def deploy_steps(target: Target) -> list[Step]:
    """Everything a deploy does, in order."""
    return [
        package_step(target),
        firestore_step(target),
        *backup_steps(target),
        *(account_step(account, target) for account in ACCOUNTS),
        *binding_steps(target),
        *(queue_step(queue, target) for queue in QUEUES),
        *(function_step(function, target) for function in FUNCTIONS),
        schedules_step(target),
    ]


def package_step(target: Target) -> Step:
    argv = ("python", "-m", "shared.deploy", "package", f"--out={target.source}")
    return Step(f"package the source into {target.source}", argv)


def firestore_step(target: Target) -> Step:
    only = "firestore:rules,firestore:indexes"
    argv = (
        "firebase",
        "deploy",
        f"--only={only}",
        f"--project={target.project}",
        "--non-interactive",
    )
    return Step("Firestore security rules and composite indexes (firebase.json)", argv)


def backup_steps(target: Target) -> list[Step]:
    """Point-in-time recovery (every version of the last 7 days, readable and exportable
    at any minute) and a daily backup kept ``backup_retention_days``. A database has one
    daily schedule: when it exists the create fails and the listing shows it (its
    retention is changed with ``gcloud firestore backups schedules update``)."""
    project, database = f"--project={target.project}", f"--database={DATABASE}"
    pitr = ("gcloud", "firestore", "databases", "update", database, "--enable-pitr", project)
    days = target.backup_retention_days
    schedules = ("gcloud", "firestore", "backups", "schedules")
    create = (*schedules, "create", database, "--recurrence=daily", f"--retention={days}d")
    return [
        Step("Firestore point-in-time recovery (7 days of versions)", (*pitr, "--quiet")),
        Step(
            f"Firestore daily backups kept {days} days: create the schedule, unless one exists",
            (*create, project),
            (*schedules, "list", database, project),
        ),
    ]


def account_step(account: Account, target: Target) -> Step:
    email, project = target.account(account.key), f"--project={target.project}"
    create = ("gcloud", "iam", "service-accounts", "create", email.split("@")[0], project)
    exists = ("gcloud", "iam", "service-accounts", "describe", email, project)
    return Step(
        f"service account for {account.what}: create it, unless it exists",
        (*create, f"--display-name=growthkit: {account.what}"),
        exists,
    )


def binding_steps(target: Target) -> list[Step]:
    """Every role of every account, nothing more: project roles, acting as the invoker
    (to enqueue tasks carrying its token), and reading each secret."""
    steps = [project_binding(a, role, target) for a in ACCOUNTS for role in a.roles]
    steps += [invoker_binding(a, target) for a in ACCOUNTS if a.acts_as_invoker]
    readers: dict[str, dict[str, None]] = {}
    for function in FUNCTIONS:
        for name in secret_names(function, target):
            readers.setdefault(name, {})[runtime_key(function)] = None
    steps += [secret_binding(n, k, target) for n, keys in readers.items() for k in keys]
    return steps


def _binding(what: str, command: tuple[str, ...], member: str, role: str, *extra: str) -> Step:
    flags = (f"--member=serviceAccount:{member}", f"--role={role}", *extra, "--quiet")
    return Step(what, (*command, *flags))


def project_binding(account: Account, role: str, target: Target) -> Step:
    command = ("gcloud", "projects", "add-iam-policy-binding", target.project)
    email = target.account(account.key)
    # Unconditional; without the flag gcloud asks when the policy has conditions elsewhere.
    what = f"{account.key} account: {role} on the project"
    return _binding(what, command, email, role, "--condition=None")


def invoker_binding(account: Account, target: Target) -> Step:
    invoker, project = target.invoker_account, f"--project={target.project}"
    command = ("gcloud", "iam", "service-accounts", "add-iam-policy-binding", invoker, project)
    role = "roles/iam.serviceAccountUser"
    return _binding(
        f"{account.key} account: may enqueue tasks carrying the invoker's token",
        command,
        target.account(account.key),
        role,
    )


def secret_binding(name: str, key: str, target: Target) -> Step:
    secret, project = secret_id(name), f"--project={target.project}"
    command = ("gcloud", "secrets", "add-iam-policy-binding", secret, project)
    role = "roles/secretmanager.secretAccessor"
    what = f"{key} account: may read the secret {secret}"
    return _binding(what, command, target.account(key), role)


def _seconds(value: float) -> str:
    return f"{value:g}s"


def queue_step(queue: Queue, target: Target) -> Step:
    flags = (
        f"--project={target.project}",
        f"--location={target.region}",
        f"--max-attempts={queue.max_attempts}",
        f"--min-backoff={_seconds(queue.min_backoff_seconds)}",
        f"--max-backoff={_seconds(queue.max_backoff_seconds)}",
        f"--max-doublings={queue.max_doublings}",
        f"--max-dispatches-per-second={queue.max_dispatches_per_second:g}",
        f"--max-concurrent-dispatches={queue.max_concurrent_dispatches}",
    )
    create = ("gcloud", "tasks", "queues", "create", queue.name, *flags)
    update = ("gcloud", "tasks", "queues", "update", queue.name, *flags)
    return Step(
        f"Cloud Tasks queue {queue.name}: create, or update it if it exists", create, update
    )


def function_step(function: Function, target: Target) -> Step:
    argv = (
        "gcloud",
        "functions",
        "deploy",
        function.name,
        "--gen2",
        f"--runtime={RUNTIME}",
        f"--project={target.project}",
        f"--region={target.region}",
        f"--source={target.source}",
        f"--entry-point={function.entry_point}",
        *trigger_flags(function, target),
        *resource_flags(function),
        f"--service-account={target.account(runtime_key(function))}",
        f"--set-env-vars={env_vars(function, target)}",
        f"--set-secrets={secrets(function, target)}",
        "--quiet",
    )
    return Step(f"function {function.name} ({function.trigger.value})", argv)


def trigger_flags(function: Function, target: Target) -> tuple[str, ...]:
    """HTTP for web, staff, task and scheduled functions; Eventarc for Firestore triggers."""
    # Browsers call web-form and staff functions (staff ones verify Firebase ID tokens in
    # code, which IAM cannot do); the others are called by Tasks, Scheduler and Eventarc
    # with OIDC tokens, and say so rather than rely on gcloud's default.
    browser = function.trigger is Trigger.HTTP
    access = "--allow-unauthenticated" if browser else "--no-allow-unauthenticated"
    if function.trigger is not Trigger.EVENT:
        return ("--trigger-http", access)
    return (
        f"--trigger-location={target.trigger_location}",
        f"--trigger-event-filters=type={function.full_event_type}",
        "--trigger-event-filters=database=(default)",
        f"--trigger-event-filters-path-pattern=document={function.document}",
        f"--trigger-service-account={target.account('eventarc')}",
        access,
    )


def resource_flags(function: Function) -> tuple[str, ...]:
    # More than one request at a time needs a whole CPU (Cloud Functions refuses less).
    cpu = ("--cpu=1",) if function.concurrency > 1 else ()
    return (
        f"--memory={function.memory}",
        *cpu,
        f"--timeout={function.timeout_seconds}s",
        f"--max-instances={function.max_instances}",
        f"--concurrency={function.concurrency}",
    )


def env_vars(function: Function, target: Target) -> str:
    """The settings production needs; THREADS lets gunicorn serve ``concurrency`` at once."""
    values = {
        "GROWTHKIT_ENVIRONMENT": "production",
        "GROWTHKIT_PROJECT_ID": target.project,
        "GROWTHKIT_REGION": target.region,
        "GROWTHKIT_FUNCTIONS_BASE_URL": target.base_url,
        "GROWTHKIT_TASK_SERVICE_ACCOUNT": target.invoker_account,
        "THREADS": str(function.concurrency),
        **messaging_env(function, target),
    }
    return ",".join(f"{k}={v}" for k, v in values.items())


def messaging_env(function: Function, target: Target) -> dict[str, str]:
    """The relay's and the SMS provider's settings, for the functions that send only."""
    if not function.sends:
        return {}
    return {
        **(target.mail.env() if target.mail else {}),
        **(target.sms.env() if target.sms else {}),
    }


def secret_id(name: str) -> str:
    """The Secret Manager id of a variable: GROWTHKIT_SIGNING_KEY -> growthkit-signing-key."""
    return name.lower().replace("_", "-")


def oauth_secrets(function: Function, target: Target) -> list[str]:
    """``GROWTHKIT_OAUTH_<PLATFORM>_CLIENT_ID`` and ``_CLIENT_SECRET`` of each configured
    platform, for the functions that connect accounts or call the platforms' token
    endpoints."""
    if not function.oauth_clients:
        return []
    prefixes = [f"GROWTHKIT_OAUTH_{platform.upper()}" for platform in target.oauth_platforms]
    return [f"{prefix}_{part}" for prefix in prefixes for part in ("CLIENT_ID", "CLIENT_SECRET")]


def secret_names(function: Function, target: Target) -> list[str]:
    """Every secret variable the function is given: those it declares, OAuth clients."""
    return list(dict.fromkeys([*function.required_secrets, *oauth_secrets(function, target)]))


def secrets(function: Function, target: Target) -> str:
    names = secret_names(function, target)
    return ",".join(f"{name}={secret_id(name)}:latest" for name in names)


def schedules_step(target: Target) -> Step:
    argv = (
        "python",
        "-m",
        "shared.deploy",
        "schedules",
        "--sync",
        f"--project={target.project}",
        f"--location={target.region}",
        f"--base-url={target.base_url}",
        f"--service-account={target.invoker_account}",
    )
    return Step("Cloud Scheduler jobs, synced to the manifest", argv)


def render_plan(target: Target) -> str:
    """The whole plan as a shell script, one numbered comment per step."""
    steps = deploy_steps(target)
    lines = [f"# Deploy growthkit to project {target.project}, region {target.region}"]
    for number, step in enumerate(steps, 1):
        lines += ["", f"# {number}/{len(steps)} {step.what}", step.render()]
    return "\n".join(lines) + "\n"


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``plan`` and ``apply`` share."""
    parser.add_argument("--project", required=True)
    parser.add_argument("--region", required=True, help="e.g. us-central1")
    parser.add_argument("--source", default=SOURCE, help=f"packaged source (default {SOURCE})")
    parser.add_argument(
        "--account-prefix",
        default=ACCOUNT_PREFIX,
        type=_prefix,
        help=f"service accounts are <prefix>-{{{','.join(a.key for a in ACCOUNTS)}}}@PROJECT "
        f"(default {ACCOUNT_PREFIX})",
    )
    parser.add_argument(
        "--firestore-location", default="", help="the database's location (default: region)"
    )
    add_messaging_arguments(parser)
    parser.add_argument(
        "--backup-retention-days",
        type=_retention,
        default=BACKUP_RETENTION_DAYS,
        help=f"how long each daily Firestore backup is kept, 1 to "
        f"{MAX_BACKUP_RETENTION_DAYS} (default {BACKUP_RETENTION_DAYS})",
    )
    parser.add_argument(
        "--oauth-platforms",
        default="",
        type=_platforms,
        help=f"comma-separated platforms whose OAuth client connects accounts (and "
        f"refreshes their tokens), of "
        f"{','.join(OAUTH_PLATFORMS)}; their client id and secret come from Secret Manager "
        "(growthkit-oauth-<platform>-client-id, -client-secret); default none",
    )


def add_messaging_arguments(parser: argparse.ArgumentParser) -> None:
    """The SMTP relay and the SMS provider (their passwords stay in Secret Manager)."""
    mail = parser.add_argument_group(
        "mail", "the SMTP relay; its password is the secret growthkit-smtp-password"
    )
    mail.add_argument("--smtp-host", required=True, type=_env_value, help="e.g. smtp.sendgrid.net")
    mail.add_argument("--smtp-port", type=int, default=587, help="default 587 (465: implicit TLS)")
    mail.add_argument(
        "--smtp-tls",
        choices=("starttls", "implicit"),
        default=None,
        help="default: implicit on port 465, else starttls",
    )
    mail.add_argument("--smtp-user", required=True, type=_env_value, help="the relay's login")
    mail.add_argument(
        "--smtp-sender", required=True, type=_env_value, help="the From address, verified there"
    )
    sms = parser.add_argument_group(
        "SMS", "a Twilio-compatible API; its auth token is the secret growthkit-sms-auth-token"
    )
    sms.add_argument("--sms-account", required=True, type=_env_value, help="account SID")
    sms.add_argument("--sms-from", required=True, type=_env_value, help="the sending number")
    sms.add_argument(
        "--sms-api-url",
        default="",
        type=_https,
        help="the Messages endpoint (default: Twilio's for the account)",
    )


def _env_value(text: str) -> str:
    """A value for --set-env-vars, whose pairs are separated by commas."""
    if not text.strip() or any(c in text for c in ",\n\r"):
        raise argparse.ArgumentTypeError(f"{text!r}: a non-empty value without commas")
    return text.strip()


def _retention(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_BACKUP_RETENTION_DAYS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: days from 1 to {MAX_BACKUP_RETENTION_DAYS} (Firestore's 14 weeks)"
        )
    return int(text)


def _https(text: str) -> str:
    if text and not text.startswith("https://"):
        raise argparse.ArgumentTypeError(f"{text!r}: an https:// URL")
    return _env_value(text) if text else text


def _platforms(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(p.strip().lower() for p in text.split(",") if p.strip()))
    unknown = [name for name in names if name not in OAUTH_PLATFORMS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"no OAuth client for {', '.join(unknown)} (known: {', '.join(OAUTH_PLATFORMS)})"
        )
    return names


def _prefix(text: str) -> str:
    """Account ids are 6 to 30 lowercase letters, digits and dashes: ``<prefix>-eventarc``."""
    longest = max(len(a.key) for a in ACCOUNTS) + 1
    if not re.fullmatch(rf"[a-z][a-z0-9-]{{1,{29 - longest}}}", text):
        raise argparse.ArgumentTypeError(
            f"{text!r}: lowercase letters, digits and dashes, at most {30 - longest} long"
        )
    return text


def target_from(args: argparse.Namespace) -> Target:
    tls = args.smtp_tls or ("implicit" if args.smtp_port == 465 else "starttls")
    return Target(
        args.project,
        args.region,
        args.source,
        args.account_prefix,
        args.firestore_location,
        args.oauth_platforms,
        Mail(args.smtp_host, args.smtp_user, args.smtp_sender, args.smtp_port, tls),
        Sms(args.sms_account, args.sms_from, args.sms_api_url),
        args.backup_retention_days,
    )


def _run(args: argparse.Namespace) -> int:
    print(render_plan(target_from(args)), end="")
    return 0


def register(subparsers: Any) -> None:
    """Add the ``plan`` subcommand."""
    parser = subparsers.add_parser("plan", help="print every command a deploy runs")
    add_target_arguments(parser)
    parser.set_defaults(run=_run)
