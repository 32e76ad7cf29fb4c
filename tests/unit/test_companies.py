"""Setting up companies, pure: the operator's input checks, form-key rotation, and
``create_company``'s all-or-nothing on in-memory ports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.domain.company import Company, RetiredFormKey, rotated_form_keys
from shared.domain.company_setup import canonical_origin, company_setup
from shared.errors import AlreadyExists, Contention, InvalidInput
from shared.services.companies import create_company
from tests.fakes import FakeStore, FakeUserAdmin

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://www.acme.example", "https://www.acme.example"),
        ("HTTPS://WWW.Acme.Example:443", "https://www.acme.example"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
        ("https://[::1]:8443", "https://[::1]:8443"),
    ],
)
def test_origins_are_stored_as_browsers_send_them(given: str, stored: str) -> None:
    assert stored == canonical_origin(given)


@pytest.mark.parametrize(
    "bad",
    [
        "https://acme.example/",
        "https://acme.example/form",
        "https://acme.example?x=1",
        "https://acme.example#top",
        "https://user@acme.example",
        "https://acme.example:99999",
        "ftp://acme.example",
        "acme.example",
        "https://",
        "https://acme .example",
        "https://[::1",
    ],
)
def test_anything_but_scheme_host_and_port_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        canonical_origin(bad)


def test_setup_checks_every_field_with_one_line_naming_it() -> None:
    good = {"id": "acme-2", "name": " Acme ", "admin_email": "a@acme.example"}
    setup = company_setup(**good, origins=["https://ACME.example"], time_zone="Asia/Tokyo")
    assert ("Acme", ["https://acme.example"], "Asia/Tokyo") == (
        setup.name,
        setup.origins,
        setup.time_zone,
    )
    for field, value, label in [
        ("id", "-acme", "company id"),
        ("id", "a", "company id"),
        ("id", "ACME", "company id"),
        ("name", "", "--name"),
        ("admin_email", "a@", "--admin-email"),
        ("time_zone", "Europe/Nowhere", "--timezone"),
        ("postal_address", "x" * 501, "--postal-address"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            company_setup(**{**good, field: value})
        assert caught.value.message.startswith(f"{label} ") and "\n" not in caught.value.message


def test_rotation_retires_the_key_for_the_grace_and_drops_expired_ones() -> None:
    expired = RetiredFormKey(key="acme.old", valid_until=NOW - timedelta(seconds=1))
    company = Company(id="acme", public_form_key="acme.current", retired_form_keys=[expired])
    fields = rotated_form_keys(company, NOW, timedelta(days=7))
    rotated = Company.model_validate({**company.model_dump(), **fields})
    assert rotated.public_form_key.startswith("acme.") and rotated.public_form_key != "acme.current"
    assert ["acme.current"] == [r.key for r in rotated.retired_form_keys]
    assert rotated.form_key_matches("acme.current", NOW + timedelta(days=7, seconds=-1))
    assert not rotated.form_key_matches("acme.current", NOW + timedelta(days=7))
    assert not rotated.form_key_matches("acme.old", NOW - timedelta(days=1))
    assert [] == rotated_form_keys(company, NOW, timedelta(0))["retired_form_keys"]
    for grace in (timedelta(seconds=-1), timedelta(days=91)):
        with pytest.raises(ValueError):
            rotated_form_keys(company, NOW, grace)


class FailingCommitStore(FakeStore):
    def commit(self, writes: Any) -> None:
        raise Contention("the database went away")


def test_create_is_all_or_nothing_on_in_memory_ports() -> None:
    """A fixed form key (a demo page's) is kept; a failed commit deletes the account this
    call made; a key of another company is refused before anything is touched."""
    store, admin = FakeStore(), FakeUserAdmin()
    setup = company_setup(id="demo", name="Demo", admin_email="admin@demo.example")
    made = create_company(store, admin, NOW, setup, form_key="demo.local-form-key")
    assert ("demo.local-form-key", {"company_id": "demo", "role": "admin"}) == (
        store.docs["companies/demo"][0]["public_form_key"],
        admin.accounts[made.admin_uid].claims,
    )
    with pytest.raises(AlreadyExists):
        create_company(store, admin, NOW, setup)
    other = company_setup(id="other", name="Other", admin_email="x@other.example")
    with pytest.raises(Contention):
        create_company(FailingCommitStore(), admin, NOW, other)
    assert admin.find_by_email("x@other.example") is None
    with pytest.raises(InvalidInput):
        create_company(FakeStore(), admin, NOW, other, form_key="demo.stolen")
    assert 1 == len(admin.accounts)
