"""``cost``: what one small business costs a month, beside the least its data allows.

A reference day of a small business is played through the local stack and the real
functions (``bench.cloud``: every function served on 127.0.0.1, the Eventarc bridge
delivering Firestore changes to the triggers, the local Cloud Tasks delivering to
``run_task``, the periodic functions run by their Scheduler jobs): 50 form leads (5 of
them visitors who came back), 500 website events (100 beacons of 5), 10 review requests
(3 completed the same day, the 7 others reminded twice), 5 posts published to the blog
and LinkedIn, one e-mail campaign to 1,000 consenting leads; then every periodic
function runs once. The functions' clock plays the day as yesterday (the nightly rollup
counts it), then six days on (the reminders), then now (the periodic runs). Before the
day the company already has its 1,000 leads and 10 customers; writing them is not
counted.

Counted: Firestore's billed operations (documents read, written and deleted, as the
local Firestore meters them: ``bench.accounting``), Cloud Tasks' billed operations (task
creations and deletions by the functions, and push delivery attempts) and function
invocations. A month is 30 such days, priced at ``PRICES``. Beside each, the least the
data model allows for that day (``LEAST``): the documents that must be written and read
for what happened, counted from the model, with no retry safety (markers, leases, rate
counters) and no feature the day did not use.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.cloud import LocalCloud
from bench.report import Table
from bench.stack import STAFF_EMAIL, STAFF_UID, BenchStack

COMPANY = "daybiz"
FORM_KEY = f"{COMPANY}.bench-form-key"
SITE = "https://www.daybiz.example"
RECIPIENTS = 1000
CUSTOMERS = 10
COMPLETED_REVIEWS = 3
REVIEW_REMINDERS = 2
LEADS, RETURNING = 50, 5
BEACONS, EVENTS_PER_BEACON = 100, 5
POSTS, PLATFORMS = 5, ("blog", "linkedin")
DAYS_PER_MONTH = 30


@dataclass(frozen=True)
class Price:
    """A list price: ``dollars`` per ``per`` units beyond ``free`` units a month."""

    dollars: float
    per: int
    free: int
    source: str


# Google's list prices (USD), read on 2026-12-05 from copies of the pages named beside
# them (this machine reaches no live page): Firestore Standard edition in
# us-central1 (its free quota is daily: 50,000 reads, 20,000 writes, 20,000 deletes,
# written here per 30-day month), Cloud Tasks, Cloud Run functions (Cloud Functions 2nd
# gen) requests; compute time (vCPU- and GiB-seconds) is not counted here.
PRICES = {
    "reads": Price(0.03, 100_000, 50_000 * 30, "https://cloud.google.com/firestore/pricing"),
    "writes": Price(0.09, 100_000, 20_000 * 30, "https://cloud.google.com/firestore/pricing"),
    "deletes": Price(0.01, 100_000, 20_000 * 30, "https://cloud.google.com/firestore/pricing"),
    "tasks": Price(0.40, 1_000_000, 1_000_000, "https://cloud.google.com/tasks/pricing"),
    "invocations": Price(0.40, 1_000_000, 2_000_000, "https://cloud.google.com/functions/pricing"),
}
CHECKED = "2026-12-05"


@dataclass(frozen=True)
class Least:
    """What one kind of operation of the day must read and write at the least, per the
    data model, and how many times the day does it."""

    what: str
    times: int
    reads: int
    writes: int
    why: str


# Leads the company holds when the campaign reads its audience: those before the day
# and the day's new ones.
COMPANY_LEADS = RECIPIENTS + CUSTOMERS + LEADS - RETURNING
REMINDERS_SENT = (CUSTOMERS - COMPLETED_REVIEWS) * REVIEW_REMINDERS
INTERACTIONS = LEADS + CUSTOMERS + REMINDERS_SENT + RECIPIENTS

# The least the data model allows for the reference day, operation by operation: the
# documents it must read to decide, and the documents the model keeps for it, each
# written once (no duplicate markers, leases, idempotency records or rate counters).
LEAST = (
    Least(
        "form lead, new visitor",
        LEADS - RETURNING,
        2,
        2,
        "read the company (its form key) and the lead (new or known); write the lead, "
        "its fit score in it, and the form's interaction",
    ),
    Least(
        "form lead, returning visitor",
        RETURNING,
        2,
        2,
        "the same reads; write the lead merged and the interaction",
    ),
    Least(
        "fit score history of a new lead",
        LEADS - RETURNING,
        0,
        2,
        "a history record per rule that scored it (the default rules: its source and its consent)",
    ),
    Least(
        "website events, a beacon of 5 in a new session",
        BEACONS,
        2,
        EVENTS_PER_BEACON + 2,
        "read the company and the session's marker; write each event, the marker and "
        "the day's count",
    ),
    Least(
        "review request",
        CUSTOMERS,
        3,
        3 + REVIEW_REMINDERS,
        "read the company, the customer and their cooldown; write the review, the "
        "cooldown, the request's interaction and a task per reminder",
    ),
    Least(
        "review completed",
        COMPLETED_REVIEWS,
        1,
        1 + REVIEW_REMINDERS,
        "read the review; write it, and each of its reminders' tasks cancelled",
    ),
    Least(
        "review reminder sent",
        REMINDERS_SENT,
        4,
        3,
        "read the task, the review, the customer and the company; write the reminder's "
        "interaction, the review's count and the task's outcome",
    ),
    Least(
        "post published to the blog and LinkedIn",
        POSTS,
        1,
        2,
        "write the draft; read it; write it published (each platform's state in it)",
    ),
    Least(
        "campaign created and started",
        1,
        2,
        2,
        "write the campaign; read the company and the campaign; write its sending task",
    ),
    Least(
        "campaign audience",
        1,
        COMPANY_LEADS,
        0,
        "read each of the company's leads once to select the audience",
    ),
    Least(
        "campaign recipient sent",
        RECIPIENTS,
        3,
        4,
        "read the recipient, the address's suppression and its frequency count; write "
        "the recipient with its outcome, the send record, the frequency count and the "
        "message's interaction",
    ),
    Least(
        "scoring an interaction",
        INTERACTIONS,
        1,
        0,
        "read the company's scoring rules (none of the day's interactions scores)",
    ),
    Least(
        "nightly rollup of the day",
        1,
        20,
        22,
        "count the day (about 20 aggregation queries, a read each); write its metrics",
    ),
    Least(
        "the periodic runs' own queries",
        6,
        1,
        0,
        "each periodic function's query for what is due (one read, even when empty)",
    ),
)


def least_totals() -> dict[str, int]:
    return {
        "reads": sum(op.times * op.reads for op in LEAST),
        "writes": sum(op.times * op.writes for op in LEAST),
    }


# --- the day ---------------------------------------------------------------------------


def seed(db: Any, now: datetime) -> None:
    """The company as it is before the day: settings, 1,000 consenting leads (contacted
    before: the campaign's audience) and 10 customers."""
    settings = {
        "min_submit_seconds": 0,
        "submissions_per_ip_per_hour": 1_000_000,
        "submissions_per_company_per_minute": 1_000_000,
        "events_per_ip_per_hour": 1_000_000,
        "review_urls": {"google": "https://g.example/daybiz"},
        "postal_address": "1 Main Street, Springfield",
        "send_rate_email": 1000,
        "send_window_seconds": 1,
        "engagement_decay_percent": 10,
        "engagement_decay_days": 30,
    }
    company = {"name": "Day Business", "public_form_key": FORM_KEY, "allowed_origins": [SITE]}
    from google.cloud.firestore_v1.bulk_writer import BulkWriterOptions

    options = BulkWriterOptions(initial_ops_per_second=50_000, max_ops_per_second=50_000)
    writer = db.bulk_writer(options=options)
    writer.set(db.document(f"companies/{COMPANY}"), {**company, "settings": settings})
    scoring = {"rules": [], "updated_at": now}
    writer.set(db.document(f"companies/{COMPANY}/config/scoring_rules"), scoring)
    month_ago = now - timedelta(days=30)
    consent = {"given": True, "text": "Yes, e-mail me", "given_at": month_ago}
    for i in range(RECIPIENTS):
        _seed_lead(writer, db, f"lead{i:04d}@example.com", month_ago, "contacted", consent)
    for i in range(CUSTOMERS):
        _seed_lead(writer, db, f"customer{i}@example.com", month_ago, "converted", consent)
    writer.close()


def _seed_lead(writer: Any, db: Any, email: str, at: datetime, status: str, consent: Any) -> None:
    from shared.domain.leads import lead_id_for

    lead_id = lead_id_for(email)
    data: dict[str, Any] = {"id": lead_id, "company_id": COMPANY, "email": email}
    data |= {
        "email_normalized": email,
        "name": "Pat Doe",
        "status": status,
        "consent": consent,
        "schema_version": 2,
    }
    data |= {"created_at": at, "updated_at": at, "source": "web_form"}
    writer.set(db.document(f"companies/{COMPANY}/leads/{lead_id}"), data)


class Caller:
    """Posts to the functions as browsers and staff do."""

    def __init__(self, cloud: LocalCloud, staff: dict[str, str]) -> None:
        self.base, self.staff = cloud.base_url, staff

    def post(
        self, path: str, body: Any, headers: dict[str, str] | None = None, *, staff: bool = False
    ) -> dict[str, Any]:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if staff:
            sent |= self.staff
        request = urllib.request.Request(
            f"{self.base}{path}", json.dumps(body).encode(), sent, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=300) as res:
                answer: dict[str, Any] = json.load(res)
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"{path}: {err.code} {err.read()[:300]!r}") from err
        return answer


