"""Staff API rules and services against in-memory fakes: cursors, windows, paging through
ties, fixed fields, leads' owners and whole-document rules."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.domain.identity import Role, StaffIdentity
from shared.errors import InvalidInput, PermissionDenied
from shared.staff_api.domain.lists import (
    ID_MAX,
    ID_MIN,
    Cursor,
    ListRequest,
    Scope,
    Window,
    decode_cursor,
    encode_cursor,
    parse_list_request,
    refuse_fixed_fields,
    windows,
)
from shared.staff_api.domain.models import parse_mentions
from shared.staff_api.services.registry import RESOURCES
from shared.staff_api.services.resources import list_items
from shared.staff_api.services.writes import create_item, update_item
from tests.fakes import FakeStore

T0 = datetime(2026, 11, 1, tzinfo=UTC)
MANAGER = StaffIdentity("m1", "acme", Role.MANAGER)
SORTS: dict[str, Any] = {"created_at": "time", "score": "number"}


def test_windows_after_a_cursor_finish_the_tie_then_move_past_it() -> None:
    """Descending from (5, "k"): ids below "k" at 5, then everything below 5."""
    req = ListRequest("score", "number", True, 10, cursor=Cursor(5, "k", "f"))
    ties, rest = windows(req)
    assert Window(5, 5, ID_MIN, "k") == ties
    assert (-math.inf, math.nextafter(5.0, -math.inf)) == (rest.low, rest.high)


def test_ascending_time_windows_step_one_microsecond() -> None:
    """Ascending from a time: ids above the cursor's at that time, then from 1 µs later."""
    req = ListRequest("created_at", "time", False, 10, cursor=Cursor(T0, "k", "f"))
    ties, rest = windows(req)
    assert (T0, T0, "k", ID_MAX) == (ties.low, ties.high, ties.after_id, ties.before_id)
    assert T0 + timedelta(microseconds=1) == rest.low


def test_cursor_round_trip_and_refusals() -> None:
    """A cursor decodes to what it encoded, only for the query it was made for."""
    token = encode_cursor(T0, "lead-1", "fp")
    assert Cursor(T0, "lead-1", "fp") == decode_cursor(token, "time", "fp")
    for bad, fingerprint in ((token, "other"), (token[:-4], "fp"), ("!!", "fp")):
        with pytest.raises(InvalidInput):
            decode_cursor(bad, "time", fingerprint)


@pytest.mark.parametrize(
    "args",
    [
        {"sort": "email"},
        {"sort": "--score"},
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "x"},
        {"status": "won"},
    ],
)
def test_bad_list_arguments_are_refused(args: dict[str, str]) -> None:
    """Unindexed sorts, limits outside 1..100 and unknown filter values are 400s."""
    with pytest.raises(InvalidInput):
        parse_list_request(args, SORTS, {"status": ("new", "lost")}, "scope")


def test_list_defaults() -> None:
    """Newest first, 25 a page, every status."""
    req = parse_list_request({}, SORTS, {"status": ("new", "lost")}, "scope")
    expected = ("created_at", True, 25, {"status": ["new", "lost"]})
    assert expected == (req.sort, req.descending, req.limit, req.values)


def test_unknown_parameters_are_refused_by_name() -> None:
    """A parameter the list does not take is a 400 naming it and those it takes."""
    with pytest.raises(InvalidInput) as caught:
        parse_list_request({"email": "x", "q": "y"}, SORTS, {"status": ("new",)}, "scope")
    assert (["email", "q"], ["cursor", "limit", "sort", "status"]) == (
        caught.value.details["unknown"],
        caught.value.details["allowed"],
    )
    req = parse_list_request({"email": "x"}, SORTS, {}, "scope", params=("email",))
    assert "created_at" == req.sort


def test_a_search_is_a_prefix_window_on_its_text_sort() -> None:
    """``q`` lowercased, the window from it to it followed by the highest character, A
    to Z only; the cursor's next window starts just past the last name."""
    sorts: dict[str, Any] = {"created_at": "time", "name_lower": "text"}
    req = parse_list_request({"q": " BOB  M "}, sorts, {}, "s", search="name_lower")
    assert ("name_lower", False, "bob m") == (req.sort, req.descending, req.prefix)
    assert [Window("bob m", "bob m" + ID_MAX)] == windows(req)
    token = encode_cursor("bob marley", "id7", req.fingerprint("s"))
    after = parse_list_request({"q": "bob m", "cursor": token}, sorts, {}, "s", search="name_lower")
    assert Window("bob marley\x00", "bob m" + ID_MAX) == windows(after)[1]
    for args in ({"q": "bob", "sort": "-created_at"}, {"sort": "-name_lower"}):
        with pytest.raises(InvalidInput):
            parse_list_request(args, sorts, {}, "s", search="name_lower")


