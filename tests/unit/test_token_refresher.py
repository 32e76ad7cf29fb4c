"""The OAuth 2.0 refresh-token grant adapter without a network: how each answer maps,
how the client authenticates, which platforms are deferred, how settings choose the
refresher, and how the refresh run treats rotated tokens and a refused client."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any
from urllib.parse import unquote_plus

import pytest
import requests
from pydantic import ValidationError

from shared.adapters import token_refresher as adapter
from shared.adapters.token_refresher import (
    LocalTokenRefresher,
    OAuthClient,
    OAuthTokenRefresher,
    oauth_clients,
)
from shared.deploy.__main__ import main
from shared.deploy.plan import Target, deploy_steps
from shared.domain.integrations import (
    NotRenewable,
    RefreshedToken,
    RefresherMisconfigured,
    RefreshFailed,
)
from shared.errors import Transient
from shared.services.integrations import reveal_tokens
from shared.services.integrations_refresh import RefreshResult, refresh_company_tokens
from shared.settings import from_environment
from tests.fakes import FakeClock, FakeStore
from tests.unit.test_integrations import CIPHER, connect

NOW = FakeClock().now()
LINKEDIN = OAuthClient("https://li.example/token", "li-id", "li sec+ret", "body")
TWITTER = OAuthClient("https://x.example/token", "x-id", "x:secret", "basic")


def refresh_due_tokens(store: Any, cipher: Any, refresher: Any, now: Any) -> RefreshResult:
    """Acme's refresh task (each company's connections are refreshed by a task of its own)."""
    return refresh_company_tokens(store, cipher, refresher, now, "acme")[0]


class Response:
    def __init__(self, status: int, body: Any) -> None:
        self.status_code = status
        self.body = body

    def json(self) -> Any:
        if isinstance(self.body, Exception):
            raise self.body
        return self.body


class Post:
    """Stands in for ``requests.post``: records the call, answers or raises."""

    def __init__(self, answer: Response | Exception) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []

    def __call__(self, url: str, **kwargs: Any) -> Response:
        self.calls.append({"url": url, **kwargs})
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def refresher_with(monkeypatch: pytest.MonkeyPatch, answer: Response | Exception) -> Post:
    post = Post(answer)
    monkeypatch.setattr(requests, "post", post)
    return post


OAUTH = OAuthTokenRefresher({"linkedin": LINKEDIN, "twitter": TWITTER}, timeout_seconds=3)


def test_success_gives_the_new_tokens_with_the_rotated_refresh_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``access_token``, ``expires_in`` and a rotated ``refresh_token`` come back; the grant
    is a form POST with the client in the body (LinkedIn), no redirects, a timeout."""
    body = {"access_token": "AT2", "expires_in": 3600, "refresh_token": "RT2"}
    post = refresher_with(monkeypatch, Response(200, body))
    fresh = OAUTH.refresh("linkedin", "RT1", NOW)
    assert ("AT2", NOW + timedelta(hours=1), "RT2") == (
        fresh.access_token,
        fresh.expires_at,
        fresh.refresh_token,
    )
    call = post.calls[0]
    assert (LINKEDIN.token_url, False, 3) == (call["url"], call["allow_redirects"], call["timeout"])
    assert {
        "grant_type": "refresh_token",
        "refresh_token": "RT1",
        "client_id": "li-id",
        "client_secret": "li sec+ret",
    } == call["data"]
    assert "Authorization" not in call["headers"]
    assert "AT2" not in repr(fresh) and "RT2" not in repr(fresh)


def test_basic_client_authentication_form_encodes_id_and_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """X: HTTP Basic of the form-encoded id and secret (RFC 6749 2.3.1), none in the body;
    no refresh_token in the answer means the old one stays."""
    post = refresher_with(monkeypatch, Response(200, {"access_token": "AT2"}))
    fresh = OAUTH.refresh("twitter", "RT1", NOW)
    call = post.calls[0]
    scheme, _, encoded = call["headers"]["Authorization"].partition(" ")
    user, _, password = base64.b64decode(encoded).decode().partition(":")
    assert ("Basic", "x%3Asecret", "x:secret") == (scheme, password, unquote_plus(password))
    assert ("x-id", {"grant_type": "refresh_token", "refresh_token": "RT1"}) == (
        user,
        call["data"],
    )
    assert (None, None) == (fresh.refresh_token, fresh.expires_at)


