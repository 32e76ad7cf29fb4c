"""Leads get ``name_lower``: their name as the staff API's ``?q=`` searches it
(``shared.domain.common.search_key``: blanks collapsed, case folded; "" without a name),
so leads stored before it existed are found by name and listed by ``sort=name_lower``."""

from __future__ import annotations

from typing import Any

from shared.domain.common import search_key

VERSION = 3
COLLECTION = "leads"


def upgrade(document: dict[str, Any]) -> dict[str, Any]:
    return {**document, "name_lower": search_key(document.get("name"))}
