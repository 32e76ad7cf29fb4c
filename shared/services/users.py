"""Staff accounts: invite, change role or profile, remove, record sign-ins.

A staff member's rights are the ``company_id`` and ``role`` custom claims of their
Firebase Auth account, set here through the ``UserAdmin`` port; their profile is
``companies/{c}/users/{uid}``. Claims are written before the profile, so a failure
part-way leaves nothing the token does not back, and every operation can be retried.
Claims reach a signed-in user's ID token when it is next refreshed (within the hour).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from shared.domain.company import company_path
from shared.domain.identity import Role, StaffIdentity
from shared.domain.staff_api import Scope, refuse_fixed_fields
from shared.domain.users import (
    AuthAccount,
    CompanyUser,
    InviteFields,
    ProfileFields,
    UserFields,
    UserStatus,
    claims_for,
    claims_without_company,
    invite_message,
    user_path,
)
from shared.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied, Refused
from shared.ports import Data, DocumentStore, Messenger, OutboundMessage, Write
from shared.services import staff_api_queries as queries
from shared.services.staff_api import AUDIT_FIELDS, ResourceSpec, authorize

log = logging.getLogger("growthkit.users")

USERS = ResourceSpec(
    "users",
    CompanyUser,
    {"created_at": ("time", queries.users)},
    filters={"role": tuple(r.value for r in Role)},
)
_STORED = frozenset(CompanyUser.model_fields) | AUDIT_FIELDS


class UserAdmin(Protocol):
    """Firebase Auth accounts: the one place rights are granted."""

    def get(self, uid: str) -> AuthAccount | None: ...
    def find_by_email(self, email: str) -> AuthAccount | None: ...
    def create(self, email: str, display_name: str | None) -> AuthAccount:
        """Raises ``AlreadyExists`` when the e-mail has an account."""
        ...

    def set_claims(self, uid: str, claims: dict[str, Any]) -> None: ...
    def revoke_tokens(self, uid: str) -> None:
        """The account's refresh tokens and the ID tokens issued so far stop working."""
        ...

    def sign_in_link(self, email: str) -> str:
        """A link that lets the account's owner set a password and sign in."""
        ...

    def delete(self, uid: str) -> None:
        """Remove the account (``NotFound`` if there is none): undoes a ``create``."""
        ...


def _view(data: Data) -> Data:
    return CompanyUser.model_validate(data).model_dump(mode="json")


def invite_user(
    store: DocumentStore,
    admin: UserAdmin,
    messenger: Messenger,
    now: datetime,
    staff: StaffIdentity,
    company_id: str,
    body: Data,
) -> tuple[Data, bool]:
    """Make someone staff of the company: an Auth account (created when the e-mail has
    none) with this company's claims, a profile, and an e-mail with a sign-in link.

    Args:
        store: Where profiles live.
        admin: Firebase Auth accounts.
        messenger: Sends the invitation (once per member: its idempotency key).
        now: The time of the invitation.
        staff: The caller; an admin of ``company_id``.
        company_id: The company they join.
        body: ``email`` (required), ``role`` (default user), ``name``, ``timezone``,
            ``preferences``, ``avatar_url``.

    Returns:
        The profile, and whether this call added them (False: already staff here; the
        profile is returned unchanged, roles change with ``update_user``, and the
        invitation is sent again only if it never went out).

    Raises:
        PermissionDenied: Another company, or not an admin.
        InvalidInput: A missing e-mail, an unknown field or a bad value.
        Refused: The e-mail belongs to another company's staff.
    """
    authorize(staff, Scope(company_id), Role.ADMIN)
    refuse_fixed_fields(body, frozenset(InviteFields.model_fields), _STORED)
    if not body.get("email"):
        raise InvalidInput("Give the e-mail to invite.", {"fields": {"email": "required"}})
    fields = InviteFields.model_validate(body)
    account = _account_for(admin, fields)
    if account.company_id not in (None, company_id):
        raise Refused("That e-mail belongs to another company's staff.")
    path = user_path(company_id, account.uid)
    existing, company = (s.data for s in store.get_all([path, company_path(company_id)]))
    name = str((company or {}).get("name") or company_id)
    if existing is not None and account.company_id == company_id:
        if existing.get("status") == UserStatus.INVITED.value:
            _send_invite(admin, messenger, company_id, name, existing)
        return _view(existing), False
    admin.set_claims(account.uid, claims_for(account, company_id, fields.role))
    profile = CompanyUser(
        id=account.uid,
        company_id=company_id,
        email=account.email or fields.email.lower(),
        created_at=now,
        updated_at=now,
        **fields.model_dump(exclude={"email"}),
    ).model_dump()
    # "set": a retry after the claims were set but this write failed completes the invite.
    store.commit([Write(path, profile | {"created_by": staff.uid, "updated_by": staff.uid})])
    log.info("user %s invited to %s as %s by %s", account.uid, company_id, fields.role, staff.uid)
    _send_invite(admin, messenger, company_id, name, profile)
    return _view(profile), True


