"""Integrations, social connections and secrets against in-memory fakes: what is stored
is sealed, what is shown has no secret, and refreshing tokens marks refusals to be
reconnected and tokens nothing can renew expired once their time is up."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from shared.adapters.crypto import AesGcmCipher, parse_key
from shared.adapters.token_refresher import LocalTokenRefresher, OAuthTokenRefresher
from shared.domain.identity import Role, StaffIdentity
from shared.domain.secrets import SecretUnreadable
from shared.errors import AlreadyExists
from shared.services.integrations import (
    resource_specs,
    reveal_credentials,
    reveal_secret,
    reveal_tokens,
)
from shared.services.integrations_refresh import RefreshResult, refresh_company_tokens
from shared.staff_api.domain.lists import Scope
from shared.staff_api.services import writes
from shared.staff_api.services.resources import get_item
from tests.fakes import FailingTokenRefresher, FakeClock, FakeStore

KEY = "q4G1t0v2cVq3gZ8v8r0pQm3nW5x7y9zA1b3c5d7e9fA="
CIPHER = AesGcmCipher(parse_key(KEY))
ADMIN = StaffIdentity("a1", "acme", Role.ADMIN)
NOW = FakeClock().now()
SCOPE = Scope("acme")


def refresh_due_tokens(store: Any, cipher: Any, refresher: Any, now: Any) -> RefreshResult:
    """Acme's refresh task (each company's connections are refreshed by a task of its own)."""
    return refresh_company_tokens(store, cipher, refresher, now, "acme")[0]


def create(store: FakeStore, resource: str, body: dict[str, Any]) -> dict[str, Any]:
    spec = resource_specs(CIPHER)[resource]
    item, _ = writes.create_item(store, NOW, ADMIN, spec, SCOPE, body)
    return item


def connect(store: FakeStore, expires_in: timedelta, **body: Any) -> dict[str, Any]:
    tokens = {"access_token": "at-secret-1", "refresh_token": "rt-secret-1"}
    return create(
        store,
        "social_connections",
        {"platform": "linkedin", "platform_user_id": "u-9", "expires_at": NOW + expires_in}
        | tokens
        | body,
    )


def test_secrets_are_sealed_at_rest_and_absent_from_what_is_shown() -> None:
    """A secret, credentials and tokens are stored sealed (no plaintext in any document)
    and shown as flags; the services open them again."""
    store = FakeStore()
    secret = create(store, "secrets", {"name": "stripe", "value": "sk_live_42"})
    integration = create(
        store,
        "integrations",
        {
            "type": "crm",
            "provider": "hubspot",
            "display_name": "HubSpot",
            "configuration": {"portal": 7},
            "credentials": {"api_key": "hs-key-9"},
        },
    )
    connection = connect(store, timedelta(days=30))
    shown = repr([secret, integration, connection])
    stored = repr(store.docs)
    for plain in ("sk_live_42", "hs-key-9", "at-secret-1", "rt-secret-1"):
        assert (False, False) == (plain in shown, plain in stored)
    assert (True, True, True, ["api_key"]) == (
        secret["has_value"],
        integration["has_credentials"],
        connection["has_access_token"],
        integration["credential_names"],
    )
    assert ("sk_live_42", {"api_key": "hs-key-9"}, ("at-secret-1", "rt-secret-1")) == (
        reveal_secret(store, CIPHER, "acme", "stripe"),
        reveal_credentials(store, CIPHER, "acme", integration["id"]),
        reveal_tokens(store, CIPHER, "acme", "linkedin"),
    )


def test_a_sealed_value_copied_to_another_document_does_not_open() -> None:
    """Moving ciphertext between documents (or fields) is caught by the associated data."""
    store = FakeStore()
    create(store, "secrets", {"name": "a", "value": "one"})
    create(store, "secrets", {"name": "b", "value": "two"})
    docs = store.docs
    docs["companies/acme/secrets/b"][0]["value"] = docs["companies/acme/secrets/a"][0]["value"]
    with pytest.raises(SecretUnreadable):
        reveal_secret(store, CIPHER, "acme", "b")


def test_patching_other_fields_keeps_the_sealed_value() -> None:
    """A PATCH without the secret leaves it sealed as it was; one with it reseals."""
    store = FakeStore()
    spec = resource_specs(CIPHER)["secrets"]
    create(store, "secrets", {"name": "stripe", "value": "v1"})
    writes.update_item(store, NOW, ADMIN, spec, SCOPE, "stripe", {"description": "Billing"})
    assert "v1" == reveal_secret(store, CIPHER, "acme", "stripe")
    writes.update_item(store, NOW, ADMIN, spec, SCOPE, "stripe", {"value": "v2"})
    assert ("v2", "Billing") == (
        reveal_secret(store, CIPHER, "acme", "stripe"),
        get_item(store, ADMIN, spec, SCOPE, "stripe")["description"],
    )


def test_a_refused_refresh_asks_to_reconnect_with_the_reason_and_when() -> None:
    """Due within 30 minutes: refused -> reconnect with the reason and the time, tokens
    kept sealed; later ones are not asked for."""
    store = FakeStore()
    connect(store, timedelta(minutes=10))
    connect(store, timedelta(days=3), platform="twitter")
    refresher = FailingTokenRefresher()
    result = refresh_due_tokens(store, CIPHER, refresher, NOW)
    spec = resource_specs(CIPHER)["social_connections"]
    shown = get_item(store, ADMIN, spec, SCOPE, "linkedin")
    assert (1, 0, ["linkedin"], "reconnect", True, NOW) == (
        result.reconnect,
        result.expired,
        refresher.asked,
        shown["status"],
        "invalid_grant" in shown["error_message"],
        datetime.fromisoformat(shown["status_changed_at"]),
    )


@pytest.mark.parametrize(
    ("platform", "tokens"),
    [("facebook", {}), ("linkedin", {"refresh_token": None})],
)
def test_a_token_nothing_can_renew_expires_when_its_time_is_up(
    platform: str, tokens: dict[str, Any]
) -> None:
    """Facebook has no refresh grant, a connection may have no refresh token: while the
    token lasts the run leaves it active (nothing to ask); once its time is up it is
    expired, with when and why, and the platform is never called."""
    store = FakeStore()
    connect(store, timedelta(minutes=10), platform=platform, **tokens)
    refresher = OAuthTokenRefresher({})
    early = refresh_due_tokens(store, CIPHER, refresher, NOW)
    later = NOW + timedelta(minutes=11)
    late = refresh_due_tokens(store, CIPHER, refresher, later)
    spec = resource_specs(CIPHER)["social_connections"]
    shown = get_item(store, ADMIN, spec, SCOPE, platform)
    assert ((1, 0), (0, 1), "expired", later, later) == (
        (early.retry_later, early.expired),
        (late.retry_later, late.expired),
        shown["status"],
        datetime.fromisoformat(shown["status_changed_at"]),
        datetime.fromisoformat(shown["expired_at"]),
    )
    assert f"Reconnect the {platform} account" in shown["error_message"]


def test_a_refresh_stores_new_sealed_tokens_and_reconnecting_clears_expiry() -> None:
    """The local refresher's new token replaces the old one; an expired connection is
    active again once staff send new tokens."""
    store = FakeStore()
    connect(store, timedelta(minutes=5))
    result = refresh_due_tokens(store, CIPHER, LocalTokenRefresher(), NOW)
    access, refresh = reveal_tokens(store, CIPHER, "acme", "linkedin")
    assert (1, True, "rt-secret-1") == (result.refreshed, access.startswith("local-"), refresh)
    spec = resource_specs(CIPHER)["social_connections"]
    store.docs["companies/acme/social_connections/linkedin"][0]["status"] = "expired"
    body = {"access_token": "at-new", "expires_at": NOW + timedelta(days=60)}
    shown = writes.update_item(store, NOW, ADMIN, spec, SCOPE, "linkedin", body)
    assert ("active", None) == (shown["status"], shown["error_message"])


def test_transient_failures_wait_and_unreadable_tokens_fail_the_run_loudly() -> None:
    """A provider timeout leaves the connection active; tokens sealed under another key
    are left untouched and the run raises naming them, after the others ran."""
    store = FakeStore()
    connect(store, timedelta(minutes=5))
    result = refresh_due_tokens(store, CIPHER, FailingTokenRefresher(transient=True), NOW)
    assert (1, "active") == (
        result.retry_later,
        store.docs["companies/acme/social_connections/linkedin"][0]["status"],
    )
    other = AesGcmCipher(parse_key("A" * 43 + "="))
    before = dict(store.docs["companies/acme/social_connections/linkedin"][0])
    with pytest.raises(SecretUnreadable, match="social_connections/linkedin"):
        refresh_due_tokens(store, other, LocalTokenRefresher(), NOW)
    assert before == store.docs["companies/acme/social_connections/linkedin"][0]


def test_one_connection_per_platform() -> None:
    """The platform is the id: connecting it again is a conflict."""
    store = FakeStore()
    connect(store, timedelta(days=1))
    with pytest.raises(AlreadyExists, match="exists already"):
        connect(store, timedelta(days=1))
