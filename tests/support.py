"""Helpers for tests: seeding companies and leads, reading documents back, fresh
interpreters, a mailbox for a local SMTP server, the local Cloud Tasks server's clock."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

SITE = "https://www.acme-plumbing.example"


def seed_company(db: Any, company_id: str = "acme", **fields: Any) -> dict[str, Any]:
    """Create a company with a public form key and one allowed origin; returns its data."""
    data: dict[str, Any] = {
        "name": "Acme Plumbing",
        "public_form_key": f"{company_id}.public-key-123",
        "allowed_origins": [SITE],
        # A postal address: marketing e-mail (workflows, campaigns) is refused without one.
        "settings": {"min_submit_seconds": 0, "postal_address": "1 Main Street, Springfield"},
    }
    data.update(fields)
    db.collection("companies").document(company_id).set(data)
    return data


def lead_doc(
    email: str, company_id: str = "acme", lead_id: str | None = None, **fields: Any
) -> tuple[str, dict[str, Any]]:
    """A lead as intake stores it, its path and data: the id from the address unless
    given, ``email_normalized`` the address as given; ``fields`` add to or replace them."""
    from shared.domain.leads import lead_id_for

    lead_id = lead_id or lead_id_for(email)
    data = {"id": lead_id, "company_id": company_id, "email": email, "email_normalized": email}
    return f"companies/{company_id}/leads/{lead_id}", {**data, **fields}


def seed_lead(
    db: Any, email: str, company_id: str = "acme", lead_id: str | None = None, **fields: Any
) -> str:
    """Store ``lead_doc(...)`` through the real client; returns the lead's id."""
    path, data = lead_doc(email, company_id, lead_id, **fields)
    db.document(path).set(data)
    return str(data["id"])


def docs(db: Any, path: str) -> dict[str, dict[str, Any]]:
    """Every document of a collection, by id."""
    return {d.id: d.to_dict() for d in db.collection(path).stream()}


def in_fresh_interpreter(code: str, *args: str) -> str:
    """What ``code`` prints (``args`` as its ``sys.argv[1:]``), run by a new interpreter in
    the repository: for what happens once per process (imports, first builds, the
    collector), which this one has done."""
    command = [sys.executable, "-c", code, *args]
    out = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    # Not check=True: a failure shows the child's traceback, not only its exit status.
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


class Mailbox:
    """An aiosmtpd handler keeping each envelope; refuses recipients listed in ``refuse``."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[Message]:
        return [message_from_bytes(e.content) for e in self.envelopes]


class ServerClock:
    """The functions' clock, read from the local Cloud Tasks server's (advanceable) one."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.server.clock.now(), UTC)


class FakeWorld:
    """Reads and seeds on ``self.store``, a ``tests.fakes.FakeStore``: for the in-memory
    worlds of the unit tests (tests/outreach_support.py, tests/workflow_support.py)."""

    store: Any

    def seed(self, path: str, data: dict[str, Any]) -> None:
        from shared.ports import Write

        self.store.commit([Write(path, data)])

    def doc(self, path: str) -> dict[str, Any]:
        found: dict[str, Any] = self.store.docs[path][0]
        return found

    def docs(self, collection: str) -> dict[str, dict[str, Any]]:
        """Every document of ``collection`` (not of its subcollections), by id."""
        prefix = collection + "/"
        return {
            p.rsplit("/", 1)[1]: d
            for p, (d, _) in self.store.docs.items()
            if p.startswith(prefix) and "/" not in p[len(prefix) :]
        }
