"""Business profiles, audits and growth strategies through staff_api, real ID tokens and
the local Firestore."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import seed_company

BASE = "/companies/acme"


@pytest.fixture
def api(db: Any, function_client: Any) -> Any:
    seed_company(db)
    seed_company(db, "globex")
    return function_client("staff_api")


def make_profile(api: Any, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"business_name": "Acme Bakery", "stage": "growing", **fields}
    res = api.post(f"{BASE}/business_profiles", json=body, headers=headers)
    assert 201 == res.status_code, res.get_data()
    created: dict[str, Any] = res.get_json()
    return created


def test_profiles_and_audits_by_role(api: Any, staff_auth: Any) -> None:
    """Managers write profiles and audits, users read them; an audit names an existing
    profile and gets its name; scores are 0 to 10."""
    manager, user = staff_auth("acme", "manager"), staff_auth("acme", "user")
    profile = make_profile(api, manager, annual_revenue=120000, target_revenue=200000)
    audit = {"business_profile_id": profile["id"], "audit_date": "2026-03-01"}
    answers = [
        api.post(f"{BASE}/business_profiles", json={"business_name": "X"}, headers=user),
        api.post(f"{BASE}/business_audits", json=audit | {"marketing_score": 11}, headers=manager),
        api.post(
            f"{BASE}/business_audits",
            json=audit | {"business_profile_id": "nope"},
            headers=manager,
        ),
        api.post(
            f"{BASE}/business_audits", json=audit | {"audit_date": "2026-02-30"}, headers=manager
        ),
    ]
    assert [403, 400, 400, 400] == [a.status_code for a in answers]
    assert "business_profile_id" in answers[2].get_json()["error"]["details"]["fields"]
    created = api.post(
        f"{BASE}/business_audits",
        json=audit | {"overall_score": 6.5, "recommendations": ["Price up"]},
        headers=manager,
    )
    assert (201, "Acme Bakery", 6.5) == (
        created.status_code,
        created.get_json()["business_name"],
        created.get_json()["overall_score"],
    )
    listed = api.get(
        f"{BASE}/business_audits?business_profile_id={profile['id']}", headers=user
    ).get_json()
    assert [created.get_json()["id"]] == [i["id"] for i in listed["items"]]


def test_strategy_milestones_get_ids_dates_and_progress(api: Any, staff_auth: Any) -> None:
    """Milestones get ids; completing one dates it and moves the progress; the profile a
    strategy belongs to cannot be changed."""
    manager = staff_auth("acme", "manager")
    profile = make_profile(api, manager)
    body = {
        "business_profile_id": profile["id"],
        "name": "Open a second shop",
        "priority": "high",
        "status": "active",
        "milestones": [{"title": "Find a place"}, {"title": "Hire", "target_date": "2026-09-01"}],
    }
    res = api.post(f"{BASE}/growth_strategies", json=body, headers=manager)
    assert 201 == res.status_code, res.get_data()
    strategy = res.get_json()
    first, second = strategy["milestones"]
    assert (True, 0.0) == (bool(first["id"]) and first["id"] != second["id"], strategy["progress"])
    done = [first | {"status": "completed"}, second]
    url = f"{BASE}/growth_strategies/{strategy['id']}"
    patched = api.patch(url, json={"milestones": done}, headers=manager).get_json()
    assert (0.5, True, first["id"]) == (
        patched["progress"],
        patched["milestones"][0]["completed_date"] is not None,
        patched["milestones"][0]["id"],
    )
    moved = api.patch(url, json={"business_profile_id": "other"}, headers=manager)
    assert (400, "cannot be changed") == (
        moved.status_code,
        moved.get_json()["error"]["details"]["fields"]["business_profile_id"],
    )
    bad = [{"title": "x", "status": "pending", "completed_date": "2026-01-01"}]
    assert 400 == api.patch(url, json={"milestones": bad}, headers=manager).status_code


def test_another_companys_business_data_is_refused(api: Any, staff_auth: Any) -> None:
    """An admin of acme gets 403 on each of globex's business resources, any method."""
    admin = staff_auth("acme", "admin")
    statuses = {}
    for resource in ("business_profiles", "business_audits", "growth_strategies", "resources"):
        for method, path in [
            ("GET", f"/companies/globex/{resource}"),
            ("POST", f"/companies/globex/{resource}"),
            ("GET", f"/companies/globex/{resource}/x"),
            ("PATCH", f"/companies/globex/{resource}/x"),
            ("DELETE", f"/companies/globex/{resource}/x"),
        ]:
            res = api.open(path, method=method, json={"business_name": "x"}, headers=admin)
            statuses[(method, path)] = res.status_code
    for resource in ("resource_downloads", "newsletter_subscriptions"):
        path = f"/companies/globex/{resource}"
        statuses[("GET", path)] = api.get(path, headers=admin).status_code
    assert dict.fromkeys(statuses, 403) == statuses