def play_day(caller: Caller) -> None:
    """The reference day's requests, in the order a day would bring them."""
    visitor = {"Origin": SITE}
    for i in range(LEADS):
        email = f"visitor{i if i < LEADS - RETURNING else i - (LEADS - RETURNING)}@example.com"
        form = {"form_key": FORM_KEY, "email": email, "name": f"Visitor {i}", "consent": True}
        caller.post("/lead_intake", form, visitor)
    for b in range(BEACONS):
        events = [
            {
                "type": "page_view",
                "name": f"/page{k}",
                "session_id": f"session-{b:06d}",
                "event_id": f"event-{b:06d}-{k}",
            }
            for k in range(EVENTS_PER_BEACON)
        ]
        headers = {**visitor, "Content-Type": "text/plain;charset=UTF-8"}
        caller.post("/track_events", {"form_key": FORM_KEY, "events": events}, headers)
    _reviews(caller)
    _posts(caller)
    _campaign(caller)


def _reviews(caller: Caller) -> None:
    from shared.domain.leads import lead_id_for

    reviews = []
    for i in range(CUSTOMERS):
        body = {"lead_id": lead_id_for(f"customer{i}@example.com"), "platform": "google"}
        reviews.append(caller.post("/request_review", body, staff=True)["id"])
    for review_id in reviews[:COMPLETED_REVIEWS]:
        done = {"action": "complete", "review_id": review_id, "rating": 5}
        caller.post("/request_review", done, staff=True)