@pytest.mark.parametrize(
    ("status", "body", "raised", "said"),
    [
        (400, {"error": "invalid_grant", "error_description": "revoked"}, RefreshFailed, "revoked"),
        (401, {"error": "invalid_grant"}, RefreshFailed, "invalid_grant"),
        (400, {"error": "invalid_request", "error_description": "bad token"}, RefreshFailed, "bad"),
        (403, {}, RefreshFailed, "HTTP 403"),
        (401, {"error": "invalid_client"}, RefresherMisconfigured, "CLIENT_SECRET"),
        (400, {"error": "unauthorized_client"}, RefresherMisconfigured, "unauthorized_client"),
        (400, {"error": "unsupported_grant_type"}, RefresherMisconfigured, "TOKEN_URL"),
        (401, ValueError("not json"), RefresherMisconfigured, "HTTP 401"),
        (404, {}, RefresherMisconfigured, "HTTP 404"),
        (302, {}, RefresherMisconfigured, "HTTP 302"),
        (429, {"error": "slow down"}, Transient, "429"),
        (503, ValueError("html"), Transient, "503"),
        (500, {"error": "invalid_grant"}, Transient, "500"),
        (200, {"token_type": "bearer"}, Transient, "without an access token"),
        (200, ["not", "an", "object"], Transient, "without an access token"),
        (418, {}, Transient, "418"),
    ],
)
def test_answers_map_to_reconnect_misconfigured_or_retried(
    monkeypatch: pytest.MonkeyPatch, status: int, body: Any, raised: type[Exception], said: str
) -> None:
    """invalid_grant and other 400/403 refusals ask to reconnect; refusals of our
    client are configuration errors; 429, 5xx and odd answers are retried."""
    refresher_with(monkeypatch, Response(status, body))
    with pytest.raises(raised, match=said) as err:
        OAUTH.refresh("linkedin", "RT-SECRET", NOW)
    assert "RT-SECRET" not in str(err.value) and "li sec+ret" not in str(err.value)


