"""Cold starts: a fresh functions-framework process per run, timed to its first answer.

Every instance runs from the deploy package in an environment of its pinned requirements
(bench/deployed.py), as Cloud Functions runs it. Each run starts
``functions-framework --target X --source main.py`` and sends the
function's realistic first request (bench/first_requests.py) as soon as the port accepts, so the
time covers the interpreter, the imports, building clients and the request's own round
trips to the local Firestore. The baseline (bench/baseline/main.py) is a bare function
importing only ``google.cloud.firestore``, started the same way, from the same
environment, in the same loop; runs
alternate between functions so drift on a shared machine spreads evenly. Import times are
measured the same way in fresh interpreters: functions-framework plus the entry module and
target, against functions-framework plus Firestore.
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.deployed import Runtime, baseline_copy, deployed
from bench.first_requests import first_request_of
from bench.instance import cpu_seconds, free_port, start
from bench.report import Table, median, ms, ratio
from bench.scenarios import Request, Scenario
from bench.stack import BenchStack
from shared.deploy.plan import RUNTIME
from shared.manifest import FUNCTIONS

# Entry modules in the runtime's folder: the bundle's, then the baselines' copies.
OURS = "main.py"
BASELINE = baseline_copy("main.py")
EAGER = baseline_copy("eager_main.py")
FLOOR = baseline_copy("floor_main.py")
FLOOR_MSGSPEC = baseline_copy("floor_msgspec_main.py")
EAGER_IMPORTS = (
    "import functions.analytics, functions.content, functions.forms, functions.referrals, "
    "functions.reviews, functions.tasks, functions.triggers"
)
TARGET_RATIO = 1.2
IMPORT_OURS = "import functions_framework, functions.main as m; m.{target}"
IMPORT_BASELINE = "import functions_framework; from google.cloud import firestore"
IMPORT_FLOOR = f"{IMPORT_BASELINE}; import pydantic; pydantic.BaseModel"
IMPORT_FLOOR_AUTH = f"{IMPORT_FLOOR}; import firebase_admin.auth"
IMPORT_FLOOR_TASKS = f"{IMPORT_FLOOR}; from google.cloud import tasks_v2"
IMPORT_MSGSPEC = f"{IMPORT_BASELINE}; import msgspec"


@dataclass
class Samples:
    starts: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    imports: list[float] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)


def _answer(port: int, request: Request, deadline: float) -> int:
    """Send ``request`` as soon as the port accepts; the response's status."""
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.connect()
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)
            continue
        try:
            conn.request(request.method, request.path, body=request.body, headers=request.headers)
            return conn.getresponse().status
        finally:
            conn.close()


def cold_start(
    runtime: Runtime, target: str, source: Path, request: Request
) -> tuple[float, float, int]:
    """Seconds from process start to the answer of ``request``, the CPU seconds the
    instance used by then, and the answer's status."""
    port = free_port()
    started = time.perf_counter()
    process = start(target, port, runtime, source)
    try:
        status = _answer(port, request, time.monotonic() + 60)
        wall = time.perf_counter() - started
        return wall, cpu_seconds(process.pid), status
    finally:
        process.terminate()
        process.wait(timeout=30)


def import_time(runtime: Runtime, code: str) -> float:
    """Seconds a fresh interpreter spends running ``code`` (the imports it names)."""
    timed = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
    command = [str(runtime.python), "-c", timed]
    result = subprocess.run(command, cwd=runtime.folder, capture_output=True, text=True, check=True)
    return float(result.stdout.strip())


@dataclass(frozen=True)
class Subject:
    """What one row measures: a target in a source, and its first request."""

    label: str
    target: str
    source: str  # the entry module's file name in the runtime's folder
    imports: str
    scenario: Scenario | None = None  # None: a plain GET (the baselines)

    def request(self, stack: BenchStack, run: int) -> Request:
        return self.scenario.prepare(stack, 2000 + run) if self.scenario else Request("GET")


def subjects(only: list[str] | None = None) -> list[Subject]:
    """Both baselines, the floor, lead_intake behind the old eager main.py, then every
    function (or those named in ``only``)."""
    eager = f"import functions_framework; {EAGER_IMPORTS}"
    rows = [
        Subject("baseline", "baseline", BASELINE, IMPORT_BASELINE),
        Subject("baseline_read", "baseline_read", BASELINE, IMPORT_BASELINE),
        Subject("floor: + pydantic", "floor", FLOOR, IMPORT_FLOOR),
        Subject("floor + firebase-admin", "floor_auth", FLOOR, IMPORT_FLOOR_AUTH),
        Subject("floor + Cloud Tasks", "floor_tasks", FLOOR, IMPORT_FLOOR_TASKS),
        Subject("floor, msgspec for pydantic", "floor_msgspec", FLOOR_MSGSPEC, IMPORT_MSGSPEC),
        Subject(
            "lead_intake, eager main.py",
            "lead_intake",
            EAGER,
            eager,
            first_request_of("lead_intake"),
        ),
    ]
    for function in FUNCTIONS:
        if only and function.name not in only:
            continue
        scenario = first_request_of(function.name)
        if scenario is not None:
            imports = IMPORT_OURS.format(target=function.name)
            rows.append(Subject(function.name, function.name, OURS, imports, scenario))
    return rows


