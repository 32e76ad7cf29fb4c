"""Connecting accounts by OAuth 2.0 with PKCE, the whole dance: the ``integrations``
function (a verified admin ID token) answers the authorization URL, the browser goes to
localcloud's stand-in of LinkedIn, X or Facebook (its authorization endpoint records the
PKCE challenge and sends it back with a code), then to ``oauth_callback``, which redeems
the code at the stand-in's token endpoint with the verifier and stores the account in the
local Firestore (real client), its tokens sealed. The stand-ins refuse a wrong verifier,
a code used twice, an unknown client, as the platforms document."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from localcloud.platforms.oauth import s256
from shared import bootstrap
from shared.adapters import token_refresher
from shared.adapters.crypto import cipher
from shared.services.integrations import reveal_tokens
from tests.fakes import FakeClock
from tests.hostile.invariants import all_documents
from tests.integration.event_support import memory_queue
from tests.integration.periodic_support import drain
from tests.publishing_support import platform_env
from tests.support import docs, seed_company

BASE = "/companies/acme/social_connections"
CALLBACK = "http://127.0.0.1:8080/oauth_callback"  # functions_base_url's default
APPS = {"linkedin": ("li-app", "li-SECRET"), "x": ("x-app", "x-SECRET")}
APPS["facebook"] = ("fb-app", "fb-SECRET")
PAGE, IG, FB_USER, X_USER = "1015552244", "17841405822304914", "10215241773831025", "2244994945"


def endpoints(platforms: Any) -> dict[str, str]:
    """Each app's settings: the stand-ins' authorization and token endpoints, clients."""
    apps = (
        ("LINKEDIN", "linkedin", "/oauth/v2/authorization", "/oauth/v2/accessToken"),
        ("TWITTER", "x", "/i/oauth2/authorize", "/2/oauth2/token"),
        ("FACEBOOK", "facebook", "/v21.0/dialog/oauth", "/v21.0/oauth/access_token"),
    )
    env = {}
    for name, stand_in, authorize, token in apps:
        prefix = f"GROWTHKIT_OAUTH_{name}"
        env[f"{prefix}_AUTHORIZE_URL"] = platforms.base_url(stand_in) + authorize
        env[f"{prefix}_TOKEN_URL"] = platforms.base_url(stand_in) + token
        env[f"{prefix}_CLIENT_ID"], env[f"{prefix}_CLIENT_SECRET"] = APPS[stand_in]
    return env


@pytest.fixture
def world(
    db: Any, platforms: Any, staff_auth: Any, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Acme; the apps registered at the stand-ins with the callback as redirect URI; the
    settings pointing at them; who signs in at each platform's consent screen."""
    for platform, (client, secret) in APPS.items():
        platforms.register_client(platform, client, secret, redirect_uris=[CALLBACK])
    for name, value in (platform_env(platforms) | endpoints(platforms)).items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()
    seed_company(db)
    seed_company(db, "globex")
    platforms.sign_in_as("linkedin", "urn:li:person:m42", name="Ada Lovelace")
    platforms.sign_in_as("x", X_USER, username="acme_plumbing")
    platforms.sign_in_as("facebook", FB_USER, name="Pat Owner")
    platforms.platform("facebook").add_page(
        PAGE, "Acme Plumbing", owner=FB_USER, page_token="fb-PAGE-token", instagram_id=IG
    )
    return {"admin": staff_auth("acme", "admin"), "platforms": platforms, "db": db}


def authorize(function_client: Any, world: dict[str, Any], connection: str, **body: Any) -> Any:
    api = function_client("integrations")
    return api.post(f"{BASE}/{connection}/authorize", json=body, headers=world["admin"])


