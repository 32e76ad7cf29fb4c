"""Helpers for tests: seeding companies and reading documents back."""

from __future__ import annotations

from typing import Any

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
