"""Lead intake rules and service, against in-memory fakes."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain.intake import MAX_LEAD_CUSTOM_FIELDS
from shared.domain.leads import (
    MAX_CUSTOM_FIELDS,
    LeadSubmission,
    lead_id_for,
    submission_from_form,
)
from shared.errors import NotFound, PermissionDenied, RateLimited
from shared.services.intake import intake_lead
from tests.fakes import FakeClock, FakeStore

KEY = "acme.secret"
ORIGIN = "https://acme.example"


@pytest.fixture
def store() -> FakeStore:
    s = FakeStore()
    s.docs["companies/acme"] = (
        {
            "name": "Acme",
            "public_form_key": KEY,
            "allowed_origins": [ORIGIN],
            "settings": {"min_submit_seconds": 2, "submissions_per_ip_per_hour": 3},
        },
        FakeClock().now(),
    )
    return s


def submit(
    store: FakeStore,
    clock: FakeClock | None = None,
    ip: str = "1.2.3.4",
    origin: str | None = ORIGIN,
    **fields: Any,
) -> Any:
    body = {"form_key": KEY, "email": "Jane@Example.com", "name": "Jane", **fields}
    sub = LeadSubmission.model_validate(submission_from_form(body, None))
    return intake_lead(store, clock or FakeClock(), sub, ip, origin)


def lead(store: FakeStore, email: str = "jane@example.com") -> dict[str, Any]:
    return store.docs[f"companies/acme/leads/{lead_id_for(email)}"][0]


def test_new_lead_is_created_with_an_interaction(store: FakeStore) -> None:
    """A first submission creates the lead and records the submission as an interaction."""
    result = submit(store, utm_source="google", consent="on", consent_text="Yes, email me")
    assert "created" == result.outcome
    stored = lead(store)
    assert "jane@example.com" == stored["email_normalized"]
    assert "google" == stored["first_touch"]["utm"]["source"]
    assert stored["consent"]["given"] and "1.2.3.4" == stored["consent"]["ip"]
    interactions = [p for p in store.docs if "/interactions/" in p]
    assert 1 == len(interactions)


def test_duplicate_merges_without_touching_consent_status_or_first_touch(store: FakeStore) -> None:
    """A second submission for the same (differently cased) e-mail merges into one lead."""
    submit(store, consent="on", utm_source="google")
    path = f"companies/acme/leads/{lead_id_for('jane@example.com')}"
    data, when = store.docs[path]
    store.docs[path] = ({**data, "status": "qualified"}, when)
    result = submit(store, email=" JANE@example.COM ", phone="555", consent="", utm_source="fb")
    stored = lead(store)
    assert ("merged", "qualified") == (result.outcome, stored["status"])
    assert (True, "google", "fb") == (
        stored["consent"]["given"],
        stored["first_touch"]["utm"]["source"],
        stored["last_touch"]["utm"]["source"],
    )
    assert ("555", 2) == (stored["phone"], stored["submission_count"])


@pytest.mark.parametrize("fields", [{"website": "http://spam"}, {"started_at": 1.7e12 * 2}])
def test_spam_is_kept_apart_and_creates_no_lead(store: FakeStore, fields: dict[str, Any]) -> None:
    """Honeypot or too-fast submissions are stored as spam, never as leads."""
    result = submit(store, **fields)
    assert "spam" == result.outcome
    assert not [p for p in store.docs if "/leads/" in p]
    assert 1 == len([p for p in store.docs if "/spam_submissions/" in p])


def test_rate_limit_per_ip(store: FakeStore) -> None:
    """The fourth submission from one IP in an hour is refused (limit 3)."""
    for i in range(3):
        submit(store, email=f"p{i}@example.com")
    with pytest.raises(RateLimited):
        submit(store, email="p4@example.com")
    submit(store, email="other@example.com", ip="5.6.7.8")


def test_unknown_key_and_foreign_origin_are_refused(store: FakeStore) -> None:
    """A wrong key is a 404 whatever company it names; other sites may not post."""
    with pytest.raises(NotFound):
        submit(store, form_key="acme.wrong")
    with pytest.raises(NotFound):
        submit(store, form_key="nobody.secret")
    with pytest.raises(PermissionDenied):
        submit(store, origin="https://evil.example")


def test_redirect_only_to_the_company_sites(store: FakeStore) -> None:
    """A thank-you redirect to the company's origin is kept; elsewhere it is dropped."""
    assert f"{ORIGIN}/thanks" == submit(store, redirect_url=f"{ORIGIN}/thanks").redirect_url
    assert None is submit(store, redirect_url="https://evil.example/x").redirect_url


def test_posts_fill_blank_custom_fields_up_to_a_bound(store: FakeStore) -> None:
    """Existing values stay; new names are added until the lead holds
    ``MAX_LEAD_CUSTOM_FIELDS``, so posts cannot grow a lead's document without end."""
    first = {f"f{i}": "x" for i in range(MAX_CUSTOM_FIELDS)}
    submit(store, custom_fields=first)
    for start in range(MAX_CUSTOM_FIELDS, 3 * MAX_CUSTOM_FIELDS, MAX_CUSTOM_FIELDS):
        more = {f"f{i}": "y" for i in range(start - 1, start + MAX_CUSTOM_FIELDS)}
        submit(store, custom_fields=dict(list(more.items())[:MAX_CUSTOM_FIELDS]))
    fields = lead(store)["custom_fields"]
    assert (MAX_LEAD_CUSTOM_FIELDS, "x") == (len(fields), fields[f"f{MAX_CUSTOM_FIELDS - 1}"])
