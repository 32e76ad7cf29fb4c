"""Who is calling a staff function, and what their role allows."""

from __future__ import annotations

from collections.abc import Mapping
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


def lead_guard(staff: StaffIdentity, lead: Mapping[str, Any]) -> None:
    """A user may only act on a lead assigned to them (the staff API's guard of a lead and
    of what hangs under it: interactions, notes, assignments)."""
    if staff.role is Role.USER and lead.get("assigned_to") != staff.uid:
        raise PermissionDenied("Users can only work on the leads assigned to them.")