def _posts(caller: Caller) -> None:
    for i in range(POSTS):
        draft: dict[str, Any] = {"title": f"Tip {i}", "body": "Check the taps.", "type": "blog"}
        draft |= {"platforms": list(PLATFORMS)}
        made = caller.post(f"/staff_api/companies/{COMPANY}/content", draft, staff=True)
        caller.post("/publish_content", {"content_id": made["id"]}, staff=True)


def _campaign(caller: Caller) -> None:
    campaign = {
        "name": "Spring check",
        "type": "email",
        "channel": "email",
        "target": {"audience": "leads", "lead_statuses": ["contacted"]},
        "template": {"subject": "Spring check, {{ lead.name }}", "body": "Book a visit."},
    }
    made = caller.post(f"/staff_api/companies/{COMPANY}/campaigns", campaign, staff=True)
    caller.post("/campaigns", {"action": "start", "campaign_id": made["id"]}, staff=True)


def force_due(cloud: LocalCloud) -> int:
    """Deliver now every Cloud Task still waiting for its time (the reminders): what the
    local Cloud Tasks would do when the days pass. How many."""
    names = [t.name for t in cloud.tasks.list_tasks(parent=cloud.queue_path)]
    for name in names:
        cloud.tasks.run_task(name=name)
    return len(names)


# --- counting ----------------------------------------------------------------------------


def totals(records: list[dict[str, Any]]) -> dict[str, int]:
    docs = [r.get("documents", {}) for r in records]
    return {
        "reads": sum(d.get("read", 0) for d in docs),
        "writes": sum(d.get("written", 0) for d in docs),
        "deletes": sum(d.get("deleted", 0) for d in docs),
        "invocations": len(records),
    }


