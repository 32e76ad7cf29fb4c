"""``python -m shared.deploy plan``: every command a deploy runs, read from the manifest.

The plan is a list of ``Step``s, each one command line: package the source, deploy the
Firestore rules and indexes, create (or update) the Cloud Tasks queues, deploy every
function, then sync the Scheduler jobs. ``plan`` prints them as a shell script; ``apply``
(``shared.deploy.apply``) runs the same list, so what is printed is what is run.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass
from typing import Any

from shared.manifest import FUNCTIONS, Function, Trigger
from shared.queues import QUEUES, Queue
from shared.settings import OAUTH_PLATFORMS

RUNTIME = "python311"
SOURCE = "build/deploy"


@dataclass(frozen=True)
class Target:
    """Where a deploy goes: the project, region and the identities functions run as."""

    project: str
    region: str
    source: str = SOURCE
    service_account: str = ""
    firestore_location: str = ""
    # Platforms whose OAuth client (id and secret, from Secret Manager) token refresh uses;
    # the others stay deferred.
    oauth_platforms: tuple[str, ...] = ()

    @property
    def runtime_account(self) -> str:
        return self.service_account or f"growthkit-functions@{self.project}.iam.gserviceaccount.com"

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
        f"--service-account={target.runtime_account}",
        f"--set-env-vars={env_vars(function, target)}",
        f"--set-secrets={secrets(function, target)}",
        "--quiet",
    )
    return Step(f"function {function.name} ({function.trigger.value})", argv)


def trigger_flags(function: Function, target: Target) -> tuple[str, ...]:
    """HTTP for web, staff, task and scheduled functions; Eventarc for Firestore triggers."""
    if function.trigger is not Trigger.EVENT:
        # Browsers call web-form and staff functions (staff ones verify Firebase ID tokens
        # in code, which IAM cannot do); only Tasks and Scheduler, which send OIDC tokens,
        # get IAM-protected functions.
        browser = function.trigger is Trigger.HTTP
        access = "--allow-unauthenticated" if browser else "--no-allow-unauthenticated"
        return ("--trigger-http", access)
    return (
        f"--trigger-location={target.trigger_location}",
        f"--trigger-event-filters=type={function.full_event_type}",
        "--trigger-event-filters=database=(default)",
        f"--trigger-event-filters-path-pattern=document={function.document}",
        f"--trigger-service-account={target.runtime_account}",
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
        "GROWTHKIT_TASK_SERVICE_ACCOUNT": target.runtime_account,
        "THREADS": str(function.concurrency),
    }
    return ",".join(f"{k}={v}" for k, v in values.items())


def secret_id(name: str) -> str:
    """The Secret Manager id of a variable: GROWTHKIT_SIGNING_KEY -> growthkit-signing-key."""
    return name.lower().replace("_", "-")


def oauth_secrets(function: Function, target: Target) -> list[str]:
    """``GROWTHKIT_OAUTH_<PLATFORM>_CLIENT_ID`` and ``_CLIENT_SECRET`` of each configured
    platform, for the functions that call the platforms' token endpoints."""
    if not function.oauth_clients:
        return []
    prefixes = [f"GROWTHKIT_OAUTH_{platform.upper()}" for platform in target.oauth_platforms]
    return [f"{prefix}_{part}" for prefix in prefixes for part in ("CLIENT_ID", "CLIENT_SECRET")]


def secrets(function: Function, target: Target) -> str:
    names = dict.fromkeys([*function.required_secrets, *oauth_secrets(function, target)])
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
        f"--service-account={target.runtime_account}",
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
        "--service-account",
        default="",
        help="runtime and invoker identity (default growthkit-functions@PROJECT)",
    )
    parser.add_argument(
        "--firestore-location", default="", help="the database's location (default: region)"
    )
    parser.add_argument(
        "--oauth-platforms",
        default="",
        type=_platforms,
        help=f"comma-separated platforms whose OAuth client token refresh uses, of "
        f"{','.join(OAUTH_PLATFORMS)}; their client id and secret come from Secret Manager "
        "(growthkit-oauth-<platform>-client-id, -client-secret); default none",
    )


def _platforms(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(p.strip().lower() for p in text.split(",") if p.strip()))
    unknown = [name for name in names if name not in OAUTH_PLATFORMS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"no OAuth refresh for {', '.join(unknown)} (known: {', '.join(OAUTH_PLATFORMS)})"
        )
    return names


def target_from(args: argparse.Namespace) -> Target:
    return Target(
        args.project,
        args.region,
        args.source,
        args.service_account,
        args.firestore_location,
        args.oauth_platforms,
    )


def _run(args: argparse.Namespace) -> int:
    print(render_plan(target_from(args)), end="")
    return 0


def register(subparsers: Any) -> None:
    """Add the ``plan`` subcommand."""
    parser = subparsers.add_parser("plan", help="print every command a deploy runs")
    add_target_arguments(parser)
    parser.set_defaults(run=_run)
