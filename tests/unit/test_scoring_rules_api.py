"""Scoring rules as a staff API resource, on fakes: who may read and write them, their
validation with field paths, the stamps, the lists, and that what is stored is what
scoring reads (the rules copy included)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from functions._http import validation_error
from shared.domain.identity import Role, StaffIdentity
from shared.errors import InvalidInput, PermissionDenied
from shared.scoring.domain.fit import ScoringConfig
from shared.scoring.services.rules_copy import parse_rules, query_rules, refresh_copy
from shared.staff_api.domain.lists import Scope
from shared.staff_api.services.registry import RESOURCES
from shared.staff_api.services.resources import get_item, list_items
from shared.staff_api.services.writes import create_item, delete_item, update_item
from tests.fakes import FakeStore

T0 = datetime(2026, 11, 1, tzinfo=UTC)
SPEC = RESOURCES["scoring_rules"]
ACME = Scope("acme")
ADMIN = StaffIdentity("a1", "acme", Role.ADMIN)
MANAGER = StaffIdentity("m1", "acme", Role.MANAGER)
USER = StaffIdentity("u1", "acme", Role.USER)
OTHER_ADMIN = StaffIdentity("a2", "globex", Role.ADMIN)
RULE: dict[str, Any] = {
    "name": "Business owner",
    "category": "demographic",
    "criteria": [{"field": "custom_fields.role", "op": "==", "value": "owner"}],
    "points": 25,
}
OPENED: dict[str, Any] = {
    "name": "Opened",
    "category": "engagement",
    "criteria": [{"field": "interaction.status", "op": "==", "value": "opened"}],
    "points": 5,
    "priority": 10,
}


def create(store: FakeStore, body: dict[str, Any], at: datetime = T0) -> dict[str, Any]:
    item, created = create_item(store, at, ADMIN, SPEC, ACME, body)
    assert created
    return item


def test_any_staff_reads_only_admins_write() -> None:
    """Users and managers list and read rules but create, change and delete none; an
    admin of another company does nothing at all."""
    store = FakeStore()
    rule = create(store, RULE)
    for reader in (USER, MANAGER, ADMIN):
        assert [rule["id"]] == [i["id"] for i in list_items(store, reader, SPEC, ACME, {}).items]
        assert rule == get_item(store, reader, SPEC, ACME, rule["id"])
    refused = [
        lambda s: create_item(store, T0, s, SPEC, ACME, RULE),
        lambda s: update_item(store, T0, s, SPEC, ACME, rule["id"], {"points": 5}),
        lambda s: delete_item(store, s, SPEC, ACME, rule["id"]),
    ]
    for staff in (USER, MANAGER, OTHER_ADMIN):
        for attempt in refused:
            with pytest.raises(PermissionDenied):
                attempt(staff)
    with pytest.raises(PermissionDenied):
        list_items(store, OTHER_ADMIN, SPEC, ACME, {})
    assert 25 == get_item(store, ADMIN, SPEC, ACME, rule["id"])["points"]


def test_writes_are_stamped_and_stored_as_scoring_reads_them() -> None:
    """A create records who and when; a PATCH changes what it names and who last
    changed it; the stored rule parses as scoring parses it and reaches the copy."""
    store = FakeStore()
    rule = create(store, RULE)
    assert (ADMIN.uid, ADMIN.uid, "acme", 0, True, True) == (
        rule["created_by"],
        rule["updated_by"],
        rule["company_id"],
        rule["priority"],
        rule["active"],
        rule["repeatable"],
    )
    other = StaffIdentity("a3", "acme", Role.ADMIN)
    later = T0 + timedelta(hours=1)
    changed = update_item(store, later, other, SPEC, ACME, rule["id"], {"points": -10})
    assert (-10, "a1", "a3", later.isoformat().replace("+00:00", "Z")) == (
        changed["points"],
        changed["created_by"],
        changed["updated_by"],
        changed["updated_at"],
    )
    (parsed,) = parse_rules(query_rules(store, "acme"), ScoringConfig())
    assert (rule["id"], -10, "fit") == (parsed.id, parsed.points, parsed.bucket)
    assert "updated" == refresh_copy(store, "acme", later)
    copy = store.docs["companies/acme/config/scoring_rules"][0]
    assert [(rule["id"], -10)] == [(r["id"], r["points"]) for r in copy["rules"]]


def faults(attempt: Callable[[], object]) -> dict[str, str]:
    """The field paths and messages of the 400 ``attempt`` gets over HTTP."""
    try:
        attempt()
    except ValidationError as err:  # mapped to a 400 by functions._http
        refusal = validation_error(err)
    except InvalidInput as err:
        refusal = err
    else:
        raise AssertionError("not refused")
    fields: dict[str, str] = refusal.details["fields"]
    return fields


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"criteria": [{"field": "phone", "op": "like"}]}, "criteria.0.op"),
        ({"criteria": [{"field": "", "op": "exists"}]}, "criteria.0.field"),
        ({"criteria": [{"field": "phone", "operator": "exists"}]}, "criteria.0.operator"),
        ({"criteria": []}, "criteria"),
        ({"criteria": [{"field": "phone"}] * 11}, "criteria"),
        ({"points": 0}, "points"),
        ({"points": 101}, "points"),
        ({"points": -101}, "points"),
        ({"points": "5"}, "points"),
        ({"points": 2.5}, "points"),
        ({"priority": -1}, "priority"),
        ({"priority": 1001}, "priority"),
        ({"active": "yes"}, "active"),
        ({"category": "psychographic"}, "category"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"id": "r9"}, "id"),
        ({"created_by": "me"}, "created_by"),
        ({"weight": 3}, "weight"),
        (
            {"criteria": [{"field": "phone"}, {"field": "interaction.type", "value": "call"}]},
            "criteria.1.field",
        ),
    ],
)
def test_a_bad_rule_is_a_400_naming_the_field(change: dict[str, Any], path: str) -> None:
    """Each fault LeadScoringRule would refuse (and fields nobody writes) is named by its
    path; nothing is stored."""
    store = FakeStore()
    assert path in faults(lambda: create_item(store, T0, ADMIN, SPEC, ACME, RULE | change))
    assert {} == store.docs


def test_a_patch_is_checked_against_the_whole_rule() -> None:
    """Turning an interaction rule into a fit rule is refused at the criterion that is on
    interactions; a missing required field is named; a valid PATCH goes through."""
    store = FakeStore()
    opened = create(store, OPENED)
    fit = {"category": "firmographic"}
    assert {"criteria.0.field": "firmographic rules score lead fields, not interactions"} == (
        faults(lambda: update_item(store, T0, ADMIN, SPEC, ACME, opened["id"], fit))
    )
    no_points = {"name": "No points", "category": "engagement"}
    assert {"criteria": "required", "points": "required"} == faults(
        lambda: create_item(store, T0, ADMIN, SPEC, ACME, no_points)
    )
    changed = update_item(store, T0, ADMIN, SPEC, ACME, opened["id"], {"category": "behavioural"})
    assert "behavioural" == changed["category"]


def ids(store: FakeStore, args: dict[str, str]) -> list[str]:
    return [i["name"] for i in list_items(store, USER, SPEC, ACME, args).items]


def test_lists_filter_by_category_and_active_and_sort_by_priority() -> None:
    """Newest first by default; ?category= and ?active= narrow; ?sort=-priority orders by
    priority; a cursor pages through priority ties without losing a rule."""
    store = FakeStore()
    for n in range(5):
        create(store, RULE | {"name": f"fit{n}", "priority": n % 2}, T0 + timedelta(minutes=n))
    create(store, OPENED | {"active": False}, T0 + timedelta(hours=1))
    assert ["Opened", "fit4", "fit3", "fit2", "fit1", "fit0"] == ids(store, {})
    assert ["Opened"] == ids(store, {"category": "engagement,behavioural"})
    assert ["Opened"] == ids(store, {"active": "false"})
    assert 5 == len(ids(store, {"active": "true", "category": "demographic"}))
    assert [] == ids(store, {"active": "true", "category": "firmographic"})
    assert "Opened" == ids(store, {"sort": "-priority"})[0]
    pages, cursor = [], None
    while True:
        args = {"sort": "priority", "limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = list_items(store, USER, SPEC, ACME, args)
        pages.append([(i["priority"], i["id"]) for i in page.items])
        cursor = page.next_cursor
        if cursor is None:
            break
    rows = [row for page in pages for row in page]
    assert [2, 2, 2] == [len(p) for p in pages]
    assert sorted(rows) == rows and 6 == len(set(rows))
    for bad in ({"active": "yes"}, {"category": "psychographic"}, {"sort": "points"}):
        with pytest.raises(InvalidInput):
            list_items(store, USER, SPEC, ACME, bad)
