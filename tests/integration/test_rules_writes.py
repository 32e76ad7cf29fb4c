"""Security rules on writes, through real clients: what each role may change by hand,
field by field, and that visitors and other companies change nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore

from localcloud.firestore.testing import mock_id_token
from tests.integration.rules_support import NOW, allowed, clients, seed, stamped

LEAD = "companies/a/leads/l1"


@pytest.fixture
def people(rules_db: Any, client_as: Any) -> dict[str, Any]:
    """Both companies seeded; a client per identity."""
    seed(rules_db)
    return clients(client_as)


def test_visitors_write_nothing(people: dict[str, Any]) -> None:
    """Forms go through the functions: a visitor creates, changes and deletes nothing."""
    visitor = people["visitor"]
    attempts = [
        lambda: visitor.collection("companies/a/leads").add({"email": "v@example.com"}),
        lambda: visitor.document(LEAD).update({"status": "lost"}),
        lambda: visitor.document("companies/a/referrals/ABC123").update({"uses": 1}),
        lambda: visitor.document("companies/new").set({"name": "Mine"}),
        lambda: visitor.document(LEAD).delete(),
    ]
    assert [False] * len(attempts) == [allowed(a) for a in attempts]


def test_staff_move_leads_through_the_pipeline(people: dict[str, Any], rules_db: Any) -> None:
    """A user changes the status, notes and tags of the leads assigned to them, a manager
    of any lead, stamped with who and when, to a known status; nothing else (assigning is
    staff_api's, with its history), and never in another company."""
    user, manager = people["a-user"], people["a-manager"]
    change = stamped("a-user", status="contacted", tags=["vip"])
    assert True is allowed(lambda: user.document(LEAD).update(change))
    assert ("contacted", "a-user") == (
        rules_db.document(LEAD).get().get("status"),
        rules_db.document(LEAD).get().get("updated_by"),
    )
    unassigned = "companies/a/leads/l2"
    assert True is allowed(lambda: manager.document(unassigned).update(stamped("a-manager")))
    attempts = {
        "unknown status": lambda: user.document(LEAD).update(stamped("a-user", status="won")),
        "company_id": lambda: user.document(LEAD).update(stamped("a-user", company_id="b")),
        "email": lambda: user.document(LEAD).update(stamped("a-user", email="o@example.com")),
        "assignee": lambda: manager.document(LEAD).update(
            stamped("a-manager", assigned_to="a-manager")
        ),
        "not stamped": lambda: user.document(LEAD).update({"status": "qualified"}),
        "stamped as another": lambda: user.document(LEAD).update(stamped("a-manager")),
        "a client's clock": lambda: user.document(LEAD).update(
            {"updated_at": datetime.now(UTC), "updated_by": "a-user"}
        ),
        "not their lead": lambda: user.document(unassigned).update(stamped("a-user")),
        "create": lambda: user.collection("companies/a/leads").add({"status": "new"}),
        "delete": lambda: user.document(LEAD).delete(),
        "other company": lambda: people["b-admin"].document(LEAD).update(stamped("b-admin")),
    }
    assert dict.fromkeys(attempts, False) == {k: allowed(a) for k, a in attempts.items()}


def test_only_admins_change_company_settings(people: dict[str, Any], rules_db: Any) -> None:
    """The company document's name, settings and origins are an admin's to change; its
    form key is not changed by hand."""
    settings = {"settings.review_cooldown_days": 90}
    tried = {
        who: allowed(lambda w=who: people[w].document("companies/a").update(settings))
        for who in ("a-user", "a-manager", "b-admin", "a-admin")
    }
    assert {"a-user": False, "a-manager": False, "b-admin": False, "a-admin": True} == tried
    assert 90 == rules_db.document("companies/a").get().get("settings.review_cooldown_days")
    key = {"public_form_key": "a.mine"}
    assert False is allowed(lambda: people["a-admin"].document("companies/a").update(key))


def test_nobody_changes_their_own_role(people: dict[str, Any]) -> None:
    """Profiles and roles change through the company_users function (which sets the sign-in
    claims first): a user cannot promote themself, nor an admin anyone, by hand."""
    attempts = [
        lambda: people["a-user"].document("companies/a/users/a-user").update({"role": "admin"}),
        lambda: people["a-admin"].document("companies/a/users/a-user").update({"role": "admin"}),
        lambda: people["a-user"].document("companies/a/users/a-user").update({"name": "Me"}),
    ]
    assert [False, False, False] == [allowed(a) for a in attempts]


def test_managers_write_content_drafts(people: dict[str, Any]) -> None:
    """Managers create and edit drafts of their company; publication fields, another
    company_id and published content are left to the functions."""
    manager = people["a-manager"]
    drafts = manager.collection("companies/a/content")
    draft = {"title": "Summer", "status": "draft", "type": "social"}
    assert True is allowed(lambda: drafts.document("summer").set(draft))
    assert True is allowed(lambda: drafts.document("summer").update({"status": "scheduled"}))
    assert True is allowed(lambda: drafts.document("summer").delete())
    attempts = {
        "as user": lambda: people["a-user"].collection("companies/a/content").add(draft),
        "publication field": lambda: drafts.add({**draft, "published_at": "now"}),
        "publish by hand": lambda: drafts.document("draft").update({"url": "https://x"}),
        "other company_id": lambda: drafts.add({**draft, "company_id": "b"}),
        "bad type": lambda: drafts.add({**draft, "type": "fax"}),
        "no title": lambda: drafts.add({"status": "draft"}),
        "delete published": lambda: drafts.document("published").delete(),
        "other company": lambda: people["b-admin"].document("companies/a/content/draft").delete(),
    }
    assert dict.fromkeys(attempts, False) == {k: allowed(a) for k, a in attempts.items()}


def test_admins_write_scoring_config(people: dict[str, Any]) -> None:
    """Scoring thresholds are an admin's, within their schema."""
    scoring = {"rules": [], "warm_at": 20, "hot_at": 50}
    ref = "companies/a/config/scoring"
    assert [True, False, False, False] == [
        allowed(lambda: people["a-admin"].document(ref).set(scoring)),
        allowed(lambda: people["a-admin"].document(ref).set({**scoring, "owner": "me"})),
        allowed(lambda: people["a-manager"].document(ref).set(scoring)),
        allowed(lambda: people["b-admin"].document(ref).set(scoring)),
    ]


def test_admins_edit_scoring_rules_by_hand_as_staff_api_stores_them(
    people: dict[str, Any], rules_db: Any
) -> None:
    """A rule as staff_api stores it (its id, company and who wrote it when) stays an
    admin's to edit by hand, within the rule's bounds; nobody moves it to another id or
    company, and no one else writes it."""
    ref = "companies/a/scoring_rules/r2"
    rule = {
        "name": "Owner",
        "category": "demographic",
        "criteria": [{"field": "phone", "op": "exists"}],
        "points": 5,
        "priority": 0,
        "active": True,
        "repeatable": True,
    }
    api_stored = rule | {
        "id": "r2",
        "company_id": "a",
        "created_at": NOW,
        "created_by": "a-admin",
        "updated_at": NOW,
        "updated_by": "a-admin",
    }
    rules_db.document(ref).set(api_stored)
    admin = people["a-admin"].document(ref)
    outcomes = {
        "plain": allowed(lambda: people["a-admin"].document(f"{ref}-plain").set(rule)),
        "edit": allowed(lambda: admin.update({"points": 10, "updated_by": "a-admin"})),
        "another id": allowed(lambda: admin.update({"id": "r3"})),
        "another company": allowed(lambda: admin.update({"company_id": "b"})),
        "unknown field": allowed(lambda: admin.update({"owner": "me"})),
        "zero points": allowed(lambda: admin.update({"points": 0})),
        "manager": allowed(lambda: people["a-manager"].document(ref).update({"points": 7})),
        "other admin": allowed(lambda: people["b-admin"].document(ref).update({"points": 7})),
    }
    assert {
        "plain": True,
        "edit": True,
        "another id": False,
        "another company": False,
        "unknown field": False,
        "zero points": False,
        "manager": False,
        "other admin": False,
    } == outcomes
    assert 10 == rules_db.document(ref).get().get("points")


def test_a_commit_is_refused_whole(people: dict[str, Any], rules_db: Any) -> None:
    """A batch with one write the rules refuse writes nothing, and the denial names the
    method, the path and the rule line that failed, as the emulator reports it."""
    batch = people["a-user"].batch()
    batch.update(people["a-user"].document(LEAD), stamped("a-user", status="qualified"))
    batch.update(people["a-user"].document("companies/b/leads/l1"), stamped("a-user"))
    with pytest.raises(exceptions.PermissionDenied) as refused:
        batch.commit()
    message = str(refused.value)
    assert "for 'update' on /databases/(default)/documents/companies/b/leads/l1" in message
    assert "false for 'update' @ L" in message
    assert ("new", "new") == (
        rules_db.document(LEAD).get().get("status"),
        rules_db.document("companies/b/leads/l1").get().get("status"),
    )


def test_transactions_write_under_rules(people: dict[str, Any], rules_db: Any) -> None:
    """A read-modify-write transaction is checked at commit like any write."""
    user = people["a-user"]

    @firestore.transactional
    def tag(transaction: Any, path: str) -> None:
        snapshot = user.document(path).get(transaction=transaction)
        tags = [*snapshot.get("tags"), "hot"]
        transaction.update(user.document(path), stamped("a-user", tags=tags))

    tag(user.transaction(), LEAD)
    assert ["hot"] == rules_db.document(LEAD).get().get("tags")
    assert False is allowed(lambda: tag(people["b-admin"].transaction(), LEAD))


def test_any_jwt_authenticates(
    people: dict[str, Any], client_as: Any, project_id: str, token_issuer: Any
) -> None:
    """As in the emulator, a signed ID token's claims count like an unsigned one's; a
    bearer token that is neither 'owner' nor a JWT is UNAUTHENTICATED."""
    signed = token_issuer.token(project_id, "a-user", company_id="a", role="user")
    assert True is client_as(None, token=signed).document(LEAD).get().exists
    unsigned = mock_id_token(project_id, "a-user", company_id="b", role="admin")
    assert False is allowed(lambda: client_as(None, token=unsigned).document(LEAD).get())
    with pytest.raises(exceptions.Unauthenticated):
        client_as(None, token="not-a-jwt").document(LEAD).get()
