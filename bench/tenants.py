"""``tenants``: every periodic function with 100, 1,000 and 10,000 companies, run as
production runs them.

For each size a fresh project of the local Firestore is seeded through BulkWriter: a
tenth of the companies were active yesterday (three leads, one converted, a review, the
website's event counts, engagement decay set up, so each of their leads decays), and one
active company in ten also has a referral code due to expire, a social connection due
for a refresh and a schedule-triggered workflow due; the other companies are idle (a
company document and two old leads). Activity markers are what the functions' writes
would have left (``shared.domain.activity``). Then each periodic function's Cloud
Scheduler job is run through the real client (``bench.cloud``): the function fans out
through the local Cloud Tasks, which dispatches to ``run_task`` and to the run's
continuations until the queue is empty. Each invocation is served alone, and what it read
and wrote is taken from the local Firestore's counters (``bench.accounting``). Finally the
rollup's Scheduler call is repeated with the same schedule time: it must schedule nothing.

The targets: the largest invocation (documents, and seconds) the same within 1.5x from
100 to 10,000 companies, and the documents read in proportion to the active companies.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.cloud import LocalCloud
from bench.report import Table
from bench.stack import BenchStack
from shared.ports import ArrayUnion, Write

SIZES = (100, 1_000, 10_000)
QUICK_SIZES = (100, 1_000)
ACTIVE_EVERY = 10  # a tenth of the companies were active yesterday
DUE_EVERY = 100  # and a tenth of those have a code, a connection and a workflow due
JOBS = (
    "rollup_analytics",
    "decay_engagement_scores",
    "expire_referrals",
    "refresh_social_tokens",
    "enrol_scheduled_workflows",
)
DECAY = {"engagement_decay_percent": 50, "engagement_decay_days": 7}


def company_docs(i: int, now: datetime, cipher: Any) -> list[Write]:
    """Company ``t{i}``'s documents: active ones' yesterday, idle ones' a month ago."""
    company_id = f"t{i:05d}"
    base = f"companies/{company_id}"
    active = i % ACTIVE_EVERY == 0
    settings: dict[str, Any] = {"postal_address": "1 Main Street"} | (DECAY if active else {})
    docs = [Write(base, {"name": f"Company {i}", "settings": settings})]
    if not active:
        month_ago = now - timedelta(days=30)
        return docs + [_lead(base, f"o{k}", month_ago, "web_form") for k in range(2)]
    yesterday = now.replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=1)
    docs += _active_day(base, yesterday, now)
    if i % DUE_EVERY == 0:
        docs += _due(base, company_id, now, cipher)
    return docs


def _lead(base: str, lead_id: str, at: datetime, source: str, **more: Any) -> Write:
    email = f"{lead_id}@{base.split('/')[1]}.example"
    data = {"id": lead_id, "company_id": base.split("/")[1], "email": email}
    data |= {"email_normalized": email, "name": "Pat Doe", "status": "new", "source": source}
    return Write(f"{base}/leads/{lead_id}", {**data, "created_at": at, "updated_at": at, **more})


def _active_day(base: str, yesterday: datetime, now: datetime) -> list[Write]:
    quiet = {"engagement_points": 20, "score": 20, "engagement_decay_from": now - timedelta(days=8)}
    converted = {"status": "converted", "converted_at": yesterday}
    day = yesterday.date().isoformat()
    counts = {"total": 5, "sessions": 2, "by_type": {"page_view": 5}, "by_name": {"page_view:/": 5}}
    review = {"requested_at": yesterday, "completed_at": yesterday, "rating": 5}
    return [
        _lead(base, "l1", yesterday, "web_form", **quiet),
        _lead(base, "l2", yesterday, "web_form", **quiet),
        _lead(base, "l3", yesterday, "referral", **quiet, **converted),
        Write(f"{base}/reviews/r1", {**review, "status": "completed", "lead_id": "l1"}),
        Write(f"{base}/analytics_event_counts/{day}-00", counts),
    ]


