"""Security rules on reads, through real clients signed in as staff of company a, as an
admin of company b, as a visitor and as accounts without the claims: each reads its own
company's data by role and nothing of another company's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore import FieldFilter

from tests.integration.rules_support import READ_ROLE, allowed, clients, may_read, seed

COLLECTIONS = sorted(
    {p.rsplit("/", 1)[0] for p in READ_ROLE if p and not p.startswith("leads/l1/notes")}
)


def test_every_company_collection_of_the_code_is_covered() -> None:
    """Each collection the code keeps under ``companies/{c}/`` has a row in READ_ROLE, so
    the rules on it are exercised below (add one with a new collection)."""
    used: set[str] = set()
    for source in (Path(__file__).resolve().parents[2] / "shared").rglob("*.py"):
        used |= set(re.findall(r"companies/\{[a-z_.]+\}/([a-z_]+)", source.read_text()))
    assert set() == used - {path.split("/")[0] for path in READ_ROLE}


@pytest.mark.parametrize("path", list(READ_ROLE))
def test_get_by_role(path: str, rules_db: Any, client_as: Any) -> None:
    """Each document of company a is read by a's staff from the least role up, and by
    nobody else: not b's admin, not a visitor, not an account without claims."""
    seed(rules_db)
    people = clients(client_as)
    name = f"companies/a/{path}".rstrip("/")
    expected = {who: may_read(who, "a", READ_ROLE[path]) for who in people}
    actual = {who: allowed(lambda c=c: c.document(name).get()) for who, c in people.items()}
    assert expected == actual


# Unfiltered queries need more than reading one document: a user reads the leads assigned
# to them, so lists them only filtered to their own (test_users_list_only_their_own_leads),
# and reads what names a lead only of their own leads, one document at a time.
LIST_ROLE = {
    "leads": "manager",
    **dict.fromkeys(
        ["reviews", "referrals", "lead_score_history", "workflow_executions", "consultations"],
        "manager",
    ),
}


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_list_by_role(collection: str, rules_db: Any, client_as: Any) -> None:
    """Queries of a's collections follow the same roles; they return a's documents."""
    seed(rules_db)
    people = clients(client_as)
    least = LIST_ROLE.get(collection) or next(
        r for p, r in READ_ROLE.items() if p.startswith(collection + "/")
    )
    expected = {who: may_read(who, "a", least) for who in people}
    found: dict[str, list[str]] = {}

    def run(who: str, c: Any) -> None:
        found[who] = [d.reference.path for d in c.collection(f"companies/a/{collection}").get()]

    actual = {who: allowed(lambda w=who, c=c: run(w, c)) for who, c in people.items()}
    assert expected == actual
    assert all(all(p.startswith("companies/a/") for p in paths) for paths in found.values())


def test_users_list_only_their_own_leads(rules_db: Any, client_as: Any) -> None:
    """A user's lead queries must filter ``assigned_to == <their uid>`` (then they get
    their leads); a manager lists every lead; nobody lists another user's leads as a user."""
    seed(rules_db)
    people = clients(client_as)

    def assigned(who: str, uid: str | None) -> list[str]:
        query = people[who].collection("companies/a/leads")
        query = query.where(filter=FieldFilter("assigned_to", "==", uid))
        return [d.id for d in query.get()]

    assert (["l1"], ["l2"]) == (assigned("a-user", "a-user"), assigned("a-manager", None))
    refused = [
        lambda: people["a-user"].collection("companies/a/leads").get(),
        lambda: assigned("a-user", "a-manager"),
        lambda: assigned("a-user", None),
        lambda: assigned("b-admin", "a-user"),
    ]
    assert [False] * len(refused) == [allowed(q) for q in refused]
    listed = sorted(d.id for d in people["a-manager"].collection("companies/a/leads").get())
    assert ["l1", "l2"] == listed


def test_private_note_is_its_authors_alone(rules_db: Any, client_as: Any) -> None:
    """A note's audience is 'team' or its author's uid: others cannot get it, and notes
    are listed only with ``audience in ['team', <own uid>]``, which the rule implies."""
    seed(rules_db)
    people = clients(client_as)
    notes = "companies/a/leads/l1/notes"

    def visible(who: str) -> list[str]:
        query = (
            people[who].collection(notes).where(filter=FieldFilter("audience", "in", ["team", who]))
        )
        return sorted(d.id for d in query.get())

    assert (False, True) == (
        allowed(lambda: people["a-user"].document(f"{notes}/private").get()),
        allowed(lambda: people["a-manager"].document(f"{notes}/private").get()),
    )
    assert (["team"], ["private", "team"]) == (visible("a-user"), visible("a-manager"))
    assert (False, False) == (
        allowed(lambda: people["a-manager"].collection(notes).get()),
        allowed(lambda: visible("b-admin")),
    )


