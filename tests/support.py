"""Helpers for tests: seeding companies, reading documents back, fresh interpreters."""

from __future__ import annotations

import subprocess
import sys
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
