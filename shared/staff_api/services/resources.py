"""The staff REST API's use cases for every resource, driven by ``ResourceSpec``s.

A spec says where a resource lives, how it reads back, what staff may write, how it is
listed (an indexed query from ``staff_api_queries``), and which role reads, writes and
deletes it; hooks add the rules a generic list-get-create-update-delete cannot know (a
user's own leads, private notes). Reads are here; writes in ``staff_api_writes``. Every
operation first checks the caller's company, then role, then the document itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from msgspec import Struct, field
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from shared.domain.identity import Role, StaffIdentity, lead_guard
from shared.domain.leads import lead_path
from shared.errors import NotFound
from shared.ports import Data, DocumentStore, Snapshot
from shared.services.lead_visibility import about_visible_leads
from shared.staff_api.domain.edits import EditModel
from shared.staff_api.domain.lists import (
    LIST_PARAMETERS,
    SEARCH,
    PageQuery,
    Scope,
    SortKind,
    encode_cursor,
    parse_list_request,
    refuse_unknown_parameters,
    windows,
)

log = logging.getLogger("growthkit.staff_api")
Lister = Callable[[DocumentStore, PageQuery], list[Snapshot]]
Guard = Callable[[StaffIdentity, Data], None]
Derive = Callable[[DocumentStore, StaffIdentity, Scope, Data], Data]
Creator = Callable[[DocumentStore, datetime, StaffIdentity, Scope, Any, str], tuple[Data, bool]]
# Written by the API itself on every document, never by the caller.
AUDIT_FIELDS = frozenset(
    {"id", "company_id", "lead_id", "created_at", "created_by", "updated_at", "updated_by"}
)


def enum_values(enum: type[StrEnum]) -> tuple[str, ...]:
    """A list filter's allowed values: every value of the enum (a status, a stage...)."""
    return tuple(s.value for s in enum)


class ResourceSpec(Struct, frozen=True):
    """One resource family: ``/companies/{c}/{name}`` (or under a lead)."""

    name: str  # the URL segment and the Firestore collection id
    stored: type[BaseModel]  # how a stored document reads back
    # The sortable fields (the first is the default), each with its kind and query.
    sorts: Mapping[str, tuple[SortKind, Lister]]
    fields: type[EditModel] | None = None  # what staff may write; None: read-only here
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    create_only: frozenset[str] = frozenset()
    under_lead: bool = False
    id_field: str = "id"
    read: Role = Role.USER
    write: Role = Role.MANAGER
    delete: Role | None = Role.MANAGER  # None: not deletable
    patchable: bool = True
    writes_elsewhere: str | None = None  # where writes happen instead (405 says so)
    list_values: Callable[[StaffIdentity, Mapping[str, str]], dict[str, Any]] | None = None
    # The list's query parameters besides sort, limit, cursor and the filters (read by
    # ``list_values``), each with what it does; any other is a 400.
    params: Mapping[str, str] = field(default_factory=dict)
    search: str | None = None  # the text sort field ``?q=`` searches by prefix
    visible: Callable[[StaffIdentity, Data], bool] | None = None
    guard: Guard | None = None  # may the caller act on this document at all
    # The field naming the lead a document is about: seen only by who sees that lead.
    lead_field: str | None = None
    write_guard: Guard | None = None  # may the caller change or delete it
    derive: Derive | None = None  # fields computed from what was written
    new_id: Callable[[Data], str] | None = None  # ids derived from content (leads)
    check: Callable[[Data], None] | None = None  # whole-document rule, raises ValueError
    creator: Creator | None = None  # a create that is more than one document
    deletable: Guard | None = None

    def collection(self, scope: Scope) -> str:
        return f"{scope.base}/{self.name}"

    def methods(self, item: bool) -> tuple[str, ...]:
        """The HTTP methods of the collection URL, or of an item's."""
        if self.fields is None:
            return ("GET",)
        if not item:
            return ("GET", "POST")
        return ("GET",) + ("PATCH",) * self.patchable + ("DELETE",) * bool(self.delete)


def list_parameters(spec: ResourceSpec) -> list[str]:
    """Every query parameter the resource's list takes."""
    searched = [SEARCH] if spec.search else []
    return [*LIST_PARAMETERS, *spec.filters, *spec.params, *searched]


class Page(Struct, frozen=True):
    items: list[Data]
    next_cursor: str | None


def authorize(staff: StaffIdentity, scope: Scope, role: Role) -> None:
    staff.require_company(scope.company_id)
    staff.require_role(role)


