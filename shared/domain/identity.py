"""Who is calling a staff function, and what their role allows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from msgspec import Struct

from shared.errors import PermissionDenied, Unauthenticated


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    USER = "user"


_RANK = {Role.USER: 0, Role.MANAGER: 1, Role.ADMIN: 2}


class StaffIdentity(Struct, frozen=True):
    uid: str
    company_id: str
    role: Role
    email: str | None = None

    def require_company(self, company_id: str) -> None:
        """Refuse any request for another company's data."""
        if company_id != self.company_id:
            raise PermissionDenied("You can only act on your own company's data.")

    def require_role(self, minimum: Role) -> None:
        if _RANK[self.role] < _RANK[minimum]:
            raise PermissionDenied(f"This needs the {minimum.value} role or higher.")


class SignedIn(Struct, frozen=True):
    """Whoever a verified ID token is for, staff or not yet (an invitee's first sign-in)."""

    uid: str
    email: str | None
    email_verified: bool
    issued_at: datetime


def signed_in_from_claims(claims: dict[str, Any]) -> SignedIn:
    return SignedIn(
        str(claims.get("uid") or claims.get("sub")),
        claims.get("email"),
        claims.get("email_verified") is True,
        datetime.fromtimestamp(int(claims.get("iat") or 0), UTC),
    )


def identity_from_claims(claims: dict[str, Any]) -> StaffIdentity:
    company_id, role = claims.get("company_id"), claims.get("role")
    if not isinstance(company_id, str) or not company_id:
        raise Unauthenticated("The ID token has no company_id claim.")
    try:
        parsed = Role(str(role))
    except ValueError as err:
        raise Unauthenticated("The ID token has no valid role claim.") from err
    return StaffIdentity(
        str(claims.get("uid") or claims.get("sub")), company_id, parsed, claims.get("email")
    )


def sees_every_lead(staff: StaffIdentity) -> bool:
    """Managers and admins see every lead of their company; users only their own."""
    return staff.role is not Role.USER


def lead_visible(staff: StaffIdentity, lead: Mapping[str, Any] | None) -> bool:
    """Whether the caller may see this lead (None: a lead that does not exist, which
    only those who see every lead may be told about). The one rule for every path that
    reads a lead or what is about one: the lead list, sub-resources, previews, reviews,
    referrals, enrolments, consultations."""
    if sees_every_lead(staff):
        return True
    return lead is not None and lead.get("assigned_to") == staff.uid


def lead_guard(staff: StaffIdentity, lead: Mapping[str, Any] | None) -> None:
    """A user may only act on a lead assigned to them (the staff API's guard of a lead and
    of what hangs under it: interactions, notes, assignments). Checked before whether the
    lead exists, so a user cannot learn which addresses are leads (ids derive from them)."""
    if not lead_visible(staff, lead):
        raise PermissionDenied("Users can only work on the leads assigned to them.")