def by_function(records: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """The day's reads, writes and invocations by function, most read first: where the
    documents go."""
    found: dict[str, Counter[str]] = {}
    for record in records:
        name = record["function"]
        docs = record.get("documents", {})
        count = found.setdefault(name, Counter())
        count.update(reads=docs.get("read", 0), writes=docs.get("written", 0), invocations=1)
    ranked = sorted(found.items(), key=lambda item: -item[1]["reads"])
    return {name: dict(count) for name, count in ranked}


def tasks_operations(stack: BenchStack, project: str) -> int:
    """The functions' Cloud Tasks operations: creations, deletions, delivery attempts
    (not the bench's own listing and forcing)."""
    ops = stack.tasks.operations(project)
    return sum(ops.get(k, 0) for k in ("CreateTask", "DeleteTask", "DeliveryAttempt"))


def measure(stack: BenchStack) -> dict[str, Any]:
    project, now = f"{stack.project}-cost", datetime.now(UTC)
    seed(stack.client(project), now - timedelta(days=1))
    stack.auth.accounts.create(project, {"localId": STAFF_UID, "email": STAFF_EMAIL})
    # Mail goes out by SMTP, as in production (to a local server): the SMTP messenger
    # reads a message's record before sending it (but a marketing send's first attempt)
    # and writes it after, where the outbox backend only creates it.
    from localcloud.mailbox import start_mailbox

    mailbox = start_mailbox(limit=10 * RECIPIENTS)
    mail = {
        "GROWTHKIT_MAIL_BACKEND": "smtp",
        "GROWTHKIT_SMTP_HOST": mailbox.host,
        "GROWTHKIT_SMTP_PORT": str(mailbox.smtp_port),
        "GROWTHKIT_SMTP_TLS": "none",
    }
    cloud = LocalCloud(stack, project, events=True, skip=frozenset(), **mail)
    cloud.move_clock(-timedelta(days=1))
    cloud.start()
    started = time.perf_counter()
    written: Counter[str] = Counter()
    database = f"projects/{project}/databases/(default)"

    def record(commit: Any) -> None:
        if commit.database == database:
            written.update(_collection(c.name) for c in commit.changes)

    stop = stack.firestore.store.subscribe(record)
    try:
        phases, functions = _phases(stack, project, cloud)
    finally:
        stop()
        cloud.stop()
        mailbox.stop()
        stack.firestore.store.clear(database)
    tasks = phases.pop("_tasks")["tasks"]
    fixed = fixed_per_day(phases)
    kinds = ("reads", "writes", "deletes", "invocations")
    day = {k: sum(p[k] for p in phases.values()) for k in kinds} | {"tasks": tasks}
    return {
        "day": day,
        "phases": phases,
        "deployment_fixed_per_day": fixed,
        "written_by_collection": dict(written.most_common()),
        "by_function": functions,
        "seconds": time.perf_counter() - started,
    }


def _collection(name: str) -> str:
    """A document's collection id (``leads`` of ``.../companies/c/leads/l1``)."""
    return name.split("/documents/", 1)[1].split("/")[-2]


def _phases(
    stack: BenchStack, project: str, cloud: LocalCloud
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """The counts of each phase of the day (and of idle periodic runs), and the day's
    by function."""
    staff = stack.tokens.bearer(project, company_id=COMPANY, role="manager")
    caller, phases = Caller(cloud, dict(staff)), {}
    seen = 0
    play_day(caller)
    cloud.wait_idle(after=0)
    phases["the day"], seen = totals(cloud.records()[seen:]), len(cloud.records())
    cloud.move_clock(timedelta(days=6))
    if force_due(cloud):
        cloud.wait_idle(after=seen)
    phases["reminders"], seen = totals(cloud.records()[seen:]), len(cloud.records())
    cloud.move_clock(timedelta(0))
    for job in cloud.jobs:
        cloud.run_job(job)
    phases["periodic runs"], seen = totals(cloud.records()[seen:]), len(cloud.records())
    phases["_tasks"] = {"tasks": tasks_operations(stack, project)}
    functions = by_function(cloud.records())
    for job in RUNS_PER_DAY:  # again, nothing due: what every run of the day costs
        before = tasks_operations(stack, project)
        cloud.run_job(job)
        phases[f"_idle {job}"] = totals(cloud.records()[seen:])
        phases[f"_idle {job}"]["tasks"] = tasks_operations(stack, project) - before
        seen = len(cloud.records())
    return phases, functions


# The periodic functions that run more than daily, and how often (their schedules): most
# runs find nothing due, and cost the deployment the same whatever its businesses.
RUNS_PER_DAY = {
    "dispatch_due_tasks": 24 * 60,
    "enrol_scheduled_workflows": 24 * 60,
    "refresh_social_tokens": 24 * 4,
    "expire_referrals": 24,
}


def fixed_per_day(phases: dict[str, dict[str, int]]) -> dict[str, int]:
    """The deployment's day of periodic runs with nothing due (its businesses share it);
    takes the idle runs out of ``phases``."""
    idle = {job: phases.pop(f"_idle {job}") for job in RUNS_PER_DAY}
    kinds = ("reads", "writes", "deletes", "invocations", "tasks")
    return {k: sum(idle[job][k] * runs for job, runs in RUNS_PER_DAY.items()) for k in kinds}


# --- the month ---------------------------------------------------------------------------


def monthly(count_per_day: float, price: Price, free: bool) -> float:
    units = count_per_day * DAYS_PER_MONTH
    billed = max(0.0, units - price.free) if free else units
    return billed / price.per * price.dollars


COLUMNS = [
    "billed operation",
    "a day, measured",
    "a day, least",
    "measured / least",
    "a month",
    "list price a month",
    "with free tiers",
]


def run_section(stack: BenchStack, _args: argparse.Namespace) -> list[Table]:
    result = measure(stack)
    day, least = result["day"], least_totals()
    title = "What a small business costs: a reference day, and its month"
    table = Table(title, COLUMNS, key="cost")
    total = total_free = 0.0
    for kind in ("reads", "writes", "deletes", "tasks", "invocations"):
        price = PRICES[kind]
        dollars, free = monthly(day[kind], price, False), monthly(day[kind], price, True)
        total, total_free = total + dollars, total_free + free
        floor = least.get(kind)
        cells = [kind, f"{day[kind]:,}", f"{floor:,}" if floor else "-"]
        cells += [f"{day[kind] / floor:.2f}x" if floor else "-", f"{day[kind] * 30:,}"]
        cells += [f"${dollars:.4f}", f"${free:.4f}"]
        table.add(cells, kind=kind, day=day[kind], least=floor, dollars=dollars, free=free)
    table.add(["total", "", "", "", "", f"${total:.4f}", f"${total_free:.4f}"], total=total)
    table.data.append({"summary": result, "least": least})
    table.notes += notes(result, least)
    return [table]


def fixed_month(fixed: dict[str, int]) -> float:
    return sum(monthly(fixed[k], PRICES[k], False) for k in PRICES)


def notes(result: dict[str, Any], least: dict[str, int]) -> list[str]:
    phases = "; ".join(
        f"{name}: {p['reads']:,} reads, {p['writes']:,} writes, {p['invocations']:,} invocations"
        for name, p in result["phases"].items()
    )
    fixed = result["deployment_fixed_per_day"]
    sources = ", ".join(sorted({p.source for p in PRICES.values()}))
    top = "; ".join(
        f"{name} {c.get('reads', 0):,} reads, {c.get('writes', 0):,} writes "
        f"({c.get('invocations', 0):,} invocations)"
        for name, c in list(result["by_function"].items())[:5]
    )
    return [
        f"The day by phase: {phases}. Prices: Firestore Standard in us-central1 $0.03 per "
        "100,000 reads, $0.09 per 100,000 writes, $0.01 per 100,000 deletes; Cloud Tasks "
        "operations and function invocations $0.40 per million (read "
        f'{CHECKED} from copies of {sources}). "With free tiers" takes off Firestore\'s daily free '
        "quota (50,000 reads, 20,000 writes and deletes), Cloud Tasks' first million "
        "operations and the functions' first 2 million invocations a month: a business "
        "alone in a project pays nothing; among many, the list price applies. Function "
        "compute time, storage, network and the Scheduler jobs ($0.10 a job a month, the "
        "deployment's) are not counted.",
        "The least (bench/cost.py, LEAST) is counted operation by operation from the data "
        f"model: {least['reads']:,} reads and {least['writes']:,} writes for the day. The "
        "rest is what makes each step safe to retry and lawful to send: duplicate "
        "markers, task leases, send reservations, rate and frequency counters, fresh "
        "re-reads, and triggers that read before they find nothing to do.",
        f"Where the documents go, by function (the most read first): {top}. Mail goes out "
        "by SMTP to a local server, as in production (the SMTP messenger reads a "
        "message's record before it sends, but a marketing send's first attempt, and "
        "writes it after).",
        f"The deployment's own day, whatever its businesses: the periodic functions that "
        f"run more than daily, with nothing due, {fixed['invocations']:,} invocations, "
        f"{fixed['reads']:,} reads and {fixed['writes']:,} writes (about "
        f"${fixed_month(fixed):.2f} a month at list price, "
        f"${fixed_month(fixed) / 10_000:.6f} a business among 10,000).",
    ]