@pytest.mark.parametrize(
    "failure", [requests.ConnectTimeout("slow"), requests.ConnectionError("refused")]
)
def test_timeouts_and_unreachable_endpoints_are_retried(
    monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    refresher_with(monkeypatch, failure)
    with pytest.raises(Transient, match="linkedin token endpoint"):
        OAUTH.refresh("linkedin", "RT1", NOW)


def test_unusable_expires_in_keeps_the_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """The refresh token may be rotated already: a bad ``expires_in`` loses nothing."""
    body = {"access_token": "AT2", "expires_in": "soon", "refresh_token": "RT2"}
    refresher_with(monkeypatch, Response(200, body))
    fresh = OAUTH.refresh("linkedin", "RT1", NOW)
    assert ("AT2", None, "RT2") == (fresh.access_token, fresh.expires_at, fresh.refresh_token)


@pytest.mark.parametrize(
    ("platform", "said", "error"),
    [
        ("facebook", "fb_exchange_token", NotRenewable),
        ("instagram", "ig_refresh_token", NotRenewable),
        ("x", "CLIENT_ID", Transient),
    ],
)
def test_platforms_without_a_grant_or_client_are_not_asked(
    monkeypatch: pytest.MonkeyPatch, platform: str, said: str, error: type[Exception]
) -> None:
    """No refresh grant: nothing can renew the token (it expires when its time is up);
    no client configured: deferred until one is. Neither makes a request."""
    post = refresher_with(monkeypatch, Response(200, {"access_token": "AT"}))
    with pytest.raises(error, match=said):
        OAuthTokenRefresher({}).refresh(platform, "RT1", NOW)
    assert [] == post.calls


def test_settings_configure_platforms_with_both_id_and_secret() -> None:
    """Only platforms with an id and a secret get a client; URLs default to the standard
    endpoints; LinkedIn sends credentials in the body and X uses Basic by default."""
    clients = oauth_clients(
        from_environment(
            {
                "GROWTHKIT_OAUTH_LINKEDIN_CLIENT_ID": "li",
                "GROWTHKIT_OAUTH_LINKEDIN_CLIENT_SECRET": "s1",
                "GROWTHKIT_OAUTH_TWITTER_CLIENT_ID": "x",
            }
        )
    )
    assert ["linkedin"] == list(clients)
    client = clients["linkedin"]
    assert ("https://www.linkedin.com/oauth/v2/accessToken", "li", "s1", "body") == (
        client.token_url,
        client.client_id,
        client.client_secret,
        client.auth,
    )
    assert "s1" not in repr(client)
    defaults = from_environment({})
    assert ("https://api.x.com/2/oauth2/token", "basic") == (
        defaults.oauth_twitter_token_url,
        defaults.oauth_twitter_client_auth,
    )


def test_the_refresher_follows_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Local by default, OAuth in production or when asked for."""
    production = {
        "GROWTHKIT_ENVIRONMENT": "production",
        "GROWTHKIT_SIGNING_KEY": "k" * 40,
        "GROWTHKIT_FUNCTIONS_BASE_URL": "https://example.test",
    }
    found = []
    for environ in ({}, {"GROWTHKIT_TOKEN_REFRESHER": "oauth"}, production):
        monkeypatch.setattr(adapter, "get_settings", lambda e=environ: from_environment(e))
        adapter.token_refresher.cache_clear()
        found.append(type(adapter.token_refresher()))
    adapter.token_refresher.cache_clear()
    assert [LocalTokenRefresher, OAuthTokenRefresher, OAuthTokenRefresher] == found


def test_production_refuses_fake_tokens_and_plain_http_token_urls() -> None:
    production = {
        "GROWTHKIT_ENVIRONMENT": "production",
        "GROWTHKIT_SIGNING_KEY": "k" * 40,
        "GROWTHKIT_FUNCTIONS_BASE_URL": "https://example.test",
    }
    with pytest.raises(ValidationError, match="GROWTHKIT_TOKEN_REFRESHER"):
        from_environment(production | {"GROWTHKIT_TOKEN_REFRESHER": "local"})
    with pytest.raises(ValidationError, match="GROWTHKIT_OAUTH_TWITTER_TOKEN_URL"):
        from_environment(production | {"GROWTHKIT_OAUTH_TWITTER_TOKEN_URL": "http://x.test/t"})
    for name in ("GROWTHKIT_OAUTH_FACEBOOK_AUTHORIZE_URL", "GROWTHKIT_OAUTH_RETURN_URL"):
        with pytest.raises(ValidationError, match=name):
            from_environment(production | {name: "http://app.test/back"})


class Scripted:
    """A ``TokenRefresher`` answering by platform."""

    def __init__(self, answers: dict[str, RefreshedToken | Exception]) -> None:
        self.answers = answers

    def refresh(self, platform: str, refresh_token: str, now: Any) -> RefreshedToken:
        answer = self.answers[platform]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_a_rotated_refresh_token_is_stored_sealed() -> None:
    """The run seals the rotated refresh token for its document and field, as on create."""
    store = FakeStore()
    connect(store, timedelta(minutes=5))
    # Long enough that sealed text (random base64) cannot hold them by chance, as "RT2"
    # could (about one run in 300).
    access, refresh = "access-token-two.plain", "refresh-token-two.plain"
    fresh = RefreshedToken(access, NOW + timedelta(hours=2), refresh)
    result = refresh_due_tokens(store, CIPHER, Scripted({"linkedin": fresh}), NOW)
    doc = store.docs["companies/acme/social_connections/linkedin"][0]
    assert (1, (access, refresh), NOW + timedelta(hours=2)) == (
        result.refreshed,
        reveal_tokens(store, CIPHER, "acme", "linkedin"),
        doc["expires_at"],
    )
    assert refresh not in str(doc) and access not in str(doc)


def test_a_refused_client_leaves_connections_alone_and_fails_the_run_after_the_others() -> None:
    """Our client is refused for LinkedIn: that connection is untouched (not expired),
    X still refreshes, then the run raises naming the settings."""
    store = FakeStore()
    connect(store, timedelta(minutes=5))
    connect(store, timedelta(minutes=6), platform="twitter")
    before = dict(store.docs["companies/acme/social_connections/linkedin"][0])
    refresher = Scripted(
        {
            "linkedin": RefresherMisconfigured("linkedin refused our OAuth client"),
            "twitter": RefreshedToken("AT2", NOW + timedelta(hours=2)),
        }
    )
    with pytest.raises(RefresherMisconfigured, match="linkedin refused our OAuth client"):
        refresh_due_tokens(store, CIPHER, refresher, NOW)
    assert before == store.docs["companies/acme/social_connections/linkedin"][0]
    assert "AT2" == reveal_tokens(store, CIPHER, "acme", "twitter")[0]


def test_the_deploy_gives_the_chosen_platforms_clients_to_the_oauth_functions_only() -> None:
    """``--oauth-platforms`` mounts each platform's client id and secret from Secret
    Manager on the functions that connect accounts and on ``run_task`` (each company's
    refresh is a task of its own), and no other; the public callback runs as its own
    account; without it nothing is mounted."""
    target = Target("p", "r", oauth_platforms=("linkedin", "facebook"))
    steps = [s for s in deploy_steps(target) if "functions" in s.argv]
    flags = {s.argv[3]: s.argv[-2] for s in steps}
    wanted = (
        "GROWTHKIT_OAUTH_LINKEDIN_CLIENT_ID=growthkit-oauth-linkedin-client-id:latest,"
        "GROWTHKIT_OAUTH_LINKEDIN_CLIENT_SECRET=growthkit-oauth-linkedin-client-secret:latest,"
        "GROWTHKIT_OAUTH_FACEBOOK_CLIENT_ID=growthkit-oauth-facebook-client-id:latest,"
        "GROWTHKIT_OAUTH_FACEBOOK_CLIENT_SECRET=growthkit-oauth-facebook-client-secret:latest"
    )
    given = sorted(n for n, f in flags.items() if "OAUTH" in f)
    assert ["integrations", "oauth_callback", "run_task"] == given
    assert all(flags[name].endswith(wanted) for name in given)
    accounts = {s.argv[3]: s.argv[-4] for s in steps}
    assert accounts["oauth_callback"].startswith("--service-account=growthkit-oauth@")
    plain = {s.argv[3]: s.argv[-2] for s in deploy_steps(Target("p", "r")) if "functions" in s.argv}
    assert "OAUTH" not in plain["run_task"]
    with pytest.raises(SystemExit):
        main(["plan", "--project", "p", "--region", "r", "--oauth-platforms", "instagram"])
