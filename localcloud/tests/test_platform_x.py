"""The X stand-in over plain HTTP, as docs.x.com shows the calls: posting, X's length and
duplicate rules, its problem-shaped errors and rate-limit headers, the lookups a client
makes after an ambiguous failure, OAuth 2.0 with PKCE, and injected faults."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

USER = "2244994945"
REDIRECT = "https://app.example/x/callback"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def tweet(platforms: Any, text: str, token: str = "user-token", **kw: Any) -> requests.Response:
    return requests.post(
        platforms.base_url("x") + "/2/tweets", json={"text": text}, headers=bearer(token), **kw
    )


@pytest.fixture
def x(platforms: Any) -> Any:
    platforms.grant("x", "user-token", subject=USER, username="TwitterDev", name="Dev")
    return platforms


def test_a_post_is_created_recorded_and_counted(x: Any) -> None:
    answer = tweet(x, "Hello from the X API!")
    assert answer.status_code == 201
    data = answer.json()["data"]
    assert data == {
        "id": data["id"],
        "text": "Hello from the X API!",
        "edit_history_tweet_ids": [data["id"]],
    }
    assert answer.headers["x-rate-limit-limit"] == "100"
    assert answer.headers["x-rate-limit-remaining"] == "99"
    assert int(answer.headers["x-rate-limit-reset"]) > 0
    (post,) = x.posts("x")
    assert (post["id"], post["author_id"], post["text"]) == (data["id"], USER, data["text"])
    (seen,) = x.requests("x")
    assert (seen["method"], seen["path"], seen["status"]) == ("POST", "/x/2/tweets", 201)
    assert seen["headers"]["Authorization"] == "Bearer user-token"
    assert '"text": "Hello from the X API!"' in seen["body"]


@pytest.mark.parametrize("change", ["unknown", "expire", "revoke", "missing"])
def test_tokens_it_does_not_honour_are_401_problems(x: Any, change: str) -> None:
    if change in ("expire", "revoke"):
        getattr(x, change)("x", "user-token")
    headers = {} if change == "missing" else bearer("nope" if change == "unknown" else "user-token")
    answer = requests.post(x.base_url("x") + "/2/tweets", json={"text": "hi"}, headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }
    assert x.posts("x") == []


def test_an_app_only_token_cannot_post(x: Any) -> None:
    x.grant("x", "app-token", subject="app", type="app")
    answer = tweet(x, "hi", token="app-token")
    assert answer.status_code == 403
    assert answer.json()["type"] == "https://api.twitter.com/2/problems/unsupported-authentication"


def test_length_is_weighted_as_twitter_text_counts_it(x: Any) -> None:
    """280 ASCII characters fit; 281 do not; a URL counts 23 however long; CJK counts 2;
    an emoji 2 however many code points it joins (family, skin tone, flag)."""
    url = "https://example.com/" + "a" * 80
    family, wave, flag = "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f44b\U0001f3fd", "🇫🇷"
    fits = ["a" * 280, url + " " + "b" * 256, "漢" * 140, family * 140, wave * 139 + flag]
    for text in fits:
        assert tweet(x, text).status_code == 201, text[:30]
    for text in ("c" * 281, url + " " + "d" * 257, "字" * 141, family * 140 + "e"):
        answer = tweet(x, text)
        assert answer.status_code == 400
        body = answer.json()
        assert body["title"] == "Invalid Request"
        assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"
        assert body["errors"][0]["message"].startswith("Your Tweet text is too long.")
    assert len(x.posts("x")) == len(fits)


def test_the_same_text_twice_is_refused_as_a_duplicate(x: Any) -> None:
    assert tweet(x, "Same words").status_code == 201
    again = tweet(x, "Same words")
    assert again.status_code == 403
    assert again.json() == {
        "title": "Forbidden",
        "type": "about:blank",
        "status": 403,
        "detail": "You are not allowed to create a Tweet with duplicate content.",
    }


def test_bad_bodies_are_invalid_requests(x: Any) -> None:
    url = x.base_url("x") + "/2/tweets"
    for body, headers in (
        (b'{"text": "hi"}', {"Content-Type": "text/plain"}),
        (b"{not json", {"Content-Type": "application/json"}),
        (b'{"txt": "hi"}', {"Content-Type": "application/json"}),
        (b"{}", {"Content-Type": "application/json"}),
    ):
        answer = requests.post(url, data=body, headers=headers | bearer("user-token"))
        assert (answer.status_code, answer.json()["title"]) == (400, "Invalid Request"), body


def test_a_client_finds_its_post_after_an_ambiguous_failure(x: Any) -> None:
    """users/me gives the id; the user's timeline, newest first, holds the post."""
    me = requests.get(x.base_url("x") + "/2/users/me", headers=bearer("user-token")).json()
    assert me == {"data": {"id": USER, "name": "Dev", "username": "TwitterDev"}}
    first, second = (tweet(x, t).json()["data"]["id"] for t in ("one", "two"))
    timeline = requests.get(
        x.base_url("x") + f"/2/users/{USER}/tweets",
        params={"max_results": 5},
        headers=bearer("user-token"),
    ).json()
    assert [t["id"] for t in timeline["data"]] == [second, first]
    assert timeline["meta"] == {"result_count": 2, "newest_id": second, "oldest_id": first}
    since = requests.get(
        x.base_url("x") + f"/2/users/{USER}/tweets",
        params={"since_id": first},
        headers=bearer("user-token"),
    ).json()
    assert [t["id"] for t in since["data"]] == [second]
    one = requests.get(x.base_url("x") + f"/2/tweets/{first}", headers=bearer("user-token"))
    assert one.json()["data"]["text"] == "one"
    missing = requests.get(x.base_url("x") + "/2/tweets/1", headers=bearer("user-token"))
    assert missing.json()["errors"][0]["title"] == "Not Found Error"


