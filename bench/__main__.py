"""``python -m bench [--quick] [--only SECTION ...]``: run the benchmarks, print the tables,
write bench/results/latest.md and latest.json."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from pathlib import Path

from bench.report import Table, machine, write
from bench.stack import BenchStack

# Section name -> module with ``run(stack, args) -> list[Table]``, in report order.
SECTIONS = {
    "coldstart": "bench.coldstart",
    "instructions": "bench.instructions",
    "roundtrips": "bench.roundtrips",
    "throughput": "bench.throughput",
    "scaling": "bench.scaling",
    "hotspots": "bench.hotspots",
    "tenants": "bench.tenants",
    "cost": "bench.cost",
}
RESULTS = Path(__file__).resolve().parent / "results"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs, no 100,000-task case")
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), help="these sections")
    parser.add_argument("--runs", type=int, default=None, help="cold starts per function")
    parser.add_argument(
        "--functions", nargs="+", metavar="NAME", help="cold starts of these only (and baselines)"
    )
    parser.add_argument(
        "--python",
        metavar="PATH",
        help="cold starts on this interpreter's environment (default: the bench's own)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where latest.md/json go")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    args.runs = args.runs or (3 if args.quick else 5)
    # The functions log every request; the tables are the output here.
    logging.basicConfig(level=logging.ERROR)
    stack = BenchStack()
    tables: list[Table] = []
    try:
        for name in args.only or list(SECTIONS):
            started = time.perf_counter()
            print(f"bench: {name}...", file=sys.stderr, flush=True)
            tables += importlib.import_module(SECTIONS[name]).run_section(stack, args)
            print(f"bench: {name} took {time.perf_counter() - started:.0f} s", file=sys.stderr)
    finally:
        stack.close()
    options = ("--quick" if args.quick else "full") + f", {args.runs} cold starts per function"
    if args.python:
        options += f", cold starts on --python {args.python}"
    print(write(tables, machine(), options, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