def consent(url: str) -> dict[str, str]:
    """The admin's browser at the platform: consent given, sent back to the callback."""
    answer = requests.get(url, allow_redirects=False, timeout=5)
    assert 302 == answer.status_code, answer.text
    location = answer.headers["Location"]
    assert location.startswith(CALLBACK + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def callback(function_client: Any, params: dict[str, str]) -> Any:
    """The browser arriving at the callback (what browsers accept)."""
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    return function_client("oauth_callback").get(
        "/", query_string=params, headers={"Accept": accept}
    )


def dance(function_client: Any, world: dict[str, Any], connection: str, **body: Any) -> Any:
    started = authorize(function_client, world, connection, **body)
    assert 200 == started.status_code, started.get_json()
    return callback(function_client, consent(started.get_json()["authorize_url"]))


def connection(world: dict[str, Any], name: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = world["db"].document(f"{BASE[1:]}/{name}").get().to_dict()
    return found


def token_requests(platforms: Any, platform: str, path: str) -> list[dict[str, Any]]:
    return [r for r in platforms.requests(platform) if r["path"].split("?")[0].endswith(path)]


def test_linkedin_dance_stores_the_member_sealed_and_posts_with_it(
    function_client: Any, world: dict[str, Any], staff_auth: Any, monkeypatch: Any
) -> None:
    """The authorization URL carries the client, the callback, the scopes, a state and an
    S256 challenge; the code is redeemed once, with the verifier matching that challenge;
    the member (OpenID user info) becomes the connection, active, both tokens sealed; the
    page says so; and a post goes out through it."""
    platforms = world["platforms"]
    started = authorize(function_client, world, "linkedin")
    url = started.get_json()["authorize_url"]
    asked = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert ("li-app", CALLBACK, "S256", "openid profile w_member_social") == (
        asked["client_id"],
        asked["redirect_uri"],
        asked["code_challenge_method"],
        asked["scope"],
    )
    assert (started.get_json()["state"], "code") == (asked["state"], asked["response_type"])
    page = callback(function_client, consent(url))
    assert (200, "text/html; charset=utf-8") == (page.status_code, page.content_type)
    assert "Ada Lovelace (linkedin) is connected" in page.get_data(as_text=True)
    (redeemed,) = token_requests(platforms, "linkedin", "/oauth/v2/accessToken")
    form = {k: v[0] for k, v in parse_qs(redeemed["body"]).items()}
    assert (asked["code_challenge"], "li-app") == (s256(form["code_verifier"]), form["client_id"])
    stored = connection(world, "linkedin") or {}
    assert ("active", "m42", "urn:li:person:m42", "Ada Lovelace") == (
        stored["status"],
        stored["platform_user_id"],
        stored["author_urn"],
        stored["username"],
    )
    issued = {g.kind: g.token for g in platforms.hub.tokens.of("linkedin")}
    store = bootstrap.document_store()
    assert (issued["access"], issued["refresh"]) == reveal_tokens(
        store, cipher(), "acme", "linkedin"
    )
    raw = json.dumps(all_documents(world["db"]), default=str)
    assert [] == [t for t in (*issued.values(), form["code_verifier"], "li-SECRET") if t in raw]
    memory_queue(monkeypatch)
    world["db"].document("companies/acme/content/c1").set(
        {"title": "Spring", "type": "social", "body": "Boiler checks, 20% off", "status": "draft"}
    )
    published = function_client("publish_content").post(
        "/", json={"content_id": "c1", "platforms": ["linkedin"]}, headers=staff_auth("acme")
    )
    assert "published" == published.get_json()["status"], published.get_json()
    (post,) = platforms.posts("linkedin")
    assert "urn:li:person:m42" == post["author"]


def test_x_dance_gets_a_refresh_token_with_basic_client_auth(
    function_client: Any, world: dict[str, Any]
) -> None:
    """``x`` connects ``twitter``: the confidential client authenticates with HTTP Basic,
    PKCE is checked, ``offline.access`` brings a refresh token; the user is /2/users/me."""
    platforms = world["platforms"]
    assert 200 == dance(function_client, world, "x").status_code
    (redeemed,) = token_requests(platforms, "x", "/2/oauth2/token")
    headers = {k.lower(): v for k, v in redeemed["headers"].items()}
    assert headers["authorization"].startswith("Basic ")
    assert "client_secret" not in redeemed["body"]
    stored = connection(world, "twitter") or {}
    assert ("active", X_USER, "acme_plumbing", True) == (
        stored["status"],
        stored["platform_user_id"],
        stored["username"],
        "offline.access" in stored["scopes"],
    )
    access, refresh = reveal_tokens(bootstrap.document_store(), cipher(), "acme", "twitter")
    assert (True, True) == (access.startswith("lc-"), bool(refresh and refresh.startswith("lcr-")))


def test_facebook_dance_connects_the_page_and_its_instagram_account(
    function_client: Any, world: dict[str, Any]
) -> None:
    """Facebook: the code (with its verifier), then a long-lived user token, then the
    Page's token from /me/accounts: the ``facebook`` connection is the Page, its token
    never expiring. ``instagram`` goes the same way and reads the Page's Instagram
    business account."""
    platforms = world["platforms"]
    assert 200 == dance(function_client, world, "facebook").status_code
    exchanges = token_requests(platforms, "facebook", "/oauth/access_token")
    asked = [parse_qs(urlsplit(r["path"]).query) for r in exchanges]
    assert [True, ["fb_exchange_token"]] == [
        "code_verifier" in asked[0],
        asked[1].get("grant_type"),
    ]
    page = connection(world, "facebook") or {}
    assert ("active", PAGE, PAGE, None, "Acme Plumbing") == (
        page["status"],
        page["platform_user_id"],
        page["page_id"],
        page["expires_at"],
        page["username"],
    )
    store = bootstrap.document_store()
    assert ("fb-PAGE-token", None) == reveal_tokens(store, cipher(), "acme", "facebook")
    assert 200 == dance(function_client, world, "instagram").status_code
    insta = connection(world, "instagram") or {}
    assert ("active", IG, IG, PAGE) == (
        insta["status"],
        insta["platform_user_id"],
        insta["ig_user_id"],
        insta["page_id"],
    )


def test_several_pages_need_page_id_and_nothing_is_stored_without_it(
    function_client: Any, world: dict[str, Any]
) -> None:
    """A user managing two Pages: without ``page_id`` the callback says which there are
    and stores nothing; with it, that Page; an Instagram account the Page lacks is said."""
    facebook = world["platforms"].platform("facebook")
    facebook.add_page("777", "Acme Shop", owner=FB_USER, page_token="fb-SHOP-token")
    page = dance(function_client, world, "facebook")
    text = page.get_data(as_text=True)
    assert (409, True, None) == (page.status_code, "page_id" in text, connection(world, "facebook"))
    assert "Acme Shop (777)" in text
    assert 200 == dance(function_client, world, "facebook-shop", page_id="777").status_code
    assert "777" == (connection(world, "facebook-shop") or {})["page_id"]
    lacking = dance(function_client, world, "instagram", page_id="777")
    assert (409, None) == (lacking.status_code, connection(world, "instagram"))
    assert "no Instagram business account" in lacking.get_data(as_text=True)


def test_forged_replayed_expired_and_refused_states_store_nothing(
    function_client: Any, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A state we did not make (400), one used already (409: the first callback stands,
    the code is not redeemed again), one past its 10 minutes (409) and a refused consent
    (409) each answer a page saying so; nothing is stored or changed."""
    platforms = world["platforms"]
    assert 400 == callback(function_client, {"state": "acme." + "f" * 43, "code": "c"}).status_code
    assert 400 == callback(function_client, {"state": "nonsense", "code": "c"}).status_code
    assert 400 == callback(function_client, {"code": "c"}).status_code
    started = authorize(function_client, world, "linkedin").get_json()
    params = consent(started["authorize_url"])
    assert 200 == callback(function_client, params).status_code
    before = connection(world, "linkedin")
    replay = callback(function_client, params)
    assert (409, "used already") == (replay.status_code, _said(replay))
    assert (before, 1) == (
        connection(world, "linkedin"),
        len(token_requests(platforms, "linkedin", "/oauth/v2/accessToken")),
    )
    late = authorize(function_client, world, "x").get_json()
    late_params = consent(late["authorize_url"])
    real = bootstrap.clock
    monkeypatch.setattr(
        bootstrap, "clock", FakeClock(real.now() + timedelta(minutes=10, seconds=1))
    )
    expired = callback(function_client, late_params)
    monkeypatch.setattr(bootstrap, "clock", real)
    assert (409, "expired", None) == (expired.status_code, _said(expired), connection(world, "x"))
    assert [] == token_requests(platforms, "x", "/2/oauth2/token")
    denied = authorize(function_client, world, "facebook").get_json()
    refusal = {"state": denied["state"], "error": "access_denied", "error_description": "No"}
    answer = callback(function_client, refusal)
    assert (409, "did not connect") == (answer.status_code, _said(answer))
    assert None is connection(world, "facebook")
    assert "used already" == _said(callback(function_client, refusal))


def _said(page: Any) -> str:
    text = page.get_data(as_text=True)
    for words in ("used already", "expired", "did not connect", "not one we made"):
        if words in text:
            return words
    return text


def test_who_may_connect_and_what(
    function_client: Any, world: dict[str, Any], staff_auth: Any, monkeypatch: Any
) -> None:
    """Admins only, of their own company; platforms OAuth connects only; page_id only for
    Facebook; a platform whose app is not configured is refused naming the settings."""
    api = function_client("integrations")

    def ask(connection: str, headers: dict[str, str], **body: Any) -> Any:
        return api.post(f"{BASE}/{connection}/authorize", json=body, headers=headers)

    answers = {
        "manager": ask("linkedin", staff_auth("acme", "manager")).status_code,
        "foreign admin": ask("linkedin", staff_auth("globex", "admin")).status_code,
        "no token": ask("linkedin", {}).status_code,
        "wordpress": ask("wordpress", world["admin"]).status_code,
        "bad label": ask("linkedin-Shop!", world["admin"]).status_code,
        "page_id on x": ask("x", world["admin"], page_id="1").status_code,
        "GET": api.get(f"{BASE}/linkedin/authorize", headers=world["admin"]).status_code,
    }
    assert {
        "manager": 403,
        "foreign admin": 403,
        "no token": 401,
        "wordpress": 400,
        "bad label": 400,
        "page_id on x": 400,
        "GET": 405,
    } == answers
    monkeypatch.delenv("GROWTHKIT_OAUTH_FACEBOOK_CLIENT_SECRET")
    bootstrap.reset()
    unset = ask("instagram", world["admin"])
    assert (409, True) == (
        unset.status_code,
        "GROWTHKIT_OAUTH_FACEBOOK_CLIENT_SECRET" in unset.get_json()["error"]["message"],
    )
    assert {} == docs(world["db"], "companies/acme/oauth_states")


@pytest.fixture
def fresh_refresher() -> Any:
    """The refresher is built once per instance: this test's, from its settings."""
    token_refresher.token_refresher.cache_clear()
    yield
    token_refresher.token_refresher.cache_clear()


@pytest.mark.usefixtures("fresh_refresher")
def test_a_refused_refresh_asks_to_reconnect_and_oauth_reconnects(
    function_client: Any,
    world: dict[str, Any],
    staff_auth: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The real refresher at the LinkedIn stand-in's token endpoint: the member revoked
    the app, so the refresh token is refused: the connection reads ``reconnect`` with
    LinkedIn's words and when; connecting again by OAuth makes it active with the new
    tokens. No token, code or secret is logged on the way."""
    caplog.set_level(logging.INFO)
    platforms = world["platforms"]
    assert 200 == dance(function_client, world, "linkedin").status_code
    store = bootstrap.document_store()
    access, refresh = reveal_tokens(store, cipher(), "acme", "linkedin")
    platforms.revoke("linkedin", refresh or "")
    api = function_client("integrations")
    soon = {"expires_at": (bootstrap.clock.now() + timedelta(minutes=5)).isoformat()}
    assert 200 == api.patch(f"{BASE}/linkedin", json=soon, headers=world["admin"]).status_code
    monkeypatch.setenv("GROWTHKIT_TOKEN_REFRESHER", "oauth")
    bootstrap.reset()
    token_refresher.token_refresher.cache_clear()
    queue = memory_queue(monkeypatch)
    assert 1 == function_client("refresh_social_tokens").post("/").get_json()["scheduled"]
    (answer,) = drain(function_client, queue)  # the company's refresh task
    run = answer["result"]["result"]
    assert (1, 0) == (run["reconnect"], run["refreshed"])
    shown = api.get(f"{BASE}/linkedin", headers=staff_auth("acme", "manager")).get_json()
    assert ("reconnect", True, True) == (
        shown["status"],
        "The refresh token is revoked" in shown["error_message"],
        shown["status_changed_at"] is not None,
    )
    assert 200 == dance(function_client, world, "linkedin").status_code
    again = api.get(f"{BASE}/linkedin", headers=world["admin"]).get_json()
    assert ("active", None, True) == (
        again["status"],
        again["error_message"],
        again["status_changed_at"] > shown["status_changed_at"],
    )
    assert access != reveal_tokens(store, cipher(), "acme", "linkedin")[0]
    secrets = [
        access,
        refresh or "",
        "li-SECRET",
        *(g.token for g in platforms.hub.tokens.of("linkedin")),
    ]
    assert [] == [s for s in secrets if s in caplog.text]


def test_the_browser_goes_back_to_the_app_when_one_is_set(
    function_client: Any, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``oauth_return_url``, a connected account sends the browser there (303, the
    connection named); a refusal is still the page saying what to do."""
    monkeypatch.setenv("GROWTHKIT_OAUTH_RETURN_URL", "https://app.acme.example/settings?tab=social")
    bootstrap.reset()
    done = dance(function_client, world, "x")
    assert (303, "https://app.acme.example/settings?tab=social&connected=twitter") == (
        done.status_code,
        done.headers["Location"],
    )
    assert 400 == callback(function_client, {"state": "acme." + "f" * 43, "code": "c"}).status_code
