"""Moving exported documents to another company id, and where an export puts them."""

from __future__ import annotations

from pathlib import Path

from shared.adapters.dump_files import file_for
from shared.domain.company_transfer import rehome


def s(text: str) -> dict[str, str]:
    return {"stringValue": text}


def test_paths_references_and_company_ids_move_with_the_company() -> None:
    fields = {
        "company_id": s("acme"),
        "name": s("acme"),  # a name that happens to be the id is not an id
        "lead": {"referenceValue": "companies/acme/leads/l1"},
        "other": {"referenceValue": "companies/acme-2/leads/l1"},
        "paths": {"arrayValue": {"values": [s("companies/acme/leads/l2"), s("companies/acmex")]}},
        "owner": {"mapValue": {"fields": {"companyId": s("acme"), "company_id": s("globex")}}},
        "ids": {"arrayValue": {"values": [s("acme")]}},
    }
    path, moved = rehome("companies/acme/leads/l9", fields, "acme", "beta")
    assert "companies/beta/leads/l9" == path
    assert {
        "company_id": s("beta"),
        "name": s("acme"),
        "lead": {"referenceValue": "companies/beta/leads/l1"},
        "other": {"referenceValue": "companies/acme-2/leads/l1"},
        "paths": {"arrayValue": {"values": [s("companies/beta/leads/l2"), s("companies/acmex")]}},
        "owner": {"mapValue": {"fields": {"companyId": s("beta"), "company_id": s("globex")}}},
        "ids": {"arrayValue": {"values": [s("acme")]}},
    } == moved
    assert ("companies/acme/x/y", fields) == rehome("companies/acme/x/y", fields, "acme", "acme")


def test_the_company_document_gets_its_id_and_form_keys_renamed() -> None:
    retired = {"mapValue": {"fields": {"key": s("acme.old"), "valid_until": s("t")}}}
    fields = {
        "id": s("acme"),
        "public_form_key": s("acme.secret"),
        "retired_form_keys": {"arrayValue": {"values": [retired]}},
    }
    path, moved = rehome("companies/acme", fields, "acme", "beta")
    assert ("companies/beta", s("beta"), s("beta.secret")) == (
        path,
        moved["id"],
        moved["public_form_key"],
    )
    entry = moved["retired_form_keys"]["arrayValue"]["values"][0]["mapValue"]["fields"]
    assert s("beta.old") == entry["key"]
    assert s("acme.old") == retired["mapValue"]["fields"]["key"]  # the input is untouched


def test_files_are_named_after_collection_paths_safely() -> None:
    assert Path("companies.ndjson") == file_for("companies")
    assert Path("companies/acme/leads/l1/interactions.ndjson") == file_for(
        "companies/acme/leads/l1/interactions"
    )
    # A dot never makes a document's directory look like a file of its parent's.
    assert Path("companies/acme/leads/a%2Endjson/notes.ndjson") == file_for(
        "companies/acme/leads/a.ndjson/notes"
    )
    long = file_for("companies/acme/leads/" + "é" * 600 + "/notes")
    assert all(len(part) <= 120 for part in long.parts)
    assert long != file_for("companies/acme/leads/" + "é" * 599 + "e/notes")
