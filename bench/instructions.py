"""Cold starts counted in instructions: each row of the cold-start table, once, under
valgrind's callgrind, from process start to the first answer.

Times on a shared machine move with its speed (this one's changes twofold from second to
second), so a best-of-runs ratio reads to about 0.15x. An instruction count does not: the
same cold start counts the same to about 0.05% whatever else runs, so a ratio to the
baseline reads to the percent and a change worth a millisecond shows. It is a proxy for
time, blind to cache misses and page faults, and valgrind runs 30 to 50 times slower, so
each row runs once.

The counted process does what a functions-framework instance does up to its first answer,
in one interpreter of the deploy environment (bench/deployed.py): import
functions_framework, create the target's app from its entry module (as the CLI does before
gunicorn forks a worker) and dispatch the first request through Flask; then it leaves
without Python's teardown, which is not part of a cold start. Gunicorn and werkzeug's HTTP
parsing, the same for every row, are left out: that makes each ratio a little larger,
never smaller.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench.coldstart import REFERENCES, TARGET_RATIO, Subject, subjects, verdict_of
from bench.deployed import Runtime, deployed
from bench.report import Table
from bench.scenarios import Request
from bench.stack import BenchStack
from shared.deploy.plan import RUNTIME

# argv: target, entry module, the request as JSON (body as latin-1 text). The request goes
# through the app's WSGI call, as gunicorn's worker makes it (Flask's test client would
# import werkzeug.test, click.testing and pdb, which an instance never loads).
FIRST_ANSWER = """
import io, json, os, sys
from urllib.parse import urlsplit
import functions_framework
target, source, request = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
app = functions_framework.create_app(target, source)
body = request["body"].encode("latin-1")
url = urlsplit(request["path"])
environ = {
    "REQUEST_METHOD": request["method"], "SCRIPT_NAME": "", "PATH_INFO": url.path or "/",
    "QUERY_STRING": url.query, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080",
    "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "CONTENT_LENGTH": str(len(body)),
    "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
    "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
    "wsgi.run_once": False,
}
for name, value in request["headers"].items():
    key = name.upper().replace("-", "_")
    environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
environ.setdefault("HTTP_HOST", "127.0.0.1:8080")
answer = []
response = app(environ, lambda status, headers, exc_info=None: answer.append(status))
for _chunk in response:
    pass
getattr(response, "close", lambda: None)()
print(answer[0].split()[0], flush=True)
os._exit(0)
"""
_COLLECTED = re.compile(r"Collected : (\d+)")


@dataclass(frozen=True)
class Count:
    instructions: int
    status: int


def count(runtime: Runtime, row: Subject, request: Request) -> Count:
    """The instructions one cold start of ``row`` executes up to its first answer."""
    payload = {"path": request.path, "method": request.method, "headers": request.headers}
    payload["body"] = request.body.decode("latin-1")
    source = str(runtime.source(row.source))
    env = dict(os.environ, PYTHONHASHSEED="0")  # the same dict and set orders every run
    with tempfile.TemporaryDirectory() as scratch:
        command = ["valgrind", "--tool=callgrind", "--cache-sim=no", "--branch-sim=no"]
        command += [f"--callgrind-out-file={scratch}/callgrind.out"]
        command += [str(runtime.python), "-c", FIRST_ANSWER, row.target, source]
        result = subprocess.run(
            [*command, json.dumps(payload)],
            cwd=runtime.folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    found = _COLLECTED.search(result.stderr)
    if result.returncode != 0 or found is None:
        raise RuntimeError(f"{row.label}: valgrind failed:\n{result.stderr[-3000:]}")
    return Count(int(found.group(1)), int(result.stdout.split()[-1]))


def measure(stack: BenchStack, runtime: Runtime, only: list[str] | None) -> dict[str, Count]:
    """Every subject once, as many at a time as there are CPUs (counts do not depend on
    what else runs); each request is prepared just before its own run."""
    rows = subjects(only)
    preparing = threading.Lock()  # the stack's seeding is not made for threads

    def one(index: int) -> Count:
        with preparing:
            request = rows[index].request(stack, 9000 + index)
        return count(runtime, rows[index], request)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = list(pool.map(one, range(len(rows))))
    return {row.label: found for row, found in zip(rows, counts, strict=True)}


COLUMNS = ["function", "instructions", "vs baseline", "vs floor", "status"]


def table(counts: dict[str, Count]) -> Table:
    base = counts["baseline"].instructions
    floor = counts["floor: + pydantic"].instructions
    out = Table("Cold start in instructions: process start to first answer", COLUMNS)
    for name, found in counts.items():
        ratio = found.instructions / base
        verdict = "" if name.startswith(REFERENCES) else verdict_of(ratio)
        cells: list[object] = [name, f"{found.instructions / 1e6:,.0f} M", f"{ratio:.3f}x{verdict}"]
        cells += [f"{found.instructions / floor:.3f}x", [found.status]]
        out.add(cells, function=name, instructions=found.instructions, status=found.status)
    return out


def run_section(stack: BenchStack, args: argparse.Namespace) -> list[Table]:
    if shutil.which("valgrind") is None:
        skipped = Table("Cold start in instructions", ["note"])
        skipped.add(["valgrind is not installed (Debian package valgrind): not measured"])
        return [skipped]
    runtime = deployed(interpreter=args.python)
    counts = measure(stack, runtime, args.functions)
    result = table(counts)
    ours = [name for name in counts if not name.startswith(REFERENCES)]
    limit = TARGET_RATIO * counts["baseline"].instructions
    within = [name for name in ours if counts[name].instructions <= limit]
    result.notes += [
        f"Instructions executed (valgrind --tool=callgrind) by one cold start of each row, "
        f"from process start to the first answer, in one interpreter (Python "
        f"{runtime.version}; the deploy's runtime is {RUNTIME}) of the deploy environment: "
        f"functions_framework imported, the target's app created from its entry module, "
        f"the first request dispatched through Flask (bench/instructions.py). The same "
        f"request as the timed table's, against the same local Firestore; PYTHONHASHSEED=0. "
        f"Within {TARGET_RATIO}x the baseline: {len(within)} of {len(ours)}.",
        "A count repeats to about 0.05% from run to run, whatever else the machine does; it "
        "does not weigh cache misses or page faults, so it ranks and compares cold starts "
        "rather than predicting their times.",
    ]
    return [result]