def _due(base: str, company_id: str, now: datetime, cipher: Any) -> list[Write]:
    connection = f"{base}/social_connections/linkedin"
    sealed = {
        "access_token": cipher.seal("at", f"{connection}#access_token"),
        "refresh_token": cipher.seal("rt", f"{connection}#refresh_token"),
    }
    converted = [{"field": "status", "op": "==", "value": "converted"}]
    trigger = {"type": "schedule", "cron": "0 9 * * 1", "time_zone": "UTC"}
    workflow: dict[str, Any] = {"id": "weekly", "company_id": company_id, "name": "Weekly"}
    workflow |= {"status": "active"}
    workflow |= {"trigger": {**trigger, "conditions": converted}, "goals": [], "version": 1}
    workflow |= {"steps": [{"id": "tag", "type": "add_tag", "tag": "weekly"}]}
    workflow |= {"created_at": now - timedelta(days=30), "schema_version": 3}
    workflow |= {"next_fire_at": now - timedelta(minutes=1), "allow_reenrolment": False}
    code: dict[str, Any] = {"code": "DUE-CODE", "company_id": company_id, "status": "active"}
    code |= {"referrer_lead_id": "l1", "referrer_email": "l1@x.example"}
    code |= {"expires_at": now - timedelta(hours=1), "created_at": now - timedelta(days=40)}
    linkedin = {"platform": "linkedin", "status": "active", **sealed}
    return [
        Write(f"{base}/referrals/DUE-CODE", code),
        Write(connection, {**linkedin, "expires_at": now + timedelta(minutes=10)}),
        Write(f"{base}/workflows/weekly", workflow),
    ]


def markers(writes: list[Write], now: datetime) -> list[Write]:
    """The activity markers the functions would have written along with ``writes``."""
    from shared.domain.activity import marker_writes, marks_of

    today = now.date().isoformat()
    return marker_writes({m for w in writes for m in marks_of(w, today)})


def seed(client: Any, size: int, now: datetime, cipher: Any) -> float:
    """``size`` companies through BulkWriter; seconds taken."""
    from google.cloud.firestore_v1.bulk_writer import BulkWriterOptions

    started = time.perf_counter()
    options = BulkWriterOptions(initial_ops_per_second=50_000, max_ops_per_second=50_000)
    writer = client.bulk_writer(options=options)
    for i in range(size):
        docs = company_docs(i, now, cipher)
        for write in [*docs, *markers(docs, now)]:
            data = {
                k: list(v.values) if isinstance(v, ArrayUnion) else v for k, v in write.data.items()
            }
            writer.set(client.document(write.path), data)
    writer.close()
    return time.perf_counter() - started


def documents(record: dict[str, Any]) -> int:
    used = record.get("documents", {})
    return int(used.get("read", 0) + used.get("written", 0) + used.get("deleted", 0))


