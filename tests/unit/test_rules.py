"""``firestore.rules``: static checks (tests/integration/test_rules_*.py evaluate it)."""

from __future__ import annotations

import re
from pathlib import Path

RULES = (Path(__file__).resolve().parents[2] / "firestore.rules").read_text()
CODE = Path(__file__).resolve().parents[2] / "shared"


def test_rules_are_version_2_and_balanced() -> None:
    """The v2 syntax (collection-group and recursive wildcards), braces that close."""
    assert RULES.startswith("rules_version = '2';")
    assert RULES.count("{") == RULES.count("}")


def test_nothing_is_open_to_everyone() -> None:
    """No rule grants access unconditionally, and every grant checks the company claim
    (of the path, or of the documents a collection-group query filters)."""
    assert [] == re.findall(r"allow [a-z, ]+;|if true", RULES)
    assert "request.auth.token.company_id == companyId" in RULES
    grants = [line for line in RULES.splitlines() if "allow " in line]
    assert all("companyId" in line or "(resource.data.company_id)" in line for line in grants)


def test_every_company_collection_has_a_read_rule() -> None:
    """Each collection the code keeps under ``companies/{c}/`` is named in the rules, so
    none is left unreadable to staff by accident (unnamed ones are denied)."""
    used = set()
    for path in CODE.rglob("*.py"):
        used |= set(re.findall(r"companies/\{[a-z_.]+\}/([a-z_]+)", path.read_text()))
    named = set(re.findall(r"'([a-z_]+)'", RULES)) | set(re.findall(r"match /([a-z_]+)/", RULES))
    assert set() == used - named
