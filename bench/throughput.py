"""Lead intake under load: one functions-framework instance, many concurrent forms.

The instance is started as Cloud Functions runs it (the deploy package in an environment of
its pinned requirements, bench/deployed.py; gunicorn, one worker, ``THREADS`` set to the
manifest's concurrency, as the deploy plan sets it) against the local Firestore in the
bench's process; ``bench.loadgen`` posts from a third process with one connection per
concurrent visitor. All three share the machine's CPUs, so the figures are a floor for
one instance, not a production capacity.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from bench.deployed import Runtime, deployed
from bench.instance import ROOT, busiest, serving
from bench.report import Table, median, ms, percentile
from bench.stack import FORM_KEY, BenchStack
from shared.manifest import by_name


def load(requests: int, concurrency: int, runtime: Runtime) -> dict[str, Any]:
    """Start lead_intake, run the load generator against it, return its report."""
    with serving("lead_intake", threads=concurrency, runtime=runtime) as port:
        generator = [sys.executable, "-m", "bench.loadgen", "--port", str(port)]
        generator += ["--requests", str(requests), "--concurrency", str(concurrency)]
        generator += ["--form-key", FORM_KEY]
        out = subprocess.run(generator, cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


COLUMNS = ["requests", "concurrency", "requests/s", "p50", "p95", "p99", "max", "statuses"]
COLUMNS += ["Firestore RPCs / request", "busiest document", "its writes in 1 s"]
WARMUP = 40


def run_section(stack: BenchStack, args: argparse.Namespace) -> list[Table]:
    concurrency = by_name("lead_intake").concurrency
    requests = 400 if args.quick else 1000
    runtime = deployed(interpreter=args.python)
    with stack.round_trips() as rpcs, stack.writes() as writes:
        result = load(requests, concurrency, runtime)
    lat, wall = [float(x) for x in result["latencies"]], float(result["wall"])
    document, most = busiest(writes)
    table = Table("Lead intake throughput and latency (one instance, local stack)", COLUMNS)
    cells = [len(lat), concurrency, f"{len(lat) / wall:.0f}", ms(median(lat))]
    cells += [ms(percentile(lat, 95)), ms(percentile(lat, 99)), ms(max(lat)), result["statuses"]]
    cells += [f"{sum(rpcs.values()) / (len(lat) + WARMUP):.2f}", f"`{document}`", most]
    table.add(cells, concurrency=concurrency, rpcs=rpcs, busiest=document, **result)
    table.notes.append(
        "One run; every tenth form repeats an earlier visitor (a merge). Concurrency is the "
        f"manifest's per-instance concurrency; the {WARMUP} warm-up requests are not timed. "
        "The company's rate limits are raised out of the way (bench/stack.py); the busiest "
        "document is a shard of its per-minute submission counter, which every lead writes. "
        f"The instance runs the deploy package on Python {runtime.version} (bench/deployed.py)."
    )
    return [table]
