"""Who may get which message: the one rule every sender asks, and the lawful basis staff
may record instead of consent.

Marketing (campaigns, workflow e-mail and texts) goes only to a person with consent on
record (``consent.given``: they ticked the box, kept with its evidence) or, for e-mail,
a lawful basis staff recorded on their lead or contact (``lawful_basis``: which, by whom
and when; a basis without who and when counts for nothing). A marketing text needs the
person's own consent: carriers and US law (the TCPA) ask for express consent to texts.
Transactional messages (a review request about a purchase) are asked for as such and
skip that; nobody who asked not to be contacted (``do_not_contact``) gets either.
Opt-outs by address (suppressions) are checked at each send by
``shared.campaigns.services.policy``, which asks this rule too.
"""

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from shared.domain.identity import Role, StaffIdentity

MessageKind = Literal["marketing", "transactional"]
DO_NOT_CONTACT = "asked not to be contacted"
NO_CONSENT = "no marketing consent on record"
NO_TEXT_CONSENT = "no consent to marketing texts on record"


class LawfulBasis(StrEnum):
    """What staff may record instead of consent, for marketing e-mail."""

    LEGITIMATE_INTEREST = "legitimate_interest"
    # The "soft opt-in": a customer, about products like the ones they bought.
    EXISTING_CUSTOMER = "existing_customer"


def lawful_basis_record(basis: str, by: str, at: datetime) -> dict[str, Any]:
    """The record of ``by`` setting ``basis`` at ``at``, as a lead or contact keeps it
    (ValueError: not a basis)."""
    return {"basis": LawfulBasis(basis).value, "set_by": by, "set_at": at}


def recorded_basis(staff: StaffIdentity, data: Mapping[str, Any]) -> dict[str, Any]:
    """A lawful basis a staff write sets, as the record of ``staff`` setting it at the
    write's ``updated_at``. Marketing without consent is a decision a manager or admin
    takes and answers for. Only a value the write's fields model read (a ``LawfulBasis``)
    is one being set: a stored one reads back as a record, or as plain text when written
    around the API, and is left as it is (no one is made its author by another edit).

    Raises:
        PermissionDenied: a user (the role) sets one.
    """
    basis = data.get("lawful_basis")
    if not isinstance(basis, LawfulBasis):
        return {}
    staff.require_role(Role.MANAGER)
    return {"lawful_basis": lawful_basis_record(basis, staff.uid, data["updated_at"])}


def send_refusal(
    person: Mapping[str, Any], kind: MessageKind, channel: Literal["email", "sms"]
) -> str | None:
    """Why a message of ``kind`` may not go to ``person`` (a lead or an outreach contact,
    as stored) on ``channel``; None when it may."""
    if person.get("do_not_contact"):
        return DO_NOT_CONTACT
    if kind == "transactional" or _consented(person.get("consent")):
        return None
    if channel == "sms":
        return NO_TEXT_CONSENT
    return None if _recorded_basis(person.get("lawful_basis")) else NO_CONSENT


def _consented(consent: Any) -> bool:
    return isinstance(consent, Mapping) and consent.get("given") is True


def _recorded_basis(record: Any) -> bool:
    """A basis staff recorded: a known one, with who and when (a bare value written
    around the staff API is not a record of anyone's decision)."""
    if not isinstance(record, Mapping):
        return False
    known = record.get("basis") in tuple(LawfulBasis)
    who, when = record.get("set_by"), record.get("set_at")
    return known and isinstance(who, str) and bool(who) and isinstance(when, datetime)
