"""``python -m shared.deploy schedules``: make Cloud Scheduler match the manifest.

Without ``--sync`` it prints what it would do; with it, it does it, one line per action.
``sync_schedules`` is the same thing for code (`make serve` makes its local jobs through
localcloud, from the same manifest).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from shared.deploy.schedule_sync import Action, ActionKind, desired_jobs, plan
from shared.manifest import FUNCTIONS

Printer = Callable[[str], None]


def sync_schedules(
    project: str,
    location: str,
    base_url: str,
    host: str | None = None,
    service_account: str = "",
    dry_run: bool = False,
    out: Printer = print,
) -> list[Action]:
    """Create, update and delete ``growthkit-`` jobs to match the manifest; the actions."""
    # The client is imported here, not at module level: it is slow to import.
    from shared.deploy.scheduler_adapter import SchedulerJobs, scheduler_client

    jobs = SchedulerJobs(scheduler_client(host), f"projects/{project}/locations/{location}")
    desired = desired_jobs(FUNCTIONS, base_url, service_account)
    actions = plan(desired, jobs.list())
    for action in actions:
        if not dry_run:
            jobs.apply(action)
        out(("would " if dry_run else "") + action.describe())
    out(summary(actions, len(desired), dry_run))
    return actions


def summary(actions: list[Action], desired: int, dry_run: bool = False) -> str:
    counts = {kind: sum(a.kind is kind for a in actions) for kind in ActionKind}
    unchanged = desired - counts[ActionKind.CREATE] - counts[ActionKind.UPDATE]
    verb = "to " if dry_run else ""
    return (
        f"schedules: {counts[ActionKind.CREATE]} {verb}create, "
        f"{counts[ActionKind.UPDATE]} {verb}update, {counts[ActionKind.DELETE]} {verb}delete, "
        f"{unchanged} unchanged"
    )


def _run(args: argparse.Namespace) -> int:
    from google.api_core import exceptions as gexc

    try:
        sync_schedules(
            project=args.project,
            location=args.location,
            base_url=args.base_url,
            host=args.scheduler_host,
            service_account=args.service_account,
            dry_run=not args.sync,
        )
    except gexc.GoogleAPICallError as err:
        print(f"schedules: Cloud Scheduler refused: {err}", file=sys.stderr)
        return 1
    return 0


def register(subparsers: Any) -> None:
    """Add the ``schedules`` subcommand."""
    parser = subparsers.add_parser("schedules", help="sync Cloud Scheduler jobs to the manifest")
    parser.add_argument("--sync", action="store_true", help="apply the changes (else: dry run)")
    parser.add_argument("--project", required=True)
    parser.add_argument("--location", required=True, help="e.g. us-central1")
    parser.add_argument("--base-url", required=True, help="jobs POST to BASE_URL/<function>")
    parser.add_argument(
        "--scheduler-host",
        default=None,
        help="emulator host:port (default: $CLOUD_SCHEDULER_EMULATOR_HOST, else production)",
    )
    parser.add_argument(
        "--service-account",
        default=os.environ.get("GROWTHKIT_SCHEDULER_SERVICE_ACCOUNT", ""),
        help="send an OIDC token for this service account (private functions need one)",
    )
    parser.set_defaults(run=_run)