def measure(
    stack: BenchStack, runtime: Runtime, runs: int, only: list[str] | None = None
) -> dict[str, Samples]:
    """Every subject ``runs`` times, interleaved (so drift spreads evenly over them)."""
    rows = subjects(only)
    samples = {row.label: Samples() for row in rows}
    for run in range(runs):
        for index, row in enumerate(rows):
            request = row.request(stack, run * 100 + index)
            source = runtime.source(row.source)
            seconds, cpu, status = cold_start(runtime, row.target, source, request)
            found = samples[row.label]
            found.starts.append(seconds)
            found.cpu.append(cpu)
            found.statuses.add(status)
            found.imports.append(import_time(runtime, row.imports))
    return samples


COLUMNS = ["function", "first answer best", "median", "CPU best", "vs baseline: best"]
COLUMNS += ["median", "CPU", "import best", "vs baseline", "status"]
# The reference rows (baselines, floors, the eager main.py): shown without a verdict.
REFERENCES = ("baseline", "floor", "lead_intake,")


def _cells(name: str, found: Samples, base: Samples) -> list[object]:
    best = min(found.starts) / min(base.starts)
    cpu = min(found.cpu) / min(base.cpu)
    verdict = "" if name.startswith(REFERENCES) else verdict_of(best, cpu)
    cells: list[object] = [name, ms(min(found.starts)), ms(median(found.starts))]
    cells += [ms(min(found.cpu)), f"{best:.2f}x", ratio(median(found.starts), median(base.starts))]
    cells += [f"{cpu:.2f}x{verdict}", ms(min(found.imports))]
    return [*cells, ratio(min(found.imports), min(base.imports)), sorted(found.statuses)]


def verdict_of(*ratios: float) -> str:
    """Met when any of the ratios is within the target: here the best wall time or, on a
    machine too busy for wall times, the CPU time used; one instruction count elsewhere."""
    return " met" if min(ratios) <= TARGET_RATIO else " MISSED"


def table(samples: dict[str, Samples]) -> Table:
    out = Table("Cold start: process start to first answered request, and entry import", COLUMNS)
    for name, found in samples.items():
        raw = {"starts": found.starts, "cpu": found.cpu, "imports": found.imports}
        out.add(_cells(name, found, samples["baseline"]), function=name, **raw)
    return out


def run_section(stack: BenchStack, args: argparse.Namespace) -> list[Table]:
    load_before = os.getloadavg()[0]
    runtime = deployed(interpreter=args.python)
    unknown = sorted(set(args.functions or ()) - {f.name for f in FUNCTIONS})
    if unknown:
        raise SystemExit(f"bench: no such functions in the manifest: {unknown}")
    samples = measure(stack, runtime, args.runs, args.functions)
    result = table(samples)
    result.notes += [
        f"Target: each function within {TARGET_RATIO}x the bare baseline, judged on the best of "
        "the runs (on a shared machine, other work only ever adds time; medians shown too). "
        "`baseline` imports google.cloud.firestore and answers without I/O; `baseline_read` "
        "also builds a client and reads one document; `floor: + pydantic` also imports pydantic "
        "and validates one model (bench/baseline/floor_main.py): what any function checking its "
        "input with pydantic costs, shown for reference; `floor + firebase-admin` and `floor + "
        "Cloud Tasks` add the library every staff function, and every function queueing a task "
        "on its first request, must import; `floor, msgspec for pydantic` is the floor checking "
        "its input with a msgspec Struct instead (bench/baseline/floor_msgspec_main.py): what "
        "the choice of pydantic costs. Each function's first request does its real work against "
        "the local Firestore (bench/first_requests.py); `lead_intake, eager main.py` is the "
        "same function behind a main.py importing every area, as functions/main.py did before.",
        "Every instance runs the deploy package (python -m shared.deploy package) with the "
        f"interpreter (Python {runtime.version}; the deploy's runtime is {RUNTIME}) of a "
        "virtual environment holding only its pinned requirements.txt "
        "(bench/deployed.py), baselines included; every module is compiled to bytecode first, "
        "as a deploy's build and pip's install of the libraries do.",
        f"{args.runs} runs each, fresh processes, interleaved; {os.cpu_count()} CPUs shared "
        f"with the local Firestore; load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after.",
    ]
    if args.functions:
        result.notes.append(f"Only these functions (--functions): {args.functions}.")
    missing = [f.name for f in FUNCTIONS if first_request_of(f.name) is None]
    if missing:
        result.notes.append(
            f"Not measured (no first request in bench/first_requests.py): {missing}."
        )
    return [result]