def test_the_rate_limit_is_enforced_with_its_headers(x: Any) -> None:
    for n in range(100):
        assert tweet(x, f"post {n}").status_code == 201
    over = tweet(x, "one too many")
    assert over.status_code == 429
    assert over.json()["title"] == "Too Many Requests"
    assert (over.headers["x-rate-limit-limit"], over.headers["x-rate-limit-remaining"]) == (
        "100",
        "0",
    )
    assert len(x.posts("x")) == 100


@pytest.mark.parametrize(
    ("kind", "status", "title"),
    [
        (401, 401, "Unauthorized"),
        (403, 403, "Forbidden"),
        (429, 429, "Too Many Requests"),
        (500, 500, "Internal Server Error"),
        (503, 503, "Service Unavailable"),
    ],
)
def test_injected_faults_answer_as_x_does(x: Any, kind: int, status: int, title: str) -> None:
    x.fail("x", kind, times=2)
    for _ in range(2):
        answer = tweet(x, f"try {_}")
        assert (answer.status_code, answer.json()["title"]) == (status, title)
    if status == 429:
        assert answer.headers["x-rate-limit-remaining"] == "0"
    assert x.posts("x") == []
    assert tweet(x, "after the faults").status_code == 201
    assert [r["fault"] for r in x.requests("x")] == [str(_kind(kind))] * 2 + [None]


def _kind(status: int) -> str:
    return {
        401: "expired_token",
        403: "forbidden",
        429: "rate_limited",
        500: "server_error",
        503: "unavailable",
    }[status]


def test_accept_then_stall_creates_the_post_and_times_the_client_out(x: Any) -> None:
    """The classic double post: the client times out after X acted; its retry is refused
    as a duplicate, and the timeline shows the post that was made."""
    x.fail("x", "stall", seconds=3, path="/2/tweets")
    with pytest.raises(requests.ReadTimeout):
        tweet(x, "Posted once", timeout=0.5)
    assert [p["text"] for p in x.posts("x")] == ["Posted once"]
    assert tweet(x, "Posted once").status_code == 403
    timeline = requests.get(
        x.base_url("x") + f"/2/users/{USER}/tweets", headers=bearer("user-token")
    ).json()
    assert [t["text"] for t in timeline["data"]] == ["Posted once"]


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize(platforms: Any, challenge: str | None, method: str = "S256") -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": "app-1",
        "redirect_uri": REDIRECT,
        "scope": "tweet.read tweet.write users.read offline.access",
        "state": "st-9",
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": method}
    answer = requests.get(
        platforms.base_url("x") + "/i/oauth2/authorize", params=params, allow_redirects=False
    )
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def token_call(platforms: Any, form: dict[str, str], **kw: Any) -> requests.Response:
    return requests.post(platforms.base_url("x") + "/2/oauth2/token", data=form, **kw)


