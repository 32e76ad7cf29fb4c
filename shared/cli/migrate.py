"""``growthkit migrate [--dry-run] [--company ID] [--via-tasks]``: bring companies'
documents to the current schema (``shared.services.migrations``).

Prints one line per company and migration (``acme: m0002_split_lead_names (v2): 120
upgraded, 3 current, done``); ``--dry-run`` also one line per document it would change,
and writes nothing; ``--via-tasks`` schedules one ``migrate_company`` task per company
instead, which ``run_task`` runs where the functions run.
"""

from __future__ import annotations

import argparse
from typing import Any

from shared.cli import runtime


def register(groups: Any) -> None:
    """Add the ``migrate`` command."""
    parser = groups.add_parser("migrate", help="apply pending schema migrations")
    parser.add_argument("--company", help="only this company (default: every one)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print changes, write nothing")
    mode.add_argument("--via-tasks", action="store_true", help="a Cloud Task per company")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from shared import bootstrap
    from shared.services.migrations import company_ids, migrate_company, schedule_migrations

    store, now = runtime.store(), bootstrap.clock.now()
    queue = runtime.task_queue() if args.via_tasks else None
    for company_id in company_ids(store, args.company):
        if queue is not None:
            task_id = schedule_migrations(store, queue, now, company_id)
            print(f"{company_id}: migrate_company task {task_id} scheduled")
            continue
        for outcome in migrate_company(store, company_id, now, dry_run=args.dry_run, report=print):
            state = "done" if outcome.done else "unfinished"
            verb = "to upgrade" if args.dry_run else "upgraded"
            print(
                f"{company_id}: {outcome.name} (v{outcome.version}): {outcome.upgraded} {verb},"
                f" {outcome.current} current, {'dry run' if args.dry_run else state}"
            )
    return 0
