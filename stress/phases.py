"""The load phases: seed the tenants, post the workload clean, then post more while the
functions process is SIGKILLed and restarted and Firestore commits fail at random."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from shared import bootstrap
from shared.domain.identity import Role, StaffIdentity
from shared.domain.referrals import ReferralCreate
from shared.services.referral_codes import create_referral
from stress.load import Outcome, Post, Progress, Tenant, run, send, workload
from stress.report import Phase
from stress.stack import StressStack
from stress.verify import snapshot, verify

# Raised so the load is not rate limited (the limits have their own burst tests).
SETTINGS = {
    "min_submit_seconds": 0,
    "submissions_per_ip_per_hour": 10**9,
    "submissions_per_company_per_minute": 10**9,
    "review_urls": {"google": "https://g.example/review"},
}


class GivenUp(logging.Handler):
    """Counts trigger events the Eventarc bridge stopped retrying (after five attempts:
    the functions process was down, or their commits kept failing)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "dropped after" in record.getMessage():
            self.count += 1


GIVEN_UP = GivenUp()


class History:
    """Every outcome so far: the database is cumulative, so checks read it all."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self.companies: list[str] = []

    def check(self, name: str, outcomes: list[Outcome], seconds: float, **notes: Any) -> Phase:
        self.outcomes += outcomes
        from shared.adapters.clients import firestore_client

        docs = snapshot(firestore_client(), self.companies)
        return Phase(name, outcomes, seconds, verify(self.outcomes, docs), notes)


def seed(stack: StressStack, companies: int, history: History) -> list[Tenant]:
    """Companies with raised limits, each with a referrer lead and a 1000-use code."""
    from shared.adapters.clients import firestore_client

    logging.getLogger("localcloud.eventarc").addHandler(GIVEN_UP)
    db, tenants = firestore_client(), []
    for i in range(companies):
        company, key = f"stress-{i}", f"stress-{i}.form-key-{i:04d}"
        db.document(f"companies/{company}").set(
            {"name": f"Stress {i}", "public_form_key": key, "settings": SETTINGS}
        )
        email = f"referrer@stress-{i}.example"
        body = {"form_key": key, "email": email, "submission_id": f"seed-referrer-{i:04d}"}
        history.outcomes.append(
            send(stack.base_url, Post("lead", company, body, "10.0.0.1", "seed"))
        )
        staff = StaffIdentity("stress", company, Role.ADMIN)
        req = ReferralCreate(referrer_email=email, max_uses=1000)
        code = create_referral(bootstrap.document_store(), bootstrap.clock, staff, req).code
        tenants.append(Tenant(company, key, code, email))
        history.companies.append(company)
    return tenants


def load(
    stack: StressStack, tenants: list[Tenant], leads: int, clients: int, history: History
) -> Phase:
    posts = workload(tenants, leads, seed=1, prefix="L")
    started = time.monotonic()
    outcomes = run(stack.base_url, posts, clients)
    seconds = time.monotonic() - started
    return history.check("load", outcomes, seconds, clients=clients, **drain(stack))


def drain(stack: StressStack) -> dict[str, object]:
    """Let the Eventarc bridge deliver the triggers the phase caused (about five events a
    submission), so the next phase starts clean; how long that took."""
    started = time.monotonic()
    idle = stack.bridge.wait_idle(timeout=900)
    waited = f"{time.monotonic() - started:.0f} s" + ("" if idle else " (gave up)")
    return {
        "trigger events delivered so far": len(stack.bridge.delivered),
        "trigger events given up so far": GIVEN_UP.count,
        "events drained in": waited,
    }


def faults(
    stack: StressStack,
    tenants: list[Tenant],
    leads: int,
    clients: int,
    history: History,
    kills: int = 3,
    fault_rate: float = 0.1,
) -> Phase:
    """The workload again while commits fail at ``fault_rate`` and the functions process
    is killed ``kills`` times (restarted at once; clients retry meanwhile)."""
    posts = workload(tenants, leads, seed=2, prefix="F")
    stack.firestore.faults.rate = fault_rate
    progress, killed = Progress(), list[float]()
    killer = threading.Thread(target=_kill_along, args=(stack, kills, len(posts), progress, killed))
    started = time.monotonic()
    killer.start()
    try:
        outcomes = run(stack.base_url, posts, clients, progress)
    finally:
        killer.join()
        stack.firestore.faults.rate = 0.0
    seconds = time.monotonic() - started
    notes = {
        "functions process SIGKILLed": len(killed),
        "back up after (s)": [round(s, 1) for s in killed],
        "commit faults injected": dict(stack.firestore.faults.injected),
        **drain(stack),
    }
    return history.check("faults", outcomes, seconds, **notes)


def _kill_along(
    stack: StressStack, kills: int, total: int, progress: Progress, killed: list[float]
) -> None:
    """SIGKILL the functions process ``kills`` times, evenly through the posts (so always
    with requests in flight), restarting it at once."""
    for k in range(1, kills + 1):
        while progress.done < total * k // (kills + 1):
            time.sleep(0.05)
        stack.kill_functions()
        started = time.monotonic()
        stack.restart_functions()
        killed.append(time.monotonic() - started)
