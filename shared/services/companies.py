"""Companies as an operator sets them up: create one with its form key and first admin,
list them, rotate a form key.

Creating a company touches two systems that share no transaction: Firebase Auth (the
admin's account and claims) and Firestore (the company, its form key and the admin's
profile). Everything is validated before either is touched; Auth goes first, then the
three documents in one commit with create preconditions, and if that commit fails the
account is put back as it was (deleted if this call made it), so a refused or failed
creation leaves nothing behind.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from msgspec import Struct

from shared.domain.company import Company, company_path, new_form_key, rotated_form_keys
from shared.domain.company_setup import CompanySetup
from shared.domain.identity import Role
from shared.domain.users import AuthAccount, CompanyUser, UserStatus, claims_for, user_path
from shared.errors import AlreadyExists, InvalidInput, NotFound, Refused
from shared.ports import Data, DocumentStore, PagedStore, Transaction, Write
from shared.services.users import UserAdmin

log = logging.getLogger("growthkit.companies")
# Who the audit fields name for what an operator command wrote.
OPERATOR = "operator"
PAGE = 100


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
    """The company (only the settings given, and new leads e-mailed to staff: other
    defaults stay the code's) and its admin's profile, each created only if absent."""
    settings: dict[str, object] = {"time_zone": setup.time_zone, "notify_new_leads": True}
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


class CompanySummary(Struct, frozen=True):
    id: str
    name: str
    created_at: datetime | None
    staff: int


def list_companies(store: PagedStore) -> Iterator[CompanySummary]:
    """Every company in id order, with its staff count, a page at a time."""
    after: str | None = None
    while True:
        page = store.page("", "companies", after, PAGE)
        for snap in page:
            data = snap.data or {}
            company_id = snap.path.rsplit("/", 1)[1]
            staff = store.count(f"{snap.path}/users")
            yield CompanySummary(company_id, str(data.get("name", "")), _time(data), staff)
        if len(page) < PAGE:
            return
        after = page[-1].path


def _time(data: Data) -> datetime | None:
    created: Any = data.get("created_at")
    return created if isinstance(created, datetime) else None


def rotate_form_key(
    store: DocumentStore, now: datetime, company_id: str, grace: timedelta
) -> tuple[str, datetime | None]:
    """Give the company a new form key; the current one keeps working for ``grace``.

    Returns:
        The new key, and until when the previous one is accepted (None: not at all).

    Raises:
        NotFound: No such company. InvalidInput: a grace out of range.
    """

    def run(tx: Transaction) -> tuple[str, datetime | None]:
        snap = tx.get(company_path(company_id))
        if snap.data is None:
            raise NotFound(f"No company {company_id}.")
        company = Company.model_validate({**snap.data, "id": company_id})
        try:
            fields = rotated_form_keys(company, now, grace)
        except ValueError as err:
            raise InvalidInput(f"--grace-days: {err}") from err
        tx.write(Write(snap.path, {**fields, "updated_at": now, "updated_by": OPERATOR}, "update"))
        kept = now + grace if company.public_form_key and grace else None
        return str(fields["public_form_key"]), kept

    key, kept = store.run_transaction(run)
    log.info("form key of %s rotated; the previous one accepted until %s", company_id, kept)
    return key, kept
