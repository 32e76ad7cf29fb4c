"""Leads get ``first_name`` and ``last_name``, split from ``name`` (which stays)."""

from __future__ import annotations

from typing import Any

from shared.domain.leads import name_parts

VERSION = 2
COLLECTION = "leads"


def upgrade(document: dict[str, Any]) -> dict[str, Any]:
    return {**document, **name_parts(document.get("name"))}
