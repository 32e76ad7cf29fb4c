"""The one rule of who may get which message (``shared.domain.consent.send_refusal``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.domain.consent import (
    DO_NOT_CONTACT,
    NO_CONSENT,
    NO_TEXT_CONSENT,
    LawfulBasis,
    recorded_basis,
    send_refusal,
)
from shared.domain.identity import Role, StaffIdentity
from shared.errors import PermissionDenied

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
CONSENTED = {"consent": {"given": True, "text": "Yes, e-mail me"}}
BASIS = {"lawful_basis": {"basis": "legitimate_interest", "set_by": "u-manager", "set_at": T0}}


@pytest.mark.parametrize(
    ("person", "email", "sms"),
    [
        ({}, NO_CONSENT, NO_TEXT_CONSENT),
        ({"consent": {"given": False}}, NO_CONSENT, NO_TEXT_CONSENT),
        ({"consent": {"given": "yes"}}, NO_CONSENT, NO_TEXT_CONSENT),
        (CONSENTED, None, None),
        (BASIS, None, NO_TEXT_CONSENT),
        ({"lawful_basis": "legitimate_interest"}, NO_CONSENT, NO_TEXT_CONSENT),
        ({"lawful_basis": {**BASIS["lawful_basis"], "set_by": ""}}, NO_CONSENT, NO_TEXT_CONSENT),
        ({"lawful_basis": {**BASIS["lawful_basis"], "set_at": None}}, NO_CONSENT, NO_TEXT_CONSENT),
        (
            {"lawful_basis": {**BASIS["lawful_basis"], "basis": "because"}},
            NO_CONSENT,
            NO_TEXT_CONSENT,
        ),
        ({**CONSENTED, **BASIS, "do_not_contact": True}, DO_NOT_CONTACT, DO_NOT_CONTACT),
    ],
)
def test_marketing_needs_consent_or_for_email_a_recorded_basis(
    person: dict[str, Any], email: str | None, sms: str | None
) -> None:
    assert (email, sms) == (
        send_refusal(person, "marketing", "email"),
        send_refusal(person, "marketing", "sms"),
    )


def test_transactional_messages_skip_consent_never_do_not_contact() -> None:
    assert None is send_refusal({}, "transactional", "email")
    assert DO_NOT_CONTACT == send_refusal({"do_not_contact": True}, "transactional", "email")


def test_a_basis_is_recorded_with_who_and_when_and_only_by_managers() -> None:
    manager, user = (StaffIdentity(f"u-{r}", "acme", r) for r in (Role.MANAGER, Role.USER))
    body = {"lawful_basis": LawfulBasis.EXISTING_CUSTOMER, "updated_at": T0}
    assert {
        "lawful_basis": {"basis": "existing_customer", "set_by": "u-manager", "set_at": T0}
    } == (recorded_basis(manager, body))
    assert {} == recorded_basis(user, {**BASIS, "updated_at": T0})  # stored: not set now
    # Text written around the API is not a record, and another edit does not make one.
    assert {} == recorded_basis(manager, {"lawful_basis": "existing_customer", "updated_at": T0})
    with pytest.raises(PermissionDenied):
        recorded_basis(user, body)
