"""Staff lists through the functions, the local Firestore and real ID tokens: a parameter
no list knows is a 400 naming it and the ones that work (it used to be ignored, and the
whole list came back as if it had matched), and leads are found by e-mail or by the
start of their name."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain.leads import lead_id_for
from tests.support import seed_company

# Every staff list (function, path), and a parameter it takes.
LISTS = [
    ("staff_api", "/companies/acme/leads", "status"),
    ("staff_api", "/companies/acme/leads/L1/notes", "sort"),
    ("staff_api", "/companies/acme/leads/L1/interactions", "limit"),
    ("staff_api", "/companies/acme/leads/L1/assignments", "cursor"),
    ("staff_api", "/companies/acme/content", "status"),
    ("staff_api", "/companies/acme/campaigns", "status"),
    ("staff_api", "/companies/acme/reviews", "status"),
    ("staff_api", "/companies/acme/referrals", "status"),
    ("staff_api", "/companies/acme/scoring_rules", "category"),
    ("staff_api", "/companies/acme/business_profiles", "stage"),
    ("staff_api", "/companies/acme/business_audits", "business_profile_id"),
    ("staff_api", "/companies/acme/growth_strategies", "business_profile_id"),
    ("staff_api", "/companies/acme/resources", "type"),
    ("staff_api", "/companies/acme/resource_downloads", "resource_id"),
    ("staff_api", "/companies/acme/newsletter_subscriptions", "status"),
    ("staff_api", "/companies/acme/spam_submissions", "reason"),
    ("staff_api", "/companies/acme/businesses", "sort"),
    ("staff_api", "/companies/acme/outreach_contacts", "sort"),
    ("staff_api", "/companies/acme/suppressions", "sort"),
    ("staff_api", "/companies/acme/outreach_messages", "sort"),
    ("company_users", "/companies/acme/users", "role"),
    ("consultations", "/companies/acme/consultations", "status"),
    ("integrations", "/companies/acme/integrations", "sort"),
    ("integrations", "/companies/acme/social_connections", "sort"),
    ("integrations", "/companies/acme/secrets", "sort"),
    ("referral_codes", "/", "status"),
    ("workflows", "/", "status"),
    ("campaigns", "/?id=c1&view=recipients", "after"),
    ("analytics_summary", "/", "from"),
]


@pytest.fixture
def acme(db: Any) -> None:
    seed_company(db)
    db.document("companies/acme/leads/L1").set({"id": "L1", "company_id": "acme"})


@pytest.mark.parametrize(("function", "path", "known"), LISTS)
def test_an_unknown_parameter_is_a_400_naming_it_and_the_known_ones(
    acme: None, function_client: Any, staff_auth: Any, function: str, path: str, known: str
) -> None:
    """``?email=`` or ``?q=`` where no list takes them: 400, the message naming the
    unknown parameter and the ones the list takes."""
    client = function_client(function)
    glue = "&" if "?" in path else "?"
    res = client.get(f"{path}{glue}emial=jane%40example.com", headers=staff_auth("acme", "admin"))
    assert 400 == res.status_code, res.get_data(as_text=True)
    error = res.get_json()["error"]
    assert "emial" in error["message"] and known in error["message"], error
    assert ("emial", True) == (error["details"]["unknown"][0], known in error["details"]["allowed"])


def lead(client: Any, headers: dict[str, str], email: str, name: str) -> str:
    """A lead created through the staff API (as staff take one on the phone)."""
    res = client.post("/companies/acme/leads", json={"email": email, "name": name}, headers=headers)
    assert 201 == res.status_code, res.get_data(as_text=True)
    return str(res.get_json()["id"])


def listed(client: Any, headers: dict[str, str], query: str) -> tuple[list[str], Any]:
    res = client.get(f"/companies/acme/leads?{query}", headers=headers)
    assert 200 == res.status_code, res.get_data(as_text=True)
    page = res.get_json()
    return [item["name"] for item in page["items"]], page["next_cursor"]


def test_a_lead_is_found_by_its_e_mail(acme: None, function_client: Any, staff_auth: Any) -> None:
    """Exact, normalised (case and blanks as intake stores them); a user finds only their
    own leads; an address that is not one is a 400."""
    api, manager = function_client("staff_api"), staff_auth("acme", "manager", uid="m1")
    lead(api, manager, "jane@example.com", "Jane Doe")
    lead(api, manager, "jane.doe@example.com", "Jane Other")
    assert (["Jane Doe"], None) == listed(api, manager, "email=%20Jane%40Example.COM")
    assert ([], None) == listed(api, manager, "email=nobody%40example.com")
    assert ([], None) == listed(api, manager, "email=jane%40example.com&status=lost")
    user = staff_auth("acme", "user", uid="u1")
    assert ([], None) == listed(api, user, "email=jane%40example.com")
    bad = api.get("/companies/acme/leads?email=jane", headers=manager)
    assert (400, "email") == (bad.status_code, *bad.get_json()["error"]["details"]["fields"])


def test_leads_are_found_by_the_start_of_their_name(
    acme: None, function_client: Any, staff_auth: Any
) -> None:
    """``?q=`` is a case-insensitive prefix of the name, listed A to Z and paged; a user
    finds only their own leads among them."""
    api, manager = function_client("staff_api"), staff_auth("acme", "manager", uid="m1")
    for i, name in enumerate(["Bob Builder", "bobby Tables", "Alice Bobson", "BOB  Marley"]):
        lead(api, manager, f"p{i}@example.com", name)
    user = staff_auth("acme", "user", uid="u1")
    lead(api, user, "own@example.com", "Bobbie Own")
    first, cursor = listed(api, manager, "q=Bob&limit=2")
    rest, end = listed(api, manager, f"q=Bob&limit=2&cursor={cursor}")
    assert (["Bob Builder", "BOB  Marley", "Bobbie Own", "bobby Tables"], None) == (
        first + rest,
        end,
    )
    assert (["BOB  Marley"], None) == listed(api, manager, "q=bob%20m")
    assert (["Bobbie Own"], None) == listed(api, user, "q=bob")
    refused = api.get("/companies/acme/leads?q=bob&sort=-created_at", headers=manager)
    assert 400 == refused.status_code
    assert lead_id_for("own@example.com")  # the user's own lead is theirs by creation


def test_leads_stored_before_the_search_are_found_once_migrated(
    acme: None, db: Any, function_client: Any, staff_auth: Any, capsys: Any
) -> None:
    """Leads written before leads had ``name_lower`` are not in the name search's range;
    ``growthkit migrate`` gives them one (migration 3), and they are found."""
    from shared.cli import main

    for i, name in enumerate(["Bob Builder", "Alice Bobson"]):
        old = {"id": f"old{i}", "company_id": "acme", "email": f"old{i}@example.com"}
        old |= {"email_normalized": f"old{i}@example.com", "status": "new", "name": name}
        db.document(f"companies/acme/leads/old{i}").set(old | {"schema_version": 2})
    api, manager = function_client("staff_api"), staff_auth("acme", "manager")
    assert ([], None) == listed(api, manager, "q=bob")
    assert 0 == main(["migrate", "--company", "acme"])
    # The two, and the fixture's unnamed L1.
    assert "acme: m0003_lead_name_keys (v3): 3 upgraded" in capsys.readouterr().out
    assert (["Bob Builder"], None) == listed(api, manager, "q=bob")
    assert (["Alice Bobson", "Bob Builder"], None) == listed(api, manager, "sort=name_lower")
