"""Leads written at the current schema (2: first and last names) by every path that writes
them, through the local Firestore and the real clients."""

from __future__ import annotations

from typing import Any

from tests.support import SITE, seed_company


def seed_old_leads(db: Any, company_id: str, count: int) -> None:
    """Leads as stored before schema 2: a name, no first or last name, no version."""
    seed_company(db, company_id)
    batch = db.batch()
    for i in range(count):
        lead = {"id": f"l{i:03d}", "email": f"p{i}@x.co", "name": f"Pat Doe{i}", "status": "new"}
        batch.set(db.document(f"companies/{company_id}/leads/l{i:03d}"), lead)
    batch.commit()


def lead(db: Any, company_id: str, i: int) -> dict[str, Any]:
    data: dict[str, Any] = db.document(f"companies/{company_id}/leads/l{i:03d}").get().to_dict()
    return data


def test_new_leads_are_written_at_the_current_schema(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """lead_intake and the staff API write first and last names and version 2; a form
    resubmitted to a lead stored before schema 2 brings it up to date."""
    seed_old_leads(db, "acme", 1)
    intake = function_client("lead_intake")
    post = {"form_key": "acme.public-key-123", "email": "ada@x.co", "name": "Ada Lovelace"}
    assert 201 == intake.post("/", json=post, headers={"Origin": SITE}).status_code
    old = {**post, "email": "p0@x.co", "name": None}
    db.document("companies/acme/leads/l000").delete()
    from shared.domain.leads import lead_id_for

    old_path = f"companies/acme/leads/{lead_id_for('p0@x.co')}"
    db.document(old_path).set(
        {
            "id": "x",
            "company_id": "acme",
            "email": "p0@x.co",
            "email_normalized": "p0@x.co",
            "name": "Pat Doe",
        }
    )
    assert 200 == intake.post("/", json=old, headers={"Origin": SITE}).status_code
    staff = function_client("staff_api")
    made = staff.post(
        "/companies/acme/leads",
        json={"email": "grace@x.co", "name": "Hopper, Grace"},
        headers=staff_auth("acme", "admin"),
    )
    assert 201 == made.status_code, made.get_json()
    stored = [
        db.document(f"companies/acme/leads/{lead_id_for(e)}").get().to_dict()
        for e in ("ada@x.co", "p0@x.co", "grace@x.co")
    ]
    assert [("Ada", "Lovelace", 2), ("Pat", "Doe", 2), ("Grace", "Hopper", 2)] == [
        (s["first_name"], s["last_name"], s["schema_version"]) for s in stored
    ]
