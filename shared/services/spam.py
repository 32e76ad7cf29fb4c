"""Submissions intake kept apart as spam, for staff: a visitor who filled the form faster
than ``min_submit_seconds`` (or whose browser filled the honeypot) was told "thanks" and
set apart. Managers list them (``staff_api`` ``spam_submissions``) and release a false
positive: it becomes the lead intake would have made of it, through the same writes
(``shared.services.intake.submission_writes``): merged into the lead of the same address
if there is one, with the consent evidence as the visitor sent it (their address and
time), and a form interaction, so the lead's and the form's triggers (scoring,
workflows) run as for any submission. One transaction reads the record and writes the
lead and the record's ``released`` status: releasing again answers the first release.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import ValidationError

from shared.domain.company import Company, company_path
from shared.domain.identity import Role, StaffIdentity
from shared.domain.leads import LeadSubmission, SpamStatus, lead_id_for, lead_path, spam_path
from shared.errors import InvalidInput, NotFound
from shared.ports import Data, DocumentStore, Snapshot, Transaction, Write
from shared.services.intake import submission_writes

log = logging.getLogger("growthkit.intake")


def release_spam(
    store: DocumentStore, now: datetime, staff: StaffIdentity, company_id: str, spam_id: str
) -> Data:
    """Make the submission ``spam_id`` kept apart as spam into a lead, once.

    Returns:
        The spam record as it is after: ``released``, with the lead, who and when (those
        of the first release, when it was released already).

    Raises:
        PermissionDenied: Another company, or a role below manager.
        NotFound: No such record (or company).
        InvalidInput: A record whose submission no longer reads as a form post.
    """
    staff.require_company(company_id)
    staff.require_role(Role.MANAGER)
    return store.run_transaction(lambda tx: _release(tx, now, staff, company_id, spam_id))


def _release(
    tx: Transaction, now: datetime, staff: StaffIdentity, company_id: str, spam_id: str
) -> Data:
    spam = tx.get(spam_path(company_id, spam_id))
    if spam.data is None:
        raise NotFound("No such spam_submissions item.")
    if spam.data.get("status") == SpamStatus.RELEASED.value:
        return spam.data  # a second press, or a retry: the first release stands
    sub = _submission(spam.data)
    lead_id = lead_id_for(sub.email)
    company, lead = tx.get_all([company_path(company_id), lead_path(company_id, lead_id)])
    sent_at = spam.data.get("created_at")
    writes = submission_writes(
        _company(company, company_id),
        lead,
        sub,
        str(spam.data.get("ip") or ""),
        now,
        spam_id,  # the id the submission's interaction would have had
        sent_at if isinstance(sent_at, datetime) else None,
        {"released_from_spam": spam_id, "released_by": staff.uid},
    )
    released = {"status": SpamStatus.RELEASED.value, "lead_id": lead_id, "updated_at": now}
    released |= {"released_at": now, "released_by": staff.uid}
    for write in [*writes, Write(spam.path, released, "update")]:
        tx.write(write)
    log.info("spam submission %s of %s released into lead %s", spam_id, company_id, lead_id)
    return spam.data | released


def _submission(record: Data) -> LeadSubmission:
    """The form post the record kept (as intake validated it then)."""
    try:
        return LeadSubmission.model_validate(record.get("submission") or {})
    except ValidationError as err:
        fields = {".".join(map(str, e["loc"])): e["msg"] for e in err.errors()}
        raise InvalidInput(
            "This submission no longer reads as a form post; it cannot be released.",
            {"fields": fields},
        ) from err


def _company(snap: Snapshot, company_id: str) -> Company:
    if snap.data is None:
        raise NotFound("No such company.")
    return Company.model_validate({**snap.data, "id": company_id})
