"""Hot documents: a burst of 100 redemptions in one second on one popular code.

Firestore sustains about one write per second to a document; a burst well above that on
one document ends in contention errors and retries there. The same burst is sent twice,
through one functions-framework instance serving them all at once (as several instances
would): to a code whose count lives in its own document (how every code worked before,
and how codes under ``SHARD_FROM`` uses still work), and to a code created by the staff
service, which shards it. Every write the local Firestore commits is recorded, so the
figure that production limits, writes per second to the busiest document, is measured
directly; the local Firestore itself does not throttle.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.deployed import Runtime, deployed
from bench.instance import busiest, serving
from bench.report import Table, median, ms, percentile
from bench.stack import COMPANY, FORM_KEY, REFERRER, SITE, BenchStack, seed_code
from shared.domain.counters import SHARDS

BURST = 100
RATE = 100.0  # requests per second
MAX_USES = 1000


def _post(port: int, code: str, email: str, ip: str) -> tuple[int, float]:
    body = json.dumps({"form_key": FORM_KEY, "code": code, "email": email}).encode()
    headers = {"Content-Type": "application/json", "Origin": SITE, "X-Forwarded-For": ip}
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", "/", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        conn.close()


def send_burst(port: int, code: str, tag: str) -> list[tuple[int, float]]:
    """``BURST`` redemptions, one every 1/RATE s, each on its own connection and thread."""
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def one(i: int) -> None:
        time.sleep(max(0.0, start + i / RATE - time.perf_counter()))
        outcome = _post(port, code, f"{tag}-{i}@example.com", f"10.77.{i // 250}.{i % 250 + 1}")
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def run_burst(stack: BenchStack, code: str, tag: str, runtime: Runtime) -> dict[str, Any]:
    """The burst against a fresh instance; statuses, latencies, RPCs, the busiest document."""
    with serving("redeem_referral", threads=BURST, runtime=runtime) as port:
        _post(port, code, f"warm-{tag}@example.com", "10.78.0.1")  # imports, clients: untimed
        with stack.round_trips() as rpcs, stack.writes() as writes:
            results = send_burst(port, code, tag)
    document, most = busiest(writes)
    return {
        "statuses": dict(Counter(status for status, _ in results)),
        "latencies": [seconds for _, seconds in results],
        "rpcs": rpcs,
        "busiest": document,
        "busiest_per_second": most,
    }


def sharded_code() -> str:
    """A code made by the staff service, which shards codes allowing this many uses."""
    from shared import bootstrap
    from shared.domain.identity import Role, StaffIdentity
    from shared.domain.referrals import ReferralCreate
    from shared.services.referral_codes import create_referral

    req = ReferralCreate(referrer_email=REFERRER, max_uses=MAX_USES, offer_details="10% off")
    staff = StaffIdentity("bench", COMPANY, Role.MANAGER)
    return create_referral(bootstrap.document_store(), bootstrap.clock, staff, req).code


COLUMNS = ["code's count", "accepted", "refused", "errors", "p50", "p95", "max"]
COLUMNS += ["transactions begun", "busiest document", "its writes in 1 s"]


def _cells(label: str, r: dict[str, Any]) -> list[Any]:
    ok, refused, lat = r["statuses"].get(201, 0), r["statuses"].get(409, 0), r["latencies"]
    cells: list[Any] = [label, ok, refused, BURST - ok - refused, ms(median(lat))]
    cells += [ms(percentile(lat, 95)), ms(max(lat)), r["rpcs"].get("BeginTransaction", 0)]
    return [*cells, "`" + r["busiest"].split(f"{COMPANY}/", 1)[-1] + "`", r["busiest_per_second"]]


def run_section(stack: BenchStack, args: argparse.Namespace) -> list[Table]:
    runtime = deployed(interpreter=args.python)
    single = "HTSP-WXYZ-22"
    expires = datetime.now(UTC) + timedelta(days=1)
    seed_code(stack.db, single, max_uses=MAX_USES, expires_at=expires)
    table = Table(f"Hot spots: {BURST} redemptions of one code within a second", COLUMNS)
    for label, code in (("one document", single), (f"{SHARDS} shards", sharded_code())):
        result = run_burst(stack, code, label.split()[0], runtime)
        table.add(_cells(label, result), mode=label, **result)
    table.notes.append(
        f"A {MAX_USES}-use code; {RATE:.0f} requests/s. Firestore sustains about 1 write/s "
        "per document: the busiest document's writes per second is the figure that decides "
        "contention there (the local Firestore queues conflicting transactions instead). "
        f"The instance runs the deploy package on Python {runtime.version} (bench/deployed.py)."
    )
    return [table]
