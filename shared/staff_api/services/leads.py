"""Leads in the staff API: who sees which lead, private notes and mentions, assignments.

Users (the role) work their own leads: they see and write only leads assigned to them,
and leads they create are assigned to them. Managers and admins see every lead and are the
ones who assign. A lead's owner changes only through an assignment, which keeps the
history (from, to, by, reason) in ``leads/{id}/assignments``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from shared.domain.common import normalize_email, search_key
from shared.domain.consent import recorded_basis
from shared.domain.identity import Role, StaffIdentity, sees_every_lead
from shared.domain.leads import SCHEMA_VERSION, LeadStatus, lead_id_for, lead_path, name_parts
from shared.domain.users import user_path
from shared.errors import InvalidInput, NotFound, PermissionDenied, Refused
from shared.ports import Data, DocumentStore, Snapshot, Transaction, Write
from shared.staff_api.domain.lists import PageQuery, Scope
from shared.staff_api.domain.models import (
    AssignmentFields,
    LeadAssignment,
    mention_matches,
    parse_mentions,
)

log = logging.getLogger("growthkit.staff_api")
Lister = Callable[[DocumentStore, PageQuery], list[Snapshot]]

TEAM = "team"
MAX_USERS_SCANNED = 500  # a small business's staff; mentions resolve against all of them


def lead_list_values(staff: StaffIdentity, args: Mapping[str, str]) -> dict[str, Any]:
    """``?assigned_to=`` (a uid, ``me`` or ``none``; a user always gets their own) and
    ``?email=`` (the one lead of that address)."""
    values = _email_value(args.get("email"))
    raw = args.get("assigned_to") or ""
    if not sees_every_lead(staff):
        if raw not in ("", "me", staff.uid):
            raise PermissionDenied("Users can only list the leads assigned to them.")
        return values | {"assigned_to": staff.uid}
    if not raw:
        return values
    return values | {"assigned_to": {"none": None, "me": staff.uid}.get(raw, raw)}


def _email_value(raw: str | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        return {"email_normalized": normalize_email(raw)}
    except ValueError as err:
        raise InvalidInput("Some fields are invalid.", {"fields": {"email": str(err)}}) from err


def or_by_email(lister: Lister) -> Lister:
    """``lister``, unless the list asks for one e-mail: a lead's id derives from its
    address (``lead_id_for``), so that lead is one read, not a query (nor an index)."""

    def listed(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
        if "email_normalized" not in q.values:
            return lister(store, q)
        return _lead_by_email(store, q)

    return listed


def _lead_by_email(store: DocumentStore, q: PageQuery) -> list[Snapshot]:
    """The lead of ``q``'s address, if it passes the list's other filters (status, a
    user's own) and lies in the window (a page has only this one)."""
    email = str(q.values["email_normalized"])
    snap = store.get_all([lead_path(q.company_id, lead_id_for(email))])[0]
    data = snap.data
    if data is None or data.get("email_normalized", email) != email:
        return []
    if data.get("status", LeadStatus.NEW.value) not in q.values["status"]:
        return []
    if "assigned_to" in q.values and data.get("assigned_to") != q.values["assigned_to"]:
        return []
    inside = q.window.after_id < str(data.get("id", "")) < q.window.before_id
    return [snap] if inside else []


def derive_lead(_store: DocumentStore, staff: StaffIdentity, _scope: Scope, data: Data) -> Data:
    """On creation, the normalised e-mail (the address is create-only, so a change keeps
    the stored one), the owner (a user's own leads are theirs) and the schema version (an
    update leaves a stored version alone: only the migrations move it); first and last
    name from the name, and its search key (``?q=``); a lawful basis just set, as the
    record of who set it and when."""
    derived: Data = {}
    if "email_normalized" not in data:
        derived["email_normalized"] = normalize_email(str(data["email"]))
    derived |= name_parts(data.get("name")) | {"name_lower": search_key(data.get("name"))}
    if "assigned_to" not in data:
        derived["assigned_to"] = staff.uid if staff.role is Role.USER else None
        derived["schema_version"] = SCHEMA_VERSION
    return derived | recorded_basis(staff, data)


def note_list_values(staff: StaffIdentity, _args: Mapping[str, str]) -> dict[str, Any]:
    return {"audience": [TEAM, staff.uid]}


def note_visible(staff: StaffIdentity, note: Data) -> bool:
    return note.get("audience") in (TEAM, staff.uid)


def note_author_only(staff: StaffIdentity, note: Data) -> None:
    if note.get("author") != staff.uid:
        raise PermissionDenied("Only the note's author can change or delete it.")


def derive_note(store: DocumentStore, staff: StaffIdentity, scope: Scope, data: Data) -> Data:
    """Author, audience (private: the author alone) and the mentions, resolved to staff."""
    author = str(data.get("author") or staff.uid)
    mentions = parse_mentions(str(data.get("body", "")))
    return {
        "author": author,
        "audience": author if data.get("private") else TEAM,
        "mentions": mentions,
        "mentioned_uids": _resolve_mentions(store, scope.company_id, mentions),
    }


def _resolve_mentions(store: DocumentStore, company_id: str, handles: list[str]) -> list[str]:
    if not handles:
        return []
    staff = store.query(f"companies/{company_id}/users", [], [], MAX_USERS_SCANNED)
    found = [
        str(s.data["id"])
        for s in staff
        if s.data is not None
        and any(
            mention_matches(h, str(s.data["id"]), str(s.data.get("email", ""))) for h in handles
        )
    ]
    return sorted(found)


def assign_lead(
    store: DocumentStore,
    now: datetime,
    staff: StaffIdentity,
    scope: Scope,
    fields: AssignmentFields,
    assignment_id: str,
) -> tuple[Data, bool]:
    """Give a lead to another staff member (or nobody), recording the change.

    Args:
        store: Where leads, staff and assignments live.
        now: The time of the change.
        staff: The caller; a manager or admin of the lead's company.
        scope: The company and the lead.
        fields: The new owner's uid (None to unassign) and the reason.
        assignment_id: The history record's id (the same for a retried request).

    Returns:
        The assignment record, and whether this call made it (False for a retry).

    Raises:
        PermissionDenied: A role below manager.
        NotFound: No such lead.
        InvalidInput: The new owner is not staff of this company.
        Refused: The lead already belongs to them.
    """
    staff.require_role(Role.MANAGER)
    path = f"{scope.base}/assignments/{assignment_id}"

    def run(tx: Transaction) -> tuple[Data, bool]:
        reads = [path, lead_path(scope.company_id, scope.lead_id)]
        if fields.to:
            reads.append(user_path(scope.company_id, fields.to))
        done, lead, *owner = tx.get_all(reads)
        if done.data is not None:
            return done.data, False
        if lead.data is None:
            raise NotFound("No such lead.")
        if owner and owner[0].data is None:
            raise InvalidInput("No such staff member.", {"fields": {"to": "not in this company"}})
        if lead.data.get("assigned_to") == fields.to:
            raise Refused(f"The lead is already assigned to {fields.to or 'nobody'}.")
        record = _record(scope, assignment_id, lead.data.get("assigned_to"), fields, staff, now)
        tx.write(Write(path, record, "create"))
        change = {"assigned_to": fields.to, "updated_at": now, "updated_by": staff.uid}
        tx.write(Write(lead.path, change, "update"))
        return record, True

    record, created = store.run_transaction(run)
    if created:
        log.info(
            "lead %s assigned %s -> %s by %s",
            scope.lead_id,
            record["from_uid"],
            fields.to,
            staff.uid,
        )
    return record, created


def _record(
    scope: Scope,
    assignment_id: str,
    from_uid: str | None,
    fields: AssignmentFields,
    staff: StaffIdentity,
    now: datetime,
) -> Data:
    return LeadAssignment(
        id=assignment_id,
        lead_id=scope.lead_id,
        company_id=scope.company_id,
        from_uid=from_uid,
        to_uid=fields.to,
        by=staff.uid,
        reason=fields.reason,
        created_at=now,
        updated_at=now,
    ).model_dump() | {"created_by": staff.uid, "updated_by": staff.uid}
