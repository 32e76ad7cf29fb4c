"""Staff accounts: invite, change role or profile, remove, record sign-ins.

A staff member's rights are the ``company_id`` and ``role`` custom claims of their
Firebase Auth account, set here through the ``UserAdmin`` port; their profile is
``companies/{c}/users/{uid}``. Claims are written before the profile, so a failure
part-way leaves nothing the token does not back, and every operation can be retried.
Claims reach a signed-in user's ID token when it is next refreshed (within the hour).
An invitation to an account the invitee may not own waits, pending, until its owner
proves the address (``shared.domain.users.check_acceptance``) and takes it up by
recording a sign-in.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from shared.domain.company import company_path
from shared.domain.identity import Role, SignedIn, StaffIdentity
from shared.domain.users import (
    AuthAccount,
    CompanyUser,
    InviteFields,
    ProfileFields,
    UserFields,
    UserStatus,
    check_acceptance,
    claims_for,
    claims_without_company,
    invitation_status,
    invite_message,
    other_admins,
    takes_admin_away,
    user_path,
)
from shared.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied, Refused
from shared.ports import Data, DocumentStore, Filter, Messenger, OutboundMessage, Transaction, Write
from shared.staff_api.domain.lists import Scope, refuse_fixed_fields
from shared.staff_api.services import queries
from shared.staff_api.services.resources import AUDIT_FIELDS, ResourceSpec, authorize

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
        The profile (status ``invited``, or ``pending`` until the owner of an account the
        invitation did not make proves the address), and whether this call added them
        (False: already invited or staff here; the profile is returned unchanged, roles
        change with ``update_user``, and the invitation is sent again only if it never
        went out). Another company's staff are answered as any unproven address.

    Raises:
        PermissionDenied: Another company, or not an admin.
        InvalidInput: A missing e-mail, an unknown field or a bad value.
    """
    authorize(staff, Scope(company_id), Role.ADMIN)
    refuse_fixed_fields(body, frozenset(InviteFields.model_fields), _STORED)
    if not body.get("email"):
        raise InvalidInput("Give the e-mail to invite.", {"fields": {"email": "required"}})
    fields = InviteFields.model_validate(body)
    account, made = _account_for(admin, fields)
    path = user_path(company_id, account.uid)
    existing, company = (s.data for s in store.get_all([path, company_path(company_id)]))
    name = str((company or {}).get("name") or company_id)
    if existing is not None:
        if existing.get("status") != UserStatus.ACTIVE.value:
            _send_invite(admin, messenger, company_id, name, existing)
        return _view(existing), False
    status = invitation_status(account, made, company_id)
    if status is UserStatus.INVITED:
        admin.set_claims(account.uid, claims_for(account, company_id, fields.role))
    profile = _profile(account, company_id, fields, status, now)
    # "set": a retry after the claims were set but this write failed completes the invite.
    store.commit([Write(path, profile | {"created_by": staff.uid, "updated_by": staff.uid})])
    log.info(
        "user %s invited to %s as %s by %s (%s)",
        account.uid,
        company_id,
        fields.role,
        staff.uid,
        "claims set" if status is UserStatus.INVITED else "pending: the address is unproven",
    )
    _send_invite(admin, messenger, company_id, name, profile)
    return _view(profile), True


def _profile(
    account: AuthAccount, company_id: str, fields: InviteFields, status: UserStatus, now: datetime
) -> Data:
    return CompanyUser(
        id=account.uid,
        company_id=company_id,
        email=account.email or fields.email.lower(),
        status=status,
        created_at=now,
        updated_at=now,
        **fields.model_dump(exclude={"email"}),
    ).model_dump()


def _send_invite(
    admin: UserAdmin, messenger: Messenger, company_id: str, company_name: str, profile: Data
) -> None:
    """Mail the sign-in link; the key makes a retried invite a no-op once it went out."""
    email = str(profile["email"])
    subject, body = invite_message(company_name, admin.sign_in_link(email))
    key = f"invite:{company_id}:{profile['id']}"
    messenger.send(OutboundMessage("email", email, subject, body, idempotency_key=key))


