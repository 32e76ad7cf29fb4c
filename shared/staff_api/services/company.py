"""The company itself in the staff API: every member reads it, admins change it.

``settings`` is merged key by key into the stored settings (a PATCH of one setting keeps
the others); the form key and the subscription are not staff's to change.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import ValidationError

from shared.domain.company import Company, CompanySettings, CompanySettingsFields, company_path
from shared.domain.identity import Role, StaffIdentity
from shared.errors import InvalidInput, NotFound
from shared.ports import Data, DocumentStore, Transaction, Write
from shared.staff_api.domain.lists import Scope, refuse_fixed_fields
from shared.staff_api.domain.models import CompanyFields
from shared.staff_api.services.resources import AUDIT_FIELDS, authorize

log = logging.getLogger("growthkit.staff_api")
_STORED = frozenset(Company.model_fields) | AUDIT_FIELDS


def _view(company_id: str, data: Data) -> Data:
    return Company.model_validate({**data, "id": company_id}).model_dump(mode="json")


def _check_settings(settings: Data) -> None:
    """Unknown settings and bad values are a 400 before anything is read (each setting
    stands alone, so checking the sent ones is checking the merge)."""
    unknown = set(settings) - set(CompanySettings.model_fields)
    if unknown:
        fields = {f"settings.{k}": "unknown setting" for k in sorted(unknown)}
        raise InvalidInput("Some settings do not exist.", {"fields": fields})
    try:
        CompanySettingsFields.model_validate(settings)
    except ValidationError as err:
        fields = {f"settings.{'.'.join(map(str, e['loc']))}": e["msg"] for e in err.errors()}
        raise InvalidInput("Some settings are invalid.", {"fields": fields}) from err


def get_company(store: DocumentStore, staff: StaffIdentity, company_id: str) -> Data:
    """The caller's company.

    Raises:
        PermissionDenied: Another company.
        NotFound: The company has no document.
    """
    authorize(staff, Scope(company_id), Role.USER)
    snap = store.get_all([company_path(company_id)])[0]
    if snap.data is None:
        raise NotFound("No such company.")
    return _view(company_id, snap.data)


def update_company(
    store: DocumentStore, now: datetime, staff: StaffIdentity, company_id: str, body: Data
) -> Data:
    """Change the company's profile, allowed origins or settings.

    Raises:
        PermissionDenied: Another company, or not an admin.
        InvalidInput: An unknown or fixed field or setting, or a bad value.
        NotFound: The company has no document.
    """
    authorize(staff, Scope(company_id), Role.ADMIN)
    refuse_fixed_fields(body, frozenset(CompanyFields.model_fields), _STORED)
    sent = CompanyFields.model_validate(body)
    changes: Data = sent.model_dump(include=set(sent.model_fields_set))
    _check_settings(changes.get("settings", {}))

    def run(tx: Transaction) -> Data:
        snap = tx.get(company_path(company_id))
        if snap.data is None:
            raise NotFound("No such company.")
        update = dict(changes)
        if "settings" in update:
            merged = {**snap.data.get("settings", {}), **update["settings"]}
            update["settings"] = CompanySettings.model_validate(merged).model_dump()
        update |= {"updated_at": now, "updated_by": staff.uid}
        tx.write(Write(snap.path, update, "update"))
        return snap.data | update

    data = store.run_transaction(run)
    log.info("company %s updated (%s) by %s", company_id, ", ".join(sorted(body)), staff.uid)
    return _view(company_id, data)
