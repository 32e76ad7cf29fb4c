"""``python -m shared.deploy apply``: run the deploy plan, stopping at the first failure.

The steps are exactly those ``plan`` prints (``shared.deploy.plan.deploy_steps``). Each runs
as a subprocess; a step with a fallback (queues: create, else update) fails only when both
commands fail. ``--dry-run`` prints the commands without running anything.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

from shared.deploy.plan import Step, add_target_arguments, deploy_steps, target_from

Runner = Callable[[Sequence[str]], int]
Printer = Callable[[str], None]


def run_command(argv: Sequence[str]) -> int:
    """Run one command with this process's terminal; its exit status."""
    # The plan says "python" so it reads the same everywhere; here it is this interpreter,
    # the one whose packages the plan was made with.
    resolved = [sys.executable, *argv[1:]] if argv[0] == "python" else list(argv)
    try:
        return subprocess.run(resolved, check=False).returncode
    except FileNotFoundError:
        print(f"deploy: {argv[0]} is not installed", file=sys.stderr)
        return 127


def run_step(step: Step, run: Runner) -> int:
    status = run(step.argv)
    if status != 0 and step.otherwise:
        status = run(step.otherwise)
    return status


def apply_steps(
    steps: Sequence[Step], run: Runner = run_command, dry_run: bool = False, out: Printer = print
) -> int:
    """Run ``steps`` in order; the first failing step's status stops the deploy."""
    for number, step in enumerate(steps, 1):
        out(f"# {number}/{len(steps)} {step.what}")
        out(step.render())
        if dry_run:
            continue
        status = run_step(step, run)
        if status != 0:
            out(f"deploy: step {number} failed with status {status}; stopping here")
            return status
    out("deploy: dry run, nothing was run" if dry_run else "deploy: every step succeeded")
    return 0


def _run(args: argparse.Namespace) -> int:
    return apply_steps(deploy_steps(target_from(args)), dry_run=args.dry_run)


def register(subparsers: Any) -> None:
    """Add the ``apply`` subcommand."""
    parser = subparsers.add_parser("apply", help="run the deploy plan (stops at a failure)")
    add_target_arguments(parser)
    parser.add_argument(
        "--dry-run", action="store_true", help="print the commands without running them"
    )
    parser.set_defaults(run=_run)