def view(spec: ResourceSpec, data: Data) -> Data:
    """A stored document as JSON-ready data (times as ISO strings). One that no longer
    fits its model (older data, a hand edit) is shown as stored rather than failing the
    whole list."""
    try:
        return spec.stored.model_validate(data).model_dump(mode="json")
    except ValidationError as err:
        log.warning(
            "%s item %s does not fit its model: %s", spec.name, data.get(spec.id_field), err
        )
        shown: Data = to_jsonable_python(data)
        return shown


def list_items(
    store: DocumentStore,
    staff: StaffIdentity,
    spec: ResourceSpec,
    scope: Scope,
    args: Mapping[str, str],
) -> Page:
    """One page of a resource, as the query string asks, of what the caller may see.

    Raises:
        PermissionDenied: Another company, a role too low, or a lead not the user's.
        NotFound: The parent lead does not exist.
        InvalidInput: A parameter the list does not take, an unknown sort or filter
            value, a bad limit or cursor.
    """
    authorize(staff, scope, spec.read)
    if spec.under_lead:
        parent(store, staff, scope)
    # Parameters first: the hook would read an unknown one's neighbours as if all was well.
    refuse_unknown_parameters(args, list_parameters(spec))
    fixed = spec.list_values(staff, args) if spec.list_values else {}
    fingerprint_scope = f"{spec.collection(scope)}:{staff.uid}"
    kinds = {name: kind for name, (kind, _) in spec.sorts.items()}
    req = parse_list_request(
        args, kinds, spec.filters, fingerprint_scope, fixed, spec.params, spec.search
    )
    lister = spec.sorts[req.sort][1]
    rows: list[Snapshot] = []
    for window in windows(req):
        need = req.limit + 1 - len(rows)
        query = PageQuery(scope.company_id, scope.lead_id, req.values, window, req.descending, need)
        rows += lister(store, query)
        if len(rows) > req.limit:
            break
    page = [s.data for s in rows[: req.limit] if s.data is not None]
    cursor = None
    if len(rows) > req.limit and page:
        last = page[-1]
        cursor = encode_cursor(
            last[req.sort], str(last[spec.id_field]), req.fingerprint(fingerprint_scope)
        )
    if spec.lead_field:
        # After the cursor: a page may come short, but the next one starts where it should.
        page = about_visible_leads(store, staff, scope.company_id, page, spec.lead_field)
    return Page([view(spec, d) for d in page], cursor)


def parent(store: DocumentStore, staff: StaffIdentity, scope: Scope) -> Data:
    """The lead a sub-resource belongs to, if the caller may work on it."""
    snap = store.get_all([lead_path(scope.company_id, scope.lead_id)])[0]
    if snap.data is None:
        raise NotFound("No such lead.")
    lead_guard(staff, snap.data)
    return snap.data


def check_item(staff: StaffIdentity, spec: ResourceSpec, snaps: list[Snapshot]) -> Data:
    """The document in ``snaps`` (after its lead, for a sub-resource), if the caller may
    see it; a document they may not see is reported missing, not forbidden."""
    *lead, item = snaps
    if lead:
        if lead[0].data is None:
            raise NotFound("No such lead.")
        lead_guard(staff, lead[0].data)
    if item.data is None or (spec.visible and not spec.visible(staff, item.data)):
        raise NotFound(f"No such {spec.name} item.")
    if spec.guard:
        spec.guard(staff, item.data)
    return item.data


def item_paths(spec: ResourceSpec, scope: Scope, item_id: str) -> list[str]:
    """The item, after its lead for a sub-resource (both read in one round trip)."""
    item = f"{spec.collection(scope)}/{item_id}"
    return [lead_path(scope.company_id, scope.lead_id), item] if spec.under_lead else [item]


def get_item(
    store: DocumentStore, staff: StaffIdentity, spec: ResourceSpec, scope: Scope, item_id: str
) -> Data:
    """One document.

    Raises:
        PermissionDenied: Another company, a role too low, or a lead not the user's.
        NotFound: No such document (or one the caller may not see, such as another's
            private note).
    """
    authorize(staff, scope, spec.read)
    snaps = store.get_all(item_paths(spec, scope, item_id))
    item = check_item(staff, spec, snaps)
    if spec.lead_field and not about_visible_leads(
        store, staff, scope.company_id, [item], spec.lead_field
    ):
        raise NotFound(f"No such {spec.name} item.")
    return view(spec, item)