def _account_for(admin: UserAdmin, fields: InviteFields) -> tuple[AuthAccount, bool]:
    """The e-mail's account, created if it has none (someone may race us to it), and
    whether this call made it."""
    found = admin.find_by_email(fields.email)
    if found is not None:
        return found, False
    try:
        return admin.create(fields.email, fields.name), True
    except AlreadyExists:
        raced = admin.find_by_email(fields.email)
        if raced is None:
            raise
        return raced, False


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
            never left without one by mistake), or demoting the last admin.
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
    role = Role(changes["role"]) if "role" in changes else None
    snap = store.get_all([user_path(company_id, uid)])[0]
    if snap.data is None:
        raise NotFound("No such staff member.")
    if own and role is not None and role.value != snap.data.get("role"):
        raise Refused("Admins cannot change their own role; ask another admin.")
    has_claims = snap.data.get("status") != UserStatus.PENDING.value  # pending: none yet
    if role is Role.ADMIN and has_claims:
        _set_role(admin, company_id, uid, role)  # a promotion: the token first
    changes |= {"updated_at": now, "updated_by": staff.uid}
    stored = store.run_transaction(lambda tx: _update_profile(tx, company_id, uid, changes))
    if role is not None and role is not Role.ADMIN and has_claims:
        _set_role(admin, company_id, uid, role)  # a demotion: once the profile allows it
    log.info("user %s of %s updated (%s) by %s", uid, company_id, ", ".join(body), staff.uid)
    return _view(stored)


def _update_profile(tx: Transaction, company_id: str, uid: str, changes: Data) -> Data:
    """Write the changes unless they demote the company's last admin: the admins are read
    in the transaction, so two admins demoting each other at once cannot both pass."""
    current = tx.get(user_path(company_id, uid))
    if current.data is None:
        raise NotFound("No such staff member.")
    if current.data.get("role") == Role.ADMIN.value and takes_admin_away(current.data, changes):
        _refuse_last_admin(tx, company_id, uid)
    tx.write(Write(current.path, changes, "update"))
    return current.data | changes


def _refuse_last_admin(tx: Transaction, company_id: str, uid: str) -> None:
    admins = tx.query(
        f"companies/{company_id}/users", [Filter("role", "==", Role.ADMIN.value)], limit=50
    )
    if not other_admins([s.data for s in admins if s.data is not None], uid):
        raise Refused("This is the company's last admin; make someone else admin first.")


def _set_role(admin: UserAdmin, company_id: str, uid: str, role: Role) -> None:
    """The account's claims to ``role`` (nothing if they say it already: a retried
    request whose profile was written completes the change)."""
    account = admin.get(uid)
    if account is None or account.company_id != company_id:
        raise Refused("That staff member has no sign-in account in this company any more.")
    if account.claims.get("role") == role.value:
        return
    admin.set_claims(uid, claims_for(account, company_id, role))
    # Tokens minted with the old role would keep it for up to an hour: the member signs
    # in again and gets the new claims.
    admin.revoke_tokens(uid)


def remove_user(
    store: DocumentStore, admin: UserAdmin, staff: StaffIdentity, company_id: str, uid: str
) -> None:
    """Take someone off the company: their profile is marked ``removing`` (in a
    transaction that refuses to take away the last admin), their claims go and their
    tokens are revoked (refused at once where revocation is checked, see
    ``check_revoked_tokens``; elsewhere they last until they expire, at most an hour),
    then their profile. A retry after a failure part-way finishes the removal.

    Raises:
        PermissionDenied: Another company, or not an admin.
        NotFound: No such staff member.
        Refused: Removing oneself, or the last admin.
    """
    authorize(staff, Scope(company_id), Role.ADMIN)
    if uid == staff.uid:
        raise Refused("Admins cannot remove themselves; ask another admin.")
    path = user_path(company_id, uid)
    removing = {"status": UserStatus.REMOVING.value}
    store.run_transaction(lambda tx: _update_profile(tx, company_id, uid, removing))
    account = admin.get(uid)
    if account is not None and account.company_id == company_id:
        admin.set_claims(uid, claims_without_company(account))
        admin.revoke_tokens(uid)
    store.commit([Write(path, {}, "delete")])
    log.info("user %s removed from %s by %s", uid, company_id, staff.uid)


def accept_invitation(
    store: DocumentStore, admin: UserAdmin, now: datetime, caller: SignedIn, company_id: str
) -> Data:
    """A pending invitee's first sign-in: once they have proved the address, their account
    gets the company's claims (in their ID token from its next refresh) and the profile
    becomes active.

    Raises:
        NotFound: No pending invitation for this account in the company.
        PermissionDenied: The address is not proved yet (the message says what to do).
        Refused: The account is on another company's team.
    """
    snap = store.get_all([user_path(company_id, caller.uid)])[0]
    account = admin.get(caller.uid) if snap.data is not None else None
    check_acceptance(snap.data, account, caller, company_id)
    assert snap.data is not None and account is not None  # checked just above
    role = Role(str(snap.data.get("role") or Role.USER.value))
    admin.set_claims(caller.uid, claims_for(account, company_id, role))
    changes = {"last_login_at": now, "status": UserStatus.ACTIVE.value, "updated_at": now}
    store.commit([Write(snap.path, changes, "update")])
    log.info("user %s took up the invitation to %s as %s", caller.uid, company_id, role)
    return _view(snap.data | changes)


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
