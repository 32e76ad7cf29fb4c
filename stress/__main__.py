"""``python -m stress [--leads N] [--clients N] ...``: the load and fault run, with figures.

1. load: ``--leads`` lead submissions (at least 10,000 by default) plus referral
   redemptions, exact replays, spam and a few invalid posts, from ``--clients`` concurrent
   clients over HTTP on 127.0.0.1 against the whole local stack (functions in their own
   process, Firestore, Cloud Tasks, Cloud Scheduler, the Eventarc bridge).
2. faults: more of the same while Firestore commits fail at random (ABORTED, UNAVAILABLE)
   and the functions process is SIGKILLed and restarted; clients retry.
3. task crash: a task handler killed after sending and before acknowledging.
4. restart: everything stopped and started again on its data directory.

After each phase Firestore is read back: every accepted submission stored exactly once,
counters matching. Exit status 1 if anything was lost, doubled or left unanswered.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

from shared import bootstrap
from stress import chaos, phases
from stress.report import Phase, passed, render
from stress.stack import StressStack, output_to
from stress.verify import Findings


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m stress", description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=10_000, help="lead posts in the load phase")
    parser.add_argument("--fault-leads", type=int, default=2_000, help="lead posts under faults")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--companies", type=int, default=8)
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs of the functions process")
    parser.add_argument("--fault-rate", type=float, default=0.1, help="share of commits failing")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: a temporary one")
    return parser.parse_args(argv)


def _chaos_phase(name: str, notes: dict[str, object], started: float) -> Phase:
    return Phase(name, [], time.monotonic() - started, Findings(), notes)


def run(args: argparse.Namespace, data_dir: Path) -> list[Phase]:
    logging.basicConfig(filename=data_dir / "stress.log", level=logging.WARNING)
    history, done = phases.History(), []
    with output_to(data_dir / "stack.log"):
        stack = StressStack.create(data_dir).start()
    bootstrap.reset()
    try:
        tenants = phases.seed(stack, args.companies, history)
        done.append(phases.load(stack, tenants, args.leads, args.clients, history))
        print(render(done[-1]), flush=True)
        done.append(
            phases.faults(
                stack, tenants, args.fault_leads, args.clients, history, args.kills, args.fault_rate
            )
        )
        print(render(done[-1]), flush=True)
        started = time.monotonic()
        done.append(_chaos_phase("task crash", chaos.crash_after_send(stack, tenants[0]), started))
        print(render(done[-1]), flush=True)
        started = time.monotonic()
        with output_to(data_dir / "stack.log"):
            stack, notes = chaos.restart(stack, tenants[-1])
        after = history.check("restart", [], time.monotonic() - started, **notes)
        done.append(after)
        print(render(done[-1]), flush=True)
    finally:
        with output_to(data_dir / "stack.log"):
            stack.stop()
    return done


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    with tempfile.TemporaryDirectory(prefix="growthkit-stress-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        print(f"stress: data and logs in {data_dir}", flush=True)
        done = run(args, data_dir)
    ok = all(passed(phase) for phase in done)
    print(
        f"stress: {'PASSED' if ok else 'FAILED'} (lost found: "
        f"{sum(len(p.findings.lost) for p in done)}, duplicates found: "
        f"{sum(len(p.findings.duplicates) for p in done)})",
        flush=True,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
