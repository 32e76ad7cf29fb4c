"""The local stack every benchmark runs against, in this process.

A local Firestore (its RPC counters are what the round-trip figures read), a local Cloud
Tasks whose queue is paused (functions enqueue through the real client, nothing is
delivered while measuring), a token issuer for staff calls, the local Firebase Auth holding
the staff member's account, and the environment that points the bundle's adapters at them.
One project per benchmark run.

Staff calls are checked as in production: the token's signature against the issuer's
certificates, then (``GROWTHKIT_CHECK_REVOKED_TOKENS``) its account looked up in Firebase
Auth, so that a removed or disabled member is refused at once. That lookup is one HTTP
call per staff request, and firebase-admin's user management loads for it.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from localcloud.auth import start_auth
from localcloud.firestore import start_firestore
from localcloud.firestore.store import Change, Commit
from localcloud.tasks import start_tasks

COMPANY = "acme"
FORM_KEY = f"{COMPANY}.bench-form-key"
SITE = "https://www.acme-plumbing.example"
REFERRAL_CODE = "BNCH-WXYZ-23"
REFERRER = "referrer@example.com"
STAFF_UID = "user-1"  # the uid of the issuer's tokens (localcloud.auth_tokens)
STAFF_EMAIL = "sam@acme.example"


class BenchStack:
    """Local Firestore, Cloud Tasks and Firebase Auth, an ID-token issuer, and a seeded
    company with its staff member's account."""

    def __init__(self) -> None:
        from localcloud.auth_tokens import TokenIssuer

        self.project = f"bench-{uuid.uuid4().hex[:8]}"
        # A debug port: the tenants and cost sections read its counters (bench/cloud.py).
        self.firestore = start_firestore(debug_port=0)
        self.tasks = start_tasks()
        self.tokens = TokenIssuer()
        self.auth = start_auth()
        self.auth.accounts.create(self.project, {"localId": STAFF_UID, "email": STAFF_EMAIL})
        self.env = {
            "FIRESTORE_EMULATOR_HOST": self.firestore.address,
            "CLOUD_TASKS_EMULATOR_HOST": self.tasks.address,
            "GOOGLE_CLOUD_PROJECT": self.project,
            "GROWTHKIT_ENVIRONMENT": "local",
            "GROWTHKIT_ID_TOKEN_CERT_URL": self.tokens.cert_url,
            "GROWTHKIT_AUTH_EMULATOR_HOST": self.auth.address,
            "GROWTHKIT_CHECK_REVOKED_TOKENS": "true",
        }
        os.environ.update(self.env)
        from shared import bootstrap

        bootstrap.reset()
        self.db = self.client(self.project)
        self._commits: dict[str, tuple[Commit, Change]] = {}
        self._lock = threading.Lock()
        self._unsubscribe = self.firestore.store.subscribe(self._record)
        self._paused_queue()
        seed_company(self.db)

    @property
    def database(self) -> str:
        return f"projects/{self.project}/databases/(default)"

    def client(self, project: str) -> Any:
        """A real Firestore client on ``project`` of the local Firestore."""
        from google.cloud import firestore

        return firestore.Client(project=project)

    def counts(self, project: str | None = None) -> dict[str, int]:
        """RPCs received so far for ``project`` (default: the bench's), by method."""
        database = f"projects/{project or self.project}/databases/(default)"
        return self.firestore.counters.for_database(database)

    @contextmanager
    def round_trips(self, project: str | None = None) -> Iterator[dict[str, int]]:
        """Fills the yielded dict with the RPCs made inside the ``with`` block."""
        delta: dict[str, int] = {}
        before = self.counts(project)
        yield delta
        after = self.counts(project)
        delta.update({k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k)})

    @contextmanager
    def writes(self) -> Iterator[list[tuple[str, int]]]:
        """Fills the yielded list with (document, commit time in ns) of every write made to
        the bench's project inside the ``with`` block."""
        seen: list[tuple[str, int]] = []

        def record(commit: Commit) -> None:
            if commit.database == self.database:
                seen.extend(
                    (c.name.split("/documents/", 1)[1], commit.commit_ns) for c in commit.changes
                )

        stop = self.firestore.store.subscribe(record)
        try:
            yield seen
        finally:
            stop()

    def staff(self, role: str = "manager") -> dict[str, str]:
        """The Authorization header of a staff member of the seeded company."""
        return self.tokens.bearer(self.project, company_id=COMPANY, role=role)

    def _record(self, commit: Commit) -> None:
        if commit.database == self.database:
            with self._lock:
                for change in commit.changes:
                    self._commits[change.name.split("/documents/", 1)[1]] = (commit, change)

    def last_change(self, document: str) -> tuple[Commit, Change]:
        """The latest commit that changed ``document`` (as the Eventarc bridge saw it)."""
        with self._lock:
            return self._commits[document]

    def _paused_queue(self) -> None:
        """The bundle's queue, paused: tasks are created and kept, never delivered."""
        from shared.adapters.clients import tasks_client
        from shared.devstack.manifest import queue_spec
        from shared.queues import TASKS_QUEUE
        from shared.settings import get_settings

        client, settings = tasks_client(), get_settings()
        parent = f"projects/{self.project}/locations/{settings.region}"
        client.create_queue(parent=parent, queue=queue_spec(TASKS_QUEUE).resource(parent))
        client.pause_queue(name=settings.queue_path)

    def close(self) -> None:
        self._unsubscribe()
        self.db.close()
        self.tokens.close()
        self.auth.stop()
        self.tasks.stop(grace=0.1)
        self.firestore.stop()