def _send_invite(
    admin: UserAdmin, messenger: Messenger, company_id: str, company_name: str, profile: Data
) -> None:
    """Mail the sign-in link; the key makes a retried invite a no-op once it went out."""
    email = str(profile["email"])
    subject, body = invite_message(company_name, admin.sign_in_link(email))
    key = f"invite:{company_id}:{profile['id']}"
    messenger.send(OutboundMessage("email", email, subject, body, idempotency_key=key))


def _account_for(admin: UserAdmin, fields: InviteFields) -> AuthAccount:
    """The e-mail's account, created if it has none (another invite may race us to it)."""
    found = admin.find_by_email(fields.email)
    if found is not None:
        return found
    try:
        return admin.create(fields.email, fields.name)
    except AlreadyExists:
        raced = admin.find_by_email(fields.email)
        if raced is None:
            raise
        return raced


def update_user(
    store: DocumentStore,
    admin: UserAdmin,
    now: datetime,
    staff: StaffIdentity,
    company_id: str,
    uid: str,
    body: Data,
) -> Data:
    """Change a profile; an admin may change anyone's, and others' roles.

    Raises:
        PermissionDenied: Another company; someone else's profile or a role, without
            being an admin.
        InvalidInput: An unknown, immutable or bad field.
        NotFound: No such staff member.
        Refused: An admin changing their own role (another admin must, so a company is
            never left without one by mistake).
    """
    authorize(staff, Scope(company_id), Role.USER)
    own = uid == staff.uid
    model = UserFields if staff.role is Role.ADMIN else ProfileFields
    if not own:
        staff.require_role(Role.ADMIN)
    if "role" in body and staff.role is not Role.ADMIN:
        raise PermissionDenied("Only an admin can change roles.")
    refuse_fixed_fields(body, frozenset(model.model_fields), _STORED)
    sent = model.model_validate(body)
    changes: Data = sent.model_dump(include=set(sent.model_fields_set))
    snap = store.get_all([user_path(company_id, uid)])[0]
    if snap.data is None:
        raise NotFound("No such staff member.")
    if "role" in changes and changes["role"] != snap.data.get("role"):
        if own:
            raise Refused("Admins cannot change their own role; ask another admin.")
        _set_role(admin, company_id, uid, Role(changes["role"]))
    changes |= {"updated_at": now, "updated_by": staff.uid}
    store.commit([Write(snap.path, changes, "update")])
    log.info("user %s of %s updated (%s) by %s", uid, company_id, ", ".join(body), staff.uid)
    return _view(snap.data | changes)


def _set_role(admin: UserAdmin, company_id: str, uid: str, role: Role) -> None:
    account = admin.get(uid)
    if account is None or account.company_id != company_id:
        raise Refused("That staff member has no sign-in account in this company any more.")
    admin.set_claims(uid, claims_for(account, company_id, role))
    # Tokens minted with the old role would keep it for up to an hour: the member signs
    # in again and gets the new claims.
    admin.revoke_tokens(uid)


def remove_user(
    store: DocumentStore, admin: UserAdmin, staff: StaffIdentity, company_id: str, uid: str
) -> None:
    """Take someone off the company: their claims go and their tokens are revoked (refused
    at once where revocation is checked, see ``check_revoked_tokens``; elsewhere they
    last until they expire, at most an hour), then their profile.

    Raises:
        PermissionDenied: Another company, or not an admin.
        NotFound: No such staff member.
        Refused: Removing oneself.
    """
    authorize(staff, Scope(company_id), Role.ADMIN)
    if uid == staff.uid:
        raise Refused("Admins cannot remove themselves; ask another admin.")
    path = user_path(company_id, uid)
    if store.get_all([path])[0].data is None:
        raise NotFound("No such staff member.")
    account = admin.get(uid)
    if account is not None and account.company_id == company_id:
        admin.set_claims(uid, claims_without_company(account))
        admin.revoke_tokens(uid)
    store.commit([Write(path, {}, "delete")])
    log.info("user %s removed from %s by %s", uid, company_id, staff.uid)


def record_sign_in(
    store: DocumentStore, now: datetime, staff: StaffIdentity, company_id: str
) -> Data:
    """The app reports a sign-in: ``last_login_at`` and, the first time, active status.

    Raises:
        PermissionDenied: Another company.
        NotFound: The caller has no profile in the company.
    """
    authorize(staff, Scope(company_id), Role.USER)
    snap = store.get_all([user_path(company_id, staff.uid)])[0]
    if snap.data is None:
        raise NotFound("You have no profile in this company; ask an admin to invite you.")
    changes = {"last_login_at": now, "status": UserStatus.ACTIVE.value, "updated_at": now}
    store.commit([Write(snap.path, changes, "update")])
    return _view(snap.data | changes)
