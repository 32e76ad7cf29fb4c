"""``python -m bench.loadgen``: post lead forms at a fixed concurrency, print latencies.

Runs in its own process so the load generator does not share an interpreter lock with the
server it measures (nor with the local Firestore in the bench's process). Each worker keeps
one HTTP connection open, as a browser or proxy would. Prints one JSON object: every
request's latency in seconds, the statuses, and the wall time of the measured part.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from collections import Counter
from typing import Any

SITE = "https://www.acme-plumbing.example"


def body(n: int, form_key: str) -> bytes:
    """Mostly new visitors; every tenth submits again (a merge into their lead)."""
    who = n - 5 if n % 10 == 9 else n
    form = {"form_key": form_key, "email": f"load{who}@example.com", "name": f"Visitor {who}"}
    return json.dumps(form).encode()


def worker(
    port: int, jobs: list[int], form_key: str, latencies: list[float], statuses: Counter[int]
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for n in jobs:
        headers = {
            "Content-Type": "application/json",
            "Origin": SITE,
            "X-Forwarded-For": f"10.{n // 62500 % 250}.{n // 250 % 250}.{n % 250 + 1}",
        }
        started = time.perf_counter()
        conn.request("POST", "/", body=body(n, form_key), headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        statuses[response.status] += 1
    conn.close()


def run(port: int, requests: int, concurrency: int, form_key: str, first: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    jobs = [list(range(first + i, first + requests, concurrency)) for i in range(concurrency)]
    threads = [
        threading.Thread(target=worker, args=(port, job, form_key, latencies, statuses))
        for job in jobs
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"latencies": latencies, "statuses": dict(statuses), "wall": wall}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--form-key", required=True)
    args = parser.parse_args(argv)
    run(args.port, args.warmup, args.concurrency, args.form_key, first=10_000_000)
    result = run(args.port, args.requests, args.concurrency, args.form_key, first=0)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