def test_listing_companies_only_by_own_name(rules_db: Any, client_as: Any) -> None:
    """The companies collection is listed only filtered to the caller's own document."""
    seed(rules_db)
    admin = clients(client_as)["a-admin"]

    def by_name(company: str) -> list[str]:
        ref = admin.document(f"companies/{company}")
        query = admin.collection("companies").where(filter=FieldFilter("__name__", "==", ref))
        return [d.id for d in query.get()]

    assert False is allowed(lambda: admin.collection("companies").get())
    assert ["a"] == by_name("a")
    assert False is allowed(lambda: by_name("b"))


def test_collection_group_only_filtered_to_own_company(rules_db: Any, client_as: Any) -> None:
    """A collection-group query spans every company: it is allowed only with
    ``company_id == <the caller's>`` (then it returns that company's documents alone)."""
    seed(rules_db)
    people = clients(client_as)
    user = people["a-user"]

    def leads(client: Any, op: str | None = None, value: Any = None) -> list[str]:
        query = client.collection_group("leads")
        if op is not None:
            query = query.where(filter=FieldFilter("company_id", op, value))
        return [d.reference.path for d in query.get()]

    def own_leads(op: str, value: Any) -> list[str]:
        query = user.collection_group("leads").where(filter=FieldFilter("company_id", op, value))
        query = query.where(filter=FieldFilter("assigned_to", "==", "a-user"))
        return [d.reference.path for d in query.get()]

    assert ["companies/a/leads/l1"] == own_leads("==", "a")
    assert ["companies/a/leads/l1"] == own_leads("in", ["a"])
    both = ["companies/a/leads/l1", "companies/a/leads/l2"]
    assert both == leads(people["a-manager"], "==", "a")
    refused = [
        lambda: leads(user),
        lambda: leads(user, "==", "a"),
        lambda: own_leads("in", ["a", "b"]),
        lambda: (
            user.collection_group("interactions")
            .where(filter=FieldFilter("company_id", "==", "a"))
            .get()
        ),
        lambda: leads(user, "==", "b"),
        lambda: leads(user, "in", ["a", "b"]),
        lambda: leads(people["visitor"], "==", "a"),
        lambda: leads(people["signed-in-no-claims"], "==", "a"),
        lambda: (
            user.collection_group("scheduled_tasks")
            .where(filter=FieldFilter("company_id", "==", "a"))
            .get()
        ),
    ]
    assert [False] * len(refused) == [allowed(q) for q in refused]


def test_aggregations_are_checked_as_queries(rules_db: Any, client_as: Any) -> None:
    """``count()`` is a query: allowed on the caller's company only."""
    seed(rules_db)
    user = clients(client_as)["a-user"]
    mine = user.collection("companies/a/leads").where(
        filter=FieldFilter("assigned_to", "==", "a-user")
    )
    (result,) = mine.count().get()[0]
    assert 1 == result.value
    assert False is allowed(lambda: user.collection("companies/a/leads").count().get())
    assert False is allowed(lambda: user.collection("companies/b/leads").count().get())


def test_missing_documents_and_transactions(rules_db: Any, client_as: Any) -> None:
    """A missing document of one's company reads as missing; another company's is
    refused whether or not it exists, in a transaction too."""
    seed(rules_db)
    user = clients(client_as)["a-user"]
    # A missing lead has no assignee to check: only a manager learns it is missing.
    assert False is clients(client_as)["a-manager"].document("companies/a/leads/nope").get().exists
    assert False is allowed(lambda: user.document("companies/a/leads/nope").get())
    assert False is allowed(lambda: user.document("companies/b/leads/nope").get())

    @firestore.transactional
    def read(transaction: Any, path: str) -> Any:
        return user.document(path).get(transaction=transaction).to_dict()

    assert "new" == read(user.transaction(), "companies/a/leads/l1")["status"]
    assert False is allowed(lambda: read(user.transaction(), "companies/b/leads/l1"))


def test_metadata_operations_need_the_owner(rules_db: Any, client_as: Any) -> None:
    """Listing document ids or collection ids is for the admin credential, as in the
    emulator; the owner's client is not subject to rules at all."""
    seed(rules_db)
    user = clients(client_as)["a-admin"]
    with pytest.raises(exceptions.PermissionDenied) as refused:
        list(user.collection("companies/a/leads").list_documents())
    assert "Metadata operations require admin authentication." in str(refused.value)
    listed = [d.id for d in rules_db.collection("companies/b/leads").list_documents()]
    assert ["l1", "l2"] == listed