def test_oauth_code_with_pkce_then_refresh(platforms: Any) -> None:
    platforms.register_client("x", "app-1", redirect_uris=[REDIRECT])
    platforms.sign_in_as("x", "99887766", username="cafe")
    verifier, challenge = pkce()
    back = authorize(platforms, challenge)
    assert back["state"] == "st-9"
    form = {
        "grant_type": "authorization_code",
        "code": back["code"],
        "client_id": "app-1",
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    issued = token_call(platforms, form).json()
    assert issued["token_type"] == "bearer" and issued["expires_in"] == 7200
    assert issued["scope"] == "tweet.read tweet.write users.read offline.access"
    assert tweet(platforms, "via oauth", token=issued["access_token"]).status_code == 201
    assert platforms.posts("x")[0]["author_id"] == "99887766"
    assert token_call(platforms, form).json()["error"] == "invalid_grant"  # a code works once
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": issued["refresh_token"],
        "client_id": "app-1",
    }
    renewed = token_call(platforms, refresh).json()
    assert renewed["access_token"] != issued["access_token"]
    assert renewed["refresh_token"] != issued["refresh_token"]
    assert token_call(platforms, refresh).status_code == 400  # the old refresh token is spent
    me = requests.get(
        platforms.base_url("x") + "/2/users/me", headers=bearer(renewed["access_token"])
    )
    assert me.json()["data"]["username"] == "cafe"


def test_pkce_is_checked(platforms: Any) -> None:
    platforms.register_client("x", "app-1", redirect_uris=[REDIRECT])
    refused = authorize(platforms, None)
    assert refused["error"] == "invalid_request" and refused["state"] == "st-9"
    verifier, challenge = pkce()
    code = authorize(platforms, challenge)["code"]
    wrong = token_call(
        platforms,
        {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": "app-1",
            "redirect_uri": REDIRECT,
            "code_verifier": verifier + "x",
        },
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    plain = authorize(platforms, "plain-challenge-" + "v" * 30, method="plain")["code"]
    ok = token_call(
        platforms,
        {
            "grant_type": "authorization_code",
            "code": plain,
            "client_id": "app-1",
            "redirect_uri": REDIRECT,
            "code_verifier": "plain-challenge-" + "v" * 30,
        },
    )
    assert ok.status_code == 200


def test_unknown_clients_and_redirects_get_no_redirect(platforms: Any) -> None:
    platforms.register_client("x", "app-1", redirect_uris=[REDIRECT])
    for client, redirect in (("nobody", REDIRECT), ("app-1", "https://evil.example/cb")):
        answer = requests.get(
            platforms.base_url("x") + "/i/oauth2/authorize",
            params={
                "response_type": "code",
                "client_id": client,
                "redirect_uri": redirect,
                "code_challenge": "c" * 43,
                "code_challenge_method": "S256",
            },
            allow_redirects=False,
        )
        assert answer.status_code == 400 and "Location" not in answer.headers


def test_a_confidential_client_authenticates_with_basic(platforms: Any) -> None:
    platforms.register_client("x", "conf-1", "s3cret", redirect_uris=[REDIRECT])
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": "conf-1",
        "redirect_uri": REDIRECT,
        "scope": "tweet.write",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    location = requests.get(
        platforms.base_url("x") + "/i/oauth2/authorize", params=params, allow_redirects=False
    ).headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": "conf-1",
    }
    unauthenticated = token_call(platforms, form)
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"] == "unauthorized_client"
    code = parse_qs(
        urlsplit(
            requests.get(
                platforms.base_url("x") + "/i/oauth2/authorize",
                params=params,
                allow_redirects=False,
            ).headers["Location"]
        ).query
    )["code"][0]
    issued = token_call(platforms, form | {"code": code}, auth=("conf-1", "s3cret"))
    assert issued.status_code == 200
    assert "refresh_token" not in issued.json()  # no offline.access, no refresh token
