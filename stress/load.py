"""The workload and the clients that post it.

Posts are lead submissions (new people, people coming back, exact replays of an earlier
post, honeypot spam, a few invalid ones and unknown form keys) and referral redemptions
(new friends, replays, self-referrals), spread over several companies and hundreds of
client addresses. Each client retries, with the same body, whatever might not have been
processed (connection errors, 502-504) as a browser script with a submission id would.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

RETRYABLE = {0, 502, 503, 504}
MAX_ATTEMPTS = 80


@dataclass(frozen=True)
class Post:
    """One logical request; ``label`` says what the workload meant it to be."""

    kind: Literal["lead", "redeem"]
    company: str
    body: dict[str, Any]
    ip: str
    label: str

    @property
    def key(self) -> tuple[str, ...]:
        """What makes two posts the same submission (an exact replay shares it)."""
        if self.kind == "lead":
            return ("lead", self.company, str(self.body.get("submission_id")))
        return ("redeem", self.company, str(self.body["email"]), str(self.body["code"]))


@dataclass
class Outcome:
    post: Post
    status: int
    replayed: bool = False
    reason: str = ""
    attempts: int = 0
    retries: Counter[str] = field(default_factory=Counter)

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Tenant:
    company: str
    form_key: str
    code: str
    referrer_email: str


def workload(tenants: list[Tenant], leads: int, seed: int, prefix: str) -> list[Post]:
    """``leads`` lead posts plus about 6% redemptions, in a shuffled order in which every
    replay still comes after the post it repeats."""
    rng = random.Random(seed)
    ips = [f"10.{rng.randrange(256)}.{rng.randrange(256)}.{i % 250 + 1}" for i in range(400)]
    posts: list[Post] = []
    people: dict[str, list[str]] = {t.company: [] for t in tenants}
    for i in range(leads):
        tenant = tenants[i % len(tenants)]
        posts.append(
            _lead(rng, tenant, people[tenant.company], f"{prefix}{i:06d}", rng.choice(ips))
        )
        if rng.random() < 0.06:
            posts.append(_redemption(rng, tenant, f"{prefix}{i:06d}", rng.choice(ips)))
    keyed = [(rng.random(), post) for post in posts]
    replays = [  # 5% posted again, somewhere after the first time
        (rng.uniform(at, 1.0), Post(p.kind, p.company, p.body, p.ip, "replay"))
        for at, p in rng.sample(keyed, len(keyed) // 20)
    ]
    return [post for _, post in sorted(keyed + replays, key=lambda pair: pair[0])]


def _lead(rng: random.Random, tenant: Tenant, people: list[str], sid: str, ip: str) -> Post:
    roll = rng.random()
    body: dict[str, Any] = {"form_key": tenant.form_key, "submission_id": f"sub-{sid}"}
    if roll < 0.2 and people:
        body["email"], label = rng.choice(people), "returning"
    else:
        body["email"], label = f"p{sid}@stress.example", "new"
        people.append(body["email"])
    body["name"] = f"Person {sid}"
    if roll > 0.98:
        body["website"], label = "http://bot.example", "spam"
    elif roll > 0.97:
        body["email"], label = f"not-an-email-{sid}", "invalid"
    elif roll > 0.965:
        body["form_key"], label = f"{tenant.company}.wrong-key", "unknown-key"
    return Post("lead", tenant.company, body, ip, label)


def _redemption(rng: random.Random, tenant: Tenant, sid: str, ip: str) -> Post:
    if rng.random() < 0.05:
        email, label = tenant.referrer_email, "self-referral"
    else:
        email, label = f"friend-{sid}@friends.example", "redeem"
    body = {"form_key": tenant.form_key, "code": tenant.code, "email": email}
    return Post("redeem", tenant.company, body, ip, label)


class Progress:
    """How many posts have been answered for good, for whoever times faults by it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.done = 0

    def add(self) -> None:
        with self._lock:
            self.done += 1


def run(
    base_url: str, posts: list[Post], clients: int, progress: Progress | None = None
) -> list[Outcome]:
    """Post everything from ``clients`` concurrent clients; one outcome per post."""
    counter = progress or Progress()

    def one(post: Post) -> Outcome:
        outcome = send(base_url, post)
        counter.add()
        return outcome

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(one, posts))


def send(base_url: str, post: Post) -> Outcome:
    """Post until answered for good (2xx or a refusal), retrying what may not have run."""
    outcome = Outcome(post, 0)
    path = "/lead_intake" if post.kind == "lead" else "/redeem_referral"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        outcome.attempts = attempt
        status, headers, body = _post(base_url + path, post)
        if status not in RETRYABLE:
            outcome.status = status
            outcome.replayed = headers.get("idempotent-replayed") == "true"
            outcome.reason = _reason(status, body)
            return outcome
        outcome.retries["connection" if status == 0 else str(status)] += 1
        time.sleep(min(0.05 * 2 ** min(attempt, 6), 2.0) * random.uniform(0.5, 1.0))
    outcome.status = status
    return outcome


def _post(url: str, post: Post) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    headers = {"Content-Type": "application/json", "X-Forwarded-For": post.ip}
    try:
        conn.request("POST", parts.path, json.dumps(post.body), headers)
        res = conn.getresponse()
        body = res.read()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, body
    except (OSError, http.client.HTTPException):
        return 0, {}, b""
    finally:
        conn.close()


def _reason(status: int, body: bytes) -> str:
    if status < 400:
        return ""
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return str(status)
    return f"{status} {error.get('details', {}).get('reason') or error.get('code')}"