def test_fixed_fields_are_named_apart_from_unknown_ones() -> None:
    """The 400 says which fields are the system's and which do not exist."""
    with pytest.raises(InvalidInput) as caught:
        refuse_fixed_fields({"a": 1, "b": 2, "c": 3}, frozenset("a"), frozenset("b"))
    assert {"b": "cannot be changed", "c": "unknown field"} == caught.value.details["fields"]


def test_mentions() -> None:
    """Handles and e-mail handles, once each, not the middle of an address."""
    text = "@Ann see mail from bob@x.example, cc @carl@acme.example and @ann."
    assert ["ann", "carl@acme.example"] == parse_mentions(text)


def seed_leads(store: FakeStore, scores: list[int]) -> None:
    for i, score in enumerate(scores):
        email = f"p{i}@x.example"
        data = {"id": f"l{i}", "company_id": "acme", "email": email, "email_normalized": email}
        data |= {"score": score, "status": "new", "created_at": T0}
        store.docs[f"companies/acme/leads/l{i}"] = (data, T0)


def all_pages(store: FakeStore, args: dict[str, str]) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = list_items(
            store, MANAGER, RESOURCES["leads"], Scope("acme"), args | {"cursor": cursor or ""}
        )
        pages.append([i["id"] for i in page.items])
        if not (cursor := page.next_cursor):
            return pages


def test_paging_through_ties_in_both_directions() -> None:
    """Equal scores are ordered by id; each lead appears once, in both directions."""
    store = FakeStore()
    seed_leads(store, [3, 3, 3, 3, 1, 5])
    down = all_pages(store, {"sort": "-score", "limit": "2"})
    up = all_pages(store, {"sort": "score", "limit": "4"})
    assert [["l5", "l3"], ["l2", "l1"], ["l0", "l4"]] == down
    assert [["l4", "l0", "l1", "l2"], ["l3", "l5"]] == up


def test_a_deleted_cursor_row_does_not_lose_the_rest() -> None:
    """The next page starts after the cursor's position even if that lead is gone."""
    store = FakeStore()
    seed_leads(store, [3, 3, 3])
    scope = Scope("acme")
    first = list_items(store, MANAGER, RESOURCES["leads"], scope, {"sort": "-score", "limit": "1"})
    del store.docs["companies/acme/leads/l2"]
    args = {"sort": "-score", "limit": "5", "cursor": first.next_cursor or ""}
    rest = list_items(store, MANAGER, RESOURCES["leads"], scope, args)
    assert (["l2"], ["l1", "l0"]) == ([i["id"] for i in first.items], [i["id"] for i in rest.items])


def test_a_users_lead_is_theirs_and_only_a_manager_reassigns() -> None:
    """A lead a user creates is assigned to them; PATCHing the owner is refused."""
    store, user = FakeStore(), StaffIdentity("u1", "acme", Role.USER)
    lead, _ = create_item(store, T0, user, RESOURCES["leads"], Scope("acme"), {"email": "a@b.cd"})
    assert "u1" == lead["assigned_to"]
    with pytest.raises(InvalidInput):
        update_item(
            store, T0, user, RESOURCES["leads"], Scope("acme"), lead["id"], {"assigned_to": "u2"}
        )
    with pytest.raises(PermissionDenied):
        create_item(
            store, T0, user, RESOURCES["assignments"], Scope("acme", lead["id"]), {"to": "u2"}
        )


def test_scheduled_content_needs_a_time() -> None:
    """Whole-document rules apply to what a PATCH would leave."""
    store = FakeStore()
    item, _ = create_item(store, T0, MANAGER, RESOURCES["content"], Scope("acme"), {"title": "Hi"})
    with pytest.raises(InvalidInput):
        update_item(
            store,
            T0,
            MANAGER,
            RESOURCES["content"],
            Scope("acme"),
            item["id"],
            {"status": "scheduled"},
        )


def test_a_stored_document_that_no_longer_fits_is_shown_as_stored() -> None:
    """One odd document (older data, a hand edit) does not break the whole list."""
    store = FakeStore()
    seed_leads(store, [1, 2])
    store.docs["companies/acme/leads/l1"][0]["tags"] = "vip"  # a list in the model
    page = list_items(store, MANAGER, RESOURCES["leads"], Scope("acme"), {"sort": "-score"})
    odd, fine = page.items
    assert ("vip", "2026-11-01T00:00:00Z", []) == (odd["tags"], odd["created_at"], fine["tags"])
