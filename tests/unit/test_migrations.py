"""Schema migrations, pure: the registry, the lead-name split, the lead model at schema 2."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.intake import merge_submission, new_lead
from shared.domain.leads import SCHEMA_VERSION, Lead, LeadSubmission, split_name
from shared.migrations import current, migrations, version_of
from shared.migrations.m0002_split_lead_names import upgrade

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_the_registry_is_numbered_and_leads_are_written_at_its_version() -> None:
    found = migrations()
    assert [(2, "m0002_split_lead_names", "leads")] == [
        (m.version, m.name, m.collection) for m in found
    ]
    assert SCHEMA_VERSION == current("leads") and 1 == current("consultations")
    assert (1, 1, 3) == (
        version_of({}),
        version_of({"schema_version": True}),
        version_of({"schema_version": 3}),
    )


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("Ada Lovelace", ("Ada", "Lovelace")),
        ("  Jean   de La  Fontaine ", ("Jean", "de La Fontaine")),
        ("Lovelace, Ada", ("Ada", "Lovelace")),
        ("Cher", ("Cher", None)),
        ("Cher,", ("Cher", None)),
        (", Ada", ("Ada", None)),
        ("A,,", ("A", None)),  # found by the property below
        ("Smith, John, Jr", ("Smith", "John Jr")),
        ("", (None, None)),
        (None, (None, None)),
        (42, (None, None)),
    ],
)
def test_names_split_into_first_and_last(name: Any, parts: tuple[str | None, str | None]) -> None:
    assert parts == split_name(name)


NAMES = st.none() | st.text(st.sampled_from("Ada Lovelace,  \t"), max_size=30)


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=4), NAMES)
def test_the_upgrade_adds_the_names_keeps_everything_else_and_is_idempotent(
    fields: dict[str, Any], name: str | None
) -> None:
    """Pure, adds only the two names, the same on a second run, and loses no word: the
    first name is the first word of the name (or of what follows its comma)."""
    document = {**fields, "name": name}
    before = dict(document)
    once = upgrade(document)
    assert before == document
    assert before == {k: v for k, v in once.items() if k not in ("first_name", "last_name")}
    assert once == upgrade(once)
    words = (name or "").replace(",", " ").split()
    parts = " ".join(filter(None, [once["first_name"], once["last_name"]])).split()
    assert sorted(words) == sorted(parts)
    if words and "," not in (name or ""):
        assert words == parts


def test_the_lead_model_reads_an_older_lead_as_migrated_and_writes_the_current_schema() -> None:
    old = {"id": "l1", "company_id": "acme", "email": "a@x.co", "email_normalized": "a@x.co"}
    lead = Lead.model_validate({**old, "name": "Ada Lovelace"})
    assert ("Ada", "Lovelace", 2) == (lead.first_name, lead.last_name, lead.schema_version)
    kept = Lead.model_validate({**old, "name": "Ada", "first_name": "A.", "schema_version": 2})
    assert ("A.", None) == (kept.first_name, kept.last_name)
    sub = LeadSubmission(form_key="acme.k", email="a@x.co", name="Grace Hopper")
    made = new_lead("acme", "l1", sub, "1.2.3.4", NOW)
    assert ("Grace", "Hopper", SCHEMA_VERSION) == (
        made.first_name,
        made.last_name,
        made.schema_version,
    )
    again = LeadSubmission(form_key="acme.k", email="a@x.co", name="Grace Brewster Hopper")
    merged = merge_submission(made, again, "1.2.3.4", NOW).model_dump()
    assert ("Grace", "Brewster Hopper") == (merged["first_name"], merged["last_name"])
    unnamed = LeadSubmission(form_key="acme.k", email="a@x.co")
    assert "Grace" == merge_submission(made, unnamed, "1.2.3.4", NOW).first_name
