"""Staff accounts against in-memory fakes: invites, roles and removal set the claims."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from shared.domain.identity import Role, StaffIdentity
from shared.errors import InvalidInput, NotFound, PermissionDenied, Refused
from shared.services import users
from tests.fakes import FakeMessenger, FakeStore, FakeUserAdmin

T0 = datetime(2026, 11, 1, tzinfo=UTC)
ADMIN = StaffIdentity("a1", "acme", Role.ADMIN)


def invite(store: FakeStore, admin: FakeUserAdmin, email: str, role: str = "user") -> str:
    member, _ = users.invite_user(
        store, admin, FakeMessenger(), T0, ADMIN, "acme", {"email": email, "role": role}
    )
    return str(member["id"])


def test_invite_is_idempotent_by_email() -> None:
    """The second invite of an address returns the same member, leaves the role, and
    mails the sign-in link under the same key (the messenger sends it once)."""
    store, admin, mail = FakeStore(), FakeUserAdmin(), FakeMessenger()
    store.docs["companies/acme"] = ({"name": "Acme Plumbing"}, T0)
    body = {"email": "Jo@Acme.example", "role": "manager"}
    first, made = users.invite_user(store, admin, mail, T0, ADMIN, "acme", body)
    again, made_again = users.invite_user(
        store, admin, mail, T0, ADMIN, "acme", body | {"role": "user"}
    )
    assert (True, False, first["id"]) == (made, made_again, again["id"])
    assert {"company_id": "acme", "role": "manager"} == admin.accounts[first["id"]].claims
    (message,) = mail.sent.values()
    assert ("jo@acme.example", "You're invited to Acme Plumbing on growthkit") == (
        message.to,
        message.subject,
    )
    assert "https://auth.example/reset?email=jo@acme.example" in message.body


def test_another_companys_staff_are_answered_as_any_unproven_address() -> None:
    """Inviting another company's staff member answers as for an address someone signed
    up with: a pending invitation, no claims moved, nothing said of globex."""
    store, admin = FakeStore(), FakeUserAdmin()
    globex = StaffIdentity("g1", "globex", Role.ADMIN)
    users.invite_user(store, admin, FakeMessenger(), T0, globex, "globex", {"email": "k@x.example"})
    admin.create("signed.up@x.example", None)
    answers = [
        users.invite_user(store, admin, FakeMessenger(), T0, ADMIN, "acme", {"email": email})
        for email in ("k@x.example", "signed.up@x.example")
    ]
    assert [("pending", True)] * 2 == [(m["status"], made) for m, made in answers]
    assert ["globex", None] == [a.company_id for a in admin.accounts.values()]


@pytest.mark.parametrize(
    "body", [{}, {"email": "x@y.example", "status": "active"}, {"email": "x@y.example", "x": 1}]
)
def test_invites_need_an_email_and_known_fields(body: dict[str, str]) -> None:
    """No e-mail, a system field or an unknown one: 400 and no account."""
    admin = FakeUserAdmin()
    with pytest.raises(InvalidInput):
        users.invite_user(FakeStore(), admin, FakeMessenger(), T0, ADMIN, "acme", body)
    assert {} == admin.accounts


def test_only_admins_change_roles_and_not_their_own() -> None:
    """A manager may edit their profile but not their role; an admin not their own."""
    store, admin = FakeStore(), FakeUserAdmin()
    uid = invite(store, admin, "m@acme.example", "manager")
    manager = StaffIdentity(uid, "acme", Role.MANAGER)
    users.update_user(store, admin, T0, manager, "acme", uid, {"name": "Mo"})
    with pytest.raises(PermissionDenied):
        users.update_user(store, admin, T0, manager, "acme", uid, {"role": "admin"})
    own = invite(store, admin, "a@acme.example", "admin")
    with pytest.raises(Refused):
        users.update_user(
            store, admin, T0, StaffIdentity(own, "acme", Role.ADMIN), "acme", own, {"role": "user"}
        )
    users.update_user(store, admin, T0, ADMIN, "acme", uid, {"role": "admin"})
    assert "admin" == admin.accounts[uid].claims["role"]


def test_removal_keeps_other_claims_and_refuses_oneself() -> None:
    """Removing drops company_id and role only; an admin cannot remove themselves."""
    store, admin = FakeStore(), FakeUserAdmin()
    uid = invite(store, admin, "r@acme.example")
    admin.set_claims(uid, admin.accounts[uid].claims | {"beta": True})
    users.remove_user(store, admin, ADMIN, "acme", uid)
    assert {"beta": True} == admin.accounts[uid].claims
    with pytest.raises(NotFound):
        users.remove_user(store, admin, ADMIN, "acme", uid)
    with pytest.raises(Refused):
        users.remove_user(store, admin, ADMIN, "acme", "a1")


def test_claims_only_for_accounts_whose_owner_holds_the_address() -> None:
    """Claims at once for an account the invitation made, one of this company, or one
    verified and on no team; any other invitation waits for its owner."""
    from shared.domain.users import AuthAccount, UserStatus, invitation_status

    verified = AuthAccount("u", "a@x.example", email_verified=True)
    elsewhere = AuthAccount("u", "a@x.example", {"company_id": "globex"}, email_verified=True)
    ours = AuthAccount("u", "a@x.example", {"company_id": "acme"})
    cases = [
        (AuthAccount("u", "a@x.example"), True),
        (ours, False),
        (verified, False),
        (AuthAccount("u", "a@x.example"), False),
        (elsewhere, False),
    ]
    assert [UserStatus.INVITED] * 3 + [UserStatus.PENDING] * 2 == [
        invitation_status(account, made, "acme") for account, made in cases
    ]


def test_a_pending_invitation_is_taken_up_only_with_the_address_proved() -> None:
    """Verified address, the invitation's, a password set in a later second than the
    invitation and a token from after it; each missing piece is a 403."""
    from datetime import timedelta

    from shared.domain.identity import SignedIn
    from shared.domain.users import AuthAccount, check_acceptance

    reset = T0 + timedelta(seconds=5)
    profile = {"status": "pending", "email": "vi@x.example", "created_at": T0}
    account = AuthAccount("u", "vi@x.example", tokens_valid_after=reset, email_verified=True)
    good = SignedIn("u", "Vi@x.example", True, reset)
    check_acceptance(profile, account, good, "acme")
    refused = [
        SignedIn("u", "vi@x.example", False, reset),  # not verified
        SignedIn("u", "other@x.example", True, reset),  # another address
        SignedIn("u", "vi@x.example", True, reset - timedelta(seconds=1)),  # older token
    ]
    for caller in refused:
        with pytest.raises(PermissionDenied):
            check_acceptance(profile, account, caller, "acme")
    same_second = AuthAccount("u", "vi@x.example", tokens_valid_after=T0, email_verified=True)
    with pytest.raises(PermissionDenied):  # a password from before (or at) the invitation
        check_acceptance(profile, same_second, SignedIn("u", "vi@x.example", True, T0), "acme")
    with pytest.raises(NotFound):
        check_acceptance(profile | {"status": "active"}, account, good, "acme")


def test_what_takes_an_admin_away_and_who_still_holds_the_role() -> None:
    """A demotion or the start of a removal takes an admin away (a removal resumed does
    not again); pending and departing admins do not count as the others."""
    from shared.domain.users import other_admins, takes_admin_away

    admin = {"id": "a1", "role": "admin", "status": "active"}
    assert [True, True, False, False] == [
        takes_admin_away(admin, {"role": "manager"}),
        takes_admin_away(admin, {"status": "removing"}),
        takes_admin_away(admin | {"status": "removing"}, {"status": "removing"}),
        takes_admin_away(admin, {"name": "Al", "role": "admin"}),
    ]
    staff = [admin, {"id": "a2", "status": "pending"}, {"id": "a3", "status": "removing"}]
    assert ([], ["a1"]) == (other_admins(staff, "a1"), other_admins(staff, "a9"))


def test_the_last_admin_is_neither_demoted_nor_removed() -> None:
    """With one admin left, demoting or removing them is refused (409) and changes
    nothing; with two, one may go."""
    store, admin = FakeStore(), FakeUserAdmin()
    other = StaffIdentity("a2", "acme", Role.ADMIN)
    for uid in ("a1", "a2"):
        account = admin.create(f"{uid}@acme.example", None)
        admin.accounts[uid] = msgspec.structs.replace(account, uid=uid)
        admin.set_claims(uid, {"company_id": "acme", "role": "admin"})
        profile = {"id": uid, "company_id": "acme", "email": f"{uid}@acme.example"}
        store.docs[f"companies/acme/users/{uid}"] = (profile | {"role": "admin"}, T0)
    users.update_user(store, admin, T0, other, "acme", "a1", {"role": "user"})
    with pytest.raises(Refused):
        users.update_user(store, admin, T0, ADMIN, "acme", "a2", {"role": "manager"})
    with pytest.raises(Refused):
        users.remove_user(store, admin, ADMIN, "acme", "a2")
    assert ("admin", "user") == (
        admin.accounts["a2"].claims["role"],
        admin.accounts["a1"].claims["role"],
    )