def seed_company(db: Any, company_id: str = COMPANY, **settings: Any) -> None:
    """The benchmarked company: no spam delay, generous rate limits, a review link and a
    referral code with many uses (so repeated runs are never refused)."""
    now = datetime.now(UTC)
    defaults = {
        "min_submit_seconds": 0,
        "submissions_per_ip_per_hour": 1_000_000,
        "submissions_per_company_per_minute": 1_000_000,
        "review_urls": {"google": "https://g.example/acme"},
        "review_cooldown_days": 30,
        # Marketing e-mail (campaigns, workflows) is refused without one in its footer.
        "postal_address": "1 Main Street, Springfield",
    }
    db.document(f"companies/{company_id}").set(
        {
            "name": "Acme Plumbing",
            "public_form_key": f"{company_id}.bench-form-key",
            "allowed_origins": [SITE],
            "settings": {**defaults, **settings},
        }
    )
    seed_lead(db, REFERRER, company_id, status="converted")
    seed_code(db, REFERRAL_CODE, company_id, max_uses=1000, expires_at=now + timedelta(days=30))
    # The copy of its scoring rules (none: the defaults apply) that on_scoring_rule_written
    # keeps; without it, a company's first scoring run queries the rules and writes it, once.
    copy = {"rules": [], "updated_at": now}
    db.document(f"companies/{company_id}/config/scoring_rules").set(copy)


def seed_lead(db: Any, email: str, company_id: str = COMPANY, **fields: Any) -> str:
    """A lead stored as intake would have made it; returns its id."""
    from shared.domain.leads import lead_id_for

    lead_id = lead_id_for(email)
    now = datetime.now(UTC)
    data: dict[str, Any] = {"id": lead_id, "company_id": company_id, "email": email}
    data["email_normalized"] = email
    data |= {"name": "Jane", "status": "new", "created_at": now, "updated_at": now}
    db.document(f"companies/{company_id}/leads/{lead_id}").set({**data, **fields})
    return lead_id


def seed_code(db: Any, code: str, company_id: str = COMPANY, **fields: Any) -> None:
    """A referral code as staff would have created it."""
    from shared.domain.leads import lead_id_for
    from shared.domain.referrals import Referral

    now = datetime.now(UTC)
    referral = Referral(
        code=code,
        company_id=company_id,
        referrer_lead_id=lead_id_for(REFERRER),
        referrer_email=REFERRER,
        offer_details="A free inspection",
        created_at=now,
        updated_at=now,
        **fields,
    )
    db.document(f"companies/{company_id}/referrals/{code}").set(referral.model_dump())


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``fn`` took, and its result."""
    import time

    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result