def repeat_rollup(cloud: LocalCloud) -> int:
    """The rollup's Scheduler call again, same schedule time: how many tasks it adds."""
    first = next(r for r in cloud.records() if r["function"] == "rollup_analytics")
    job, _, when = json.loads(first["answer"])["run"].partition("@")
    headers = {"X-CloudScheduler-JobName": job, "X-CloudScheduler-ScheduleTime": when}
    request = urllib.request.Request(
        f"{cloud.base_url}/rollup_analytics", data=b"{}", headers=headers, method="POST"
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as res:
        return int(json.load(res)["scheduled"])


def measure(stack: BenchStack, size: int) -> dict[str, Any]:
    """Seed ``size`` companies, run every periodic job, and sum up the invocations."""
    from shared.adapters.crypto import AesGcmCipher, parse_key
    from shared.adapters.crypto import new_key as make_key

    key = make_key()
    project, now = f"{stack.project}-tenants-{size}", datetime.now(UTC)
    seeded = seed(stack.client(project), size, now, AesGcmCipher(parse_key(key)))
    cloud = LocalCloud(stack, project, GROWTHKIT_SECRETS_KEY=key).start()
    try:
        seconds = {job: cloud.run_job(job) for job in JOBS}
        records = cloud.records()
        repeated = repeat_rollup(cloud)
    finally:
        cloud.stop()
        stack.firestore.store.clear(f"projects/{project}/databases/(default)")
    return summary(size, records, seconds, seeded, repeated)


def summary(
    size: int,
    records: list[dict[str, Any]],
    seconds: dict[str, float],
    seeded: float,
    repeated: int,
) -> dict[str, Any]:
    by_function: dict[str, int] = {}
    for record in records:
        by_function[record["function"]] = by_function.get(record["function"], 0) + 1
    read = sum(r.get("documents", {}).get("read", 0) for r in records)
    written = sum(r.get("documents", {}).get("written", 0) for r in records)
    return {
        "companies": size,
        "active": size // ACTIVE_EVERY,
        "invocations": len(records),
        "max_docs_per_invocation": max(map(documents, records)),
        "max_seconds_per_invocation": max(r["seconds"] for r in records),
        "total_docs_read": read,
        "total_docs_written": written,
        "failed_invocations": sum(1 for r in records if r["status"] != 200),
        "repeat_scheduled": repeated,
        "run_seconds": sum(seconds.values()),
        "seconds_by_job": seconds,
        "invocations_by_function": by_function,
        "seed_seconds": seeded,
    }


COLUMNS = [
    "companies",
    "active",
    "invocations",
    "max docs / invocation",
    "max time / invocation",
    "docs read",
    "docs written",
    "not 2xx",
    "repeated run adds",
    "run",
    "seeding",
]


def run_section(stack: BenchStack, args: argparse.Namespace) -> list[Table]:
    table = Table(
        "Periodic functions against companies: fan-out per tenant", COLUMNS, key="tenants"
    )
    rows = [measure(stack, size) for size in (QUICK_SIZES if args.quick else SIZES)]
    for row in rows:
        table.add(
            [
                f"{row['companies']:,}",
                f"{row['active']:,}",
                f"{row['invocations']:,}",
                row["max_docs_per_invocation"],
                f"{row['max_seconds_per_invocation'] * 1000:.0f} ms",
                f"{row['total_docs_read']:,}",
                f"{row['total_docs_written']:,}",
                row["failed_invocations"],
                row["repeat_scheduled"],
                f"{row['run_seconds']:.0f} s",
                f"{row['seed_seconds']:.0f} s",
            ],
            **row,
        )
    table.notes += notes(rows)
    return [table]


def notes(rows: list[dict[str, Any]]) -> list[str]:
    first, last = rows[0], rows[-1]
    docs = last["max_docs_per_invocation"] / first["max_docs_per_invocation"]
    secs = last["max_seconds_per_invocation"] / first["max_seconds_per_invocation"]
    reads = (last["total_docs_read"] / last["active"]) / (
        first["total_docs_read"] / first["active"]
    )
    return [
        f"From {first['companies']:,} to {last['companies']:,} companies the largest "
        f"invocation's documents grow {docs:.2f}x and its time {secs:.2f}x (target: within "
        f"1.5x); the documents read per active company change {reads:.2f}x (idle companies "
        "cost nothing). Every periodic function but dispatch_due_tasks runs once, through "
        "its Scheduler job, the local Cloud Tasks and run_task, one invocation at a time "
        "(bench/cloud.py); documents are Firestore's billed operations as the local "
        "Firestore counts them (a query's results, at least one read per query; one read "
        "per 1,000 index entries an aggregation counts; each write and delete). "
        '"repeated run adds": the tasks a second Scheduler call of the rollup, same '
        "schedule time, scheduled (none: task names come from the schedule time)."
    ]
