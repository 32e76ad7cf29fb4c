"""Companies as an operator sets them up: create one with its form key and first admin.

Creating a company touches two systems that share no transaction: Firebase Auth (the
admin's account and claims) and Firestore (the company, its form key and the admin's
profile). Everything is validated before either is touched; Auth goes first, then the
three documents in one commit with create preconditions, and if that commit fails the
account is put back as it was (deleted if this call made it), so a refused or failed
creation leaves nothing behind.
"""

from __future__ import annotations

import logging
from datetime import datetime

from msgspec import Struct

from shared.domain.company import company_path, new_form_key
from shared.domain.company_setup import CompanySetup
from shared.domain.identity import Role
from shared.domain.users import AuthAccount, CompanyUser, UserStatus, claims_for, user_path
from shared.errors import AlreadyExists, InvalidInput, Refused
from shared.ports import DocumentStore, Write
from shared.services.users import UserAdmin

log = logging.getLogger("growthkit.companies")
# Who the audit fields name for what an operator command wrote.
OPERATOR = "operator"


class CreatedCompany(Struct, frozen=True):
    company_id: str
    name: str
    form_key: str
    admin_uid: str
    admin_email: str
    sign_in_link: str
    allowed_origins: list[str]
    time_zone: str


def create_company(
    store: DocumentStore,
    admin: UserAdmin,
    now: datetime,
    setup: CompanySetup,
    form_key: str | None = None,
) -> CreatedCompany:
    """Create a company, its first form key and its first admin (account, claims, profile
    and a link to choose a password).

    Args:
        store: Where the company and the profile are written.
        admin: Firebase Auth accounts.
        now: The creation time.
        setup: The validated input (``shared.domain.company_setup.company_setup``).
        form_key: A fixed form key (a demo page's); by default a new random one.

    Raises:
        AlreadyExists: The company id is taken. Refused: the e-mail is another company's
            staff. InvalidInput: a form key that is not the company's.
    """
    key = form_key or new_form_key(setup.id)
    if not key.startswith(f"{setup.id}."):
        raise InvalidInput(f"A form key of {setup.id} starts with '{setup.id}.'.")
    if store.get_all([company_path(setup.id)])[0].exists:
        raise AlreadyExists(f"Company {setup.id} exists already.")
    account, made = _admin_account(admin, setup)
    try:
        admin.set_claims(account.uid, claims_for(account, setup.id, Role.ADMIN))
        link = admin.sign_in_link(setup.admin_email)
        store.commit(_first_documents(setup, account, key, now))
    except BaseException:
        _undo(admin, account, made)
        raise
    log.info("company %s created with admin %s", setup.id, account.uid)
    return CreatedCompany(
        setup.id,
        setup.name,
        key,
        account.uid,
        setup.admin_email,
        link,
        setup.origins,
        setup.time_zone,
    )


def _admin_account(admin: UserAdmin, setup: CompanySetup) -> tuple[AuthAccount, bool]:
    """The e-mail's account (made if it has none), and whether this call made it."""
    found = admin.find_by_email(setup.admin_email)
    if found is None:
        return admin.create(setup.admin_email, None), True
    if found.company_id not in (None, setup.id):
        raise Refused(f"{setup.admin_email} is staff of company {found.company_id} already.")
    return found, False


def _undo(admin: UserAdmin, account: AuthAccount, made: bool) -> None:
    """Put the account back as it was before ``create_company`` touched it."""
    try:
        if made:
            admin.delete(account.uid)
        else:
            admin.set_claims(account.uid, dict(account.claims))
    except Exception:
        # The original failure is what the operator must see; this one is logged.
        log.error("could not undo the admin account %s; fix it by hand", account.uid, exc_info=True)
        return
    log.info("admin account %s put back as it was", account.uid)


def _first_documents(
    setup: CompanySetup, account: AuthAccount, key: str, now: datetime
) -> list[Write]:
    """The company (only the settings given: defaults stay the code's) and its admin's
    profile, each created only if absent."""
    settings = {"time_zone": setup.time_zone}
    if setup.postal_address:
        settings["postal_address"] = setup.postal_address
    company = {
        "id": setup.id,
        "name": setup.name,
        "public_form_key": key,
        "allowed_origins": list(setup.origins),
        "settings": settings,
        "created_at": now,
        "updated_at": now,
    }
    profile = CompanyUser(
        id=account.uid,
        company_id=setup.id,
        email=account.email or setup.admin_email.lower(),
        role=Role.ADMIN,
        timezone=setup.time_zone,
        status=UserStatus.INVITED,
        created_at=now,
        updated_at=now,
    ).model_dump()
    audit = {"created_by": OPERATOR, "updated_by": OPERATOR}
    return [
        Write(company_path(setup.id), company | audit, "create"),
        Write(user_path(setup.id, account.uid), profile | audit, "create"),
    ]
