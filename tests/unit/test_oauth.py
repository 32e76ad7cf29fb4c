"""Connecting accounts by OAuth, against in-memory fakes: PKCE as RFC 7636 computes it,
states that name their company and are honoured once and in time, authorization URLs as
each platform documents them, and what is stored of a connected account."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.adapters.crypto import AesGcmCipher, parse_key
from shared.domain.identity import Role, StaffIdentity
from shared.domain.oauth import (
    LinkedAccount,
    OAuthApp,
    authorize_url,
    code_challenge,
    connection_target,
    new_state,
    new_verifier,
    state_ref,
)
from shared.errors import InvalidInput, PermissionDenied, Refused
from shared.services.social_connect import CodeGrant, finish, start
from tests.fakes import FakeClock, FakeStore

CIPHER = AesGcmCipher(parse_key("q4G1t0v2cVq3gZ8v8r0pQm3nW5x7y9zA1b3c5d7e9fA="))
NOW = FakeClock().now()
ADMIN = StaffIdentity("a1", "acme", Role.ADMIN)
CALLBACK = "https://fn.example/oauth_callback"
APPS = {
    "linkedin": OAuthApp(
        "linkedin", "li-app", "li-SECRET", "https://li.example/oauth/v2/authorization", "t"
    ),
    "facebook": OAuthApp("facebook", "fb-app", "fb-SECRET", "https://fb.example/dialog?v=1", "t"),
}


class Linker:
    """An ``AccountLinker`` that connects member m1, and remembers what it was given."""

    def __init__(self) -> None:
        self.grants: list[CodeGrant] = []

    def link(self, app: OAuthApp, grant: CodeGrant) -> LinkedAccount:
        self.grants.append(grant)
        expires = NOW + timedelta(days=60)
        return LinkedAccount("m1", "AT-1", "Ada", "RT-1", expires, author_urn="urn:li:person:m1")


def test_pkce_as_rfc_7636_computes_it() -> None:
    """Appendix B's example, and verifiers of 43 to 128 unreserved characters."""
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" == code_challenge(verifier)
    made = {new_verifier() for _ in range(20)}
    assert 20 == len(made)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43,128}", v) for v in made)


def test_a_state_names_its_company_and_a_record_only_its_token_finds() -> None:
    state, record = new_state("acme")
    assert ("acme", record) == state_ref(state)
    assert ("globex", record) == state_ref("globex" + state.removeprefix("acme"))
    forged = [state[:-1] + ("A" if state[-1] != "A" else "B"), "acme", "acme.short", "a/b." * 9]
    assert [False, None, None, None] == [
        state_ref(forged[0]) == ("acme", record),
        *(state_ref(f) for f in forged[1:]),
    ]


@pytest.mark.parametrize(
    ("given", "target"),
    [
        ("linkedin", ("linkedin", None)),
        ("x", ("twitter", None)),
        ("twitter-shop", ("twitter", "shop")),
        ("instagram", ("instagram", None)),
    ],
)
def test_connection_ids_oauth_connects(given: str, target: tuple[str, str | None]) -> None:
    assert target == connection_target(given)


@pytest.mark.parametrize("given", ["wordpress", "webhook", "linkedin-Shop", "linkedin-", "tiktok"])
def test_connections_oauth_does_not_make(given: str) -> None:
    with pytest.raises(ValueError, match="cannot be connected by OAuth"):
        connection_target(given)


def test_authorization_urls_as_each_platform_documents_them() -> None:
    """response_type=code, the client, the callback, S256; Facebook's scopes are
    comma-separated and its URL keeps the query it had."""
    url = authorize_url(APPS["facebook"], "instagram", "acme.s", "CH", CALLBACK)
    assert url.startswith("https://fb.example/dialog?v=1&")
    asked = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert asked == {
        "v": "1",
        "response_type": "code",
        "client_id": "fb-app",
        "redirect_uri": CALLBACK,
        "state": "acme.s",
        "scope": "pages_show_list,pages_read_engagement,instagram_basic,instagram_content_publish",
        "code_challenge": "CH",
        "code_challenge_method": "S256",
    }


def begin(store: FakeStore, connection: str = "linkedin", **body: Any) -> dict[str, str]:
    started = start(
        store,
        CIPHER,
        APPS,
        NOW,
        ADMIN,
        company_id="acme",
        connection_id=connection,
        body=body,
        redirect_uri=CALLBACK,
    )
    asked = {k: v[0] for k, v in parse_qs(urlsplit(started["authorize_url"]).query).items()}
    return {"state": started["state"], "challenge": asked["code_challenge"]}


def test_the_code_is_redeemed_once_with_the_verifier_of_the_challenge() -> None:
    """The verifier is stored sealed; the linker gets the one whose S256 challenge the URL
    carried, with the code and callback; the account is stored active and sealed."""
    store, linker = FakeStore(), Linker()
    asked = begin(store)
    stored = repr(store.docs)
    done = finish(store, CIPHER, linker, APPS, NOW, {"state": asked["state"], "code": "C1"})
    (grant,) = linker.grants
    assert (asked["challenge"], "C1", CALLBACK) == (
        code_challenge(grant.verifier),
        grant.code,
        grant.redirect_uri,
    )
    assert grant.verifier not in stored and "C1" not in repr(grant)
    conn = store.docs["companies/acme/social_connections/linkedin"][0]
    assert ("active", "m1", "urn:li:person:m1", "Ada") == (
        conn["status"],
        conn["platform_user_id"],
        conn["author_urn"],
        done.username,
    )
    assert "AT-1" not in repr(store.docs) and "RT-1" not in repr(store.docs)
    assert ("a1", NOW) == (conn["created_by"], conn["status_changed_at"])


def test_unknown_used_expired_and_refused_states_never_reach_the_platform() -> None:
    store, linker = FakeStore(), Linker()
    unknown = "acme." + "x" * 43
    with pytest.raises(InvalidInput, match="not one we made"):
        finish(store, CIPHER, linker, APPS, NOW, {"state": unknown, "code": "C"})
    used = begin(store)["state"]
    finish(store, CIPHER, linker, APPS, NOW, {"state": used, "code": "C"})
    with pytest.raises(Refused, match="used already"):
        finish(store, CIPHER, linker, APPS, NOW, {"state": used, "code": "C"})
    late = begin(store)["state"]
    with pytest.raises(Refused, match="expired"):
        finish(store, CIPHER, linker, APPS, NOW + timedelta(minutes=10), {"state": late})
    denied = begin(store)["state"]
    with pytest.raises(Refused, match="did not connect the account \\(access_denied\\)"):
        finish(store, CIPHER, linker, APPS, NOW, {"state": denied, "error": "access_denied"})
    with pytest.raises(InvalidInput, match="malformed"):
        finish(store, CIPHER, linker, APPS, NOW, {"state": "s" * 401})
    assert 1 == len(linker.grants)


def test_only_admins_start_and_only_where_an_app_is_configured() -> None:
    store = FakeStore()
    with pytest.raises(PermissionDenied):
        start(
            store,
            CIPHER,
            APPS,
            NOW,
            StaffIdentity("m1", "acme", Role.MANAGER),
            company_id="acme",
            connection_id="linkedin",
            body={},
            redirect_uri=CALLBACK,
        )
    with pytest.raises(Refused, match="GROWTHKIT_OAUTH_TWITTER_CLIENT_ID"):
        begin(store, "x")
    with pytest.raises(InvalidInput, match="page_id"):
        begin(store, "linkedin", page_id="42")
    begin(store, "facebook", page_id="42")
    assert ["42"] == [d["page_id"] for d, _ in store.docs.values()]
