"""A company's staff: their profiles (``companies/{c}/users/{uid}``) and sign-in claims.

The profile document is what the app shows; what a staff member may do comes from the
custom claims ``company_id`` and ``role`` on their Firebase Auth account, which every ID
token carries. Inviting someone and changing a role set both: the claims first, so a
document never grants what the token does not.

Claims go only on an account whose owner holds the address: one made by the invitation
itself (only the invitee can open its password link), or one whose address is verified
and on no other team. Anyone can sign up with someone else's address, so any other
account's invitation waits (``pending``) until its owner proves the address after the
invitation: a password set through the invitation's link (which locks out whoever chose
the first one) and a sign-in with the address verified (``check_acceptance``).
"""

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from msgspec import Struct, field
from pydantic import AfterValidator, Field

from shared.domain.common import Email, ShortText, StoredModel
from shared.domain.identity import Role, SignedIn
from shared.errors import NotFound, PermissionDenied, Refused
from shared.staff_api.domain.edits import EditModel

MAX_PREFERENCES = 50
CLAIM_KEYS = ("company_id", "role")


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError("not an IANA time zone such as 'Europe/Paris'") from err
    return value


TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_known_zone)]
Url = Annotated[str, Field(max_length=2000, pattern=r"^https?://\S+$")]


class UserStatus(StrEnum):
    INVITED = "invited"  # until their first sign-in
    PENDING = "pending"  # invited; the account's owner has not proved the address yet
    ACTIVE = "active"
    REMOVING = "removing"  # being taken off: claims first, then this profile


class CompanyUser(StoredModel):
    id: str  # the Firebase Auth uid
    company_id: str
    email: str
    name: str | None = None
    role: Role = Role.USER
    timezone: str = "UTC"
    preferences: dict[str, Any] = {}
    avatar_url: str | None = None
    status: UserStatus = UserStatus.INVITED
    last_login_at: datetime | None = None


class ProfileFields(EditModel):
    """What anyone may change of their own profile."""

    name: ShortText | None = None
    timezone: TimeZone = "UTC"
    preferences: dict[str, Any] = Field(default={}, max_length=MAX_PREFERENCES)
    avatar_url: Url | None = None


class UserFields(ProfileFields):
    """What an admin may change of anyone's: the profile and the role."""

    role: Role = Role.USER


class InviteFields(UserFields):
    email: Email = ""


class AuthAccount(Struct, frozen=True):
    """A Firebase Auth account, as the user-management port returns it."""

    uid: str
    email: str | None
    claims: dict[str, Any] = field(default_factory=dict)
    disabled: bool = False
    # ID tokens issued before this were revoked (``UserAdmin.revoke_tokens``).
    tokens_valid_after: datetime | None = None
    email_verified: bool = False

    @property
    def company_id(self) -> str | None:
        value = self.claims.get("company_id")
        return value if isinstance(value, str) and value else None


def invitation_status(account: AuthAccount, made_now: bool, company_id: str) -> UserStatus:
    """INVITED (the claims are set now) for an account the invitation made, one already of
    this company, or one whose owner verified the address and is on no other team;
    PENDING for any other (unverified, or another company's: answered alike, so an
    invitation tells nothing of who is whose staff)."""
    if made_now or account.company_id == company_id:
        return UserStatus.INVITED
    if account.email_verified and account.company_id is None:
        return UserStatus.INVITED
    return UserStatus.PENDING


def check_acceptance(
    profile: Mapping[str, Any] | None,
    account: AuthAccount | None,
    caller: SignedIn,
    company_id: str,
) -> None:
    """Whether the signed-in ``caller`` may take up their pending invitation: the address
    verified and the invitation's, a password set after the invitation (so whoever had
    registered the address before can no longer sign in), and a token from after that.

    Raises:
        NotFound: No pending invitation for this account.
        PermissionDenied: The address unproven (what to do is in the message).
        Refused: The account is on another company's team.
    """
    if profile is None or account is None or profile.get("status") != UserStatus.PENDING:
        raise NotFound("You have no invitation to this company; ask an admin to invite you.")
    invited_address = str(profile.get("email") or "").lower()
    if not caller.email_verified or (caller.email or "").lower() != invited_address:
        raise PermissionDenied("Verify your e-mail address, then sign in again.")
    invited = profile["created_at"].replace(microsecond=0)  # validSince is in seconds
    since = account.tokens_valid_after
    if since is None or since <= invited or caller.issued_at < since:
        raise PermissionDenied(
            "Set your password through the invitation's link, then sign in again."
        )
    if account.company_id not in (None, company_id):
        raise Refused("Your account is on another company's team; ask its admin first.")


def takes_admin_away(profile: Mapping[str, Any], changes: Mapping[str, Any]) -> bool:
    """Whether ``changes`` leave this admin's profile no longer an admin (a demotion, or
    the start of a removal)."""
    demoted = changes.get("role", Role.ADMIN.value) != Role.ADMIN.value
    removed = changes.get("status") == UserStatus.REMOVING.value
    return demoted or (removed and profile.get("status") != UserStatus.REMOVING.value)


def other_admins(admins: list[Mapping[str, Any]], uid: str) -> list[str]:
    """The admins besides ``uid`` who hold the role: not pending (no claims yet) and not
    being removed."""
    gone = {UserStatus.PENDING.value, UserStatus.REMOVING.value}
    return [str(a.get("id")) for a in admins if a.get("id") != uid and a.get("status") not in gone]


def claims_for(account: AuthAccount, company_id: str, role: Role) -> dict[str, Any]:
    """The account's custom claims with this company and role (other claims are kept:
    setting claims replaces them all)."""
    return {**account.claims, "company_id": company_id, "role": role.value}


def claims_without_company(account: AuthAccount) -> dict[str, Any]:
    return {k: v for k, v in account.claims.items() if k not in CLAIM_KEYS}


def invite_message(company_name: str, link: str) -> tuple[str, str]:
    """The invitation's subject and body: the link sets a password and signs them in."""
    subject = f"You're invited to {company_name} on growthkit"
    body = (
        f"You have been added to {company_name}'s team on growthkit.\n\n"
        f"Choose your password and sign in here:\n{link}\n\n"
        "If you did not expect this, you can ignore this message."
    )
    return subject, body


def user_path(company_id: str, uid: str) -> str:
    return f"companies/{company_id}/users/{uid}"
