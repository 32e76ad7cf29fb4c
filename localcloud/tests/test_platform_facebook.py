"""The Facebook Graph stand-in over plain HTTP, as developers.facebook.com documents it:
Page posts with a Page token, Page tokens from ``/me/accounts``, Instagram's container
then publish, Graph's error bodies (190/463, 506, 32...), Facebook Login's code exchange
and long-lived tokens, and injected faults."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from localcloud.platforms.oauth import s256

PAGE, USER, IG = "1015552244", "10215241773831025", "17841405822304914"
REDIRECT = "https://app.example/facebook/callback"


@pytest.fixture
def fb(platforms: Any) -> Any:
    platforms.grant("facebook", "user-token", subject=USER, name="Owner")
    platforms.platform("facebook").add_page(
        PAGE, "Corner Cafe", owner=USER, page_token="page-token", instagram_id=IG
    )
    return platforms


def graph(platforms: Any, path: str) -> str:
    return str(platforms.base_url("facebook")) + "/v21.0" + path


def test_a_page_post_with_the_page_token(fb: Any) -> None:
    answer = requests.post(
        graph(fb, f"/{PAGE}/feed"),
        data={
            "message": "Fresh bread at 7",
            "link": "https://cafe.example",
            "access_token": "page-token",
        },
    )
    assert answer.status_code == 200
    post_id = answer.json()["id"]
    assert post_id.startswith(f"{PAGE}_")
    (post,) = fb.posts("facebook")
    assert (post["id"], post["message"], post["link"]) == (
        post_id,
        "Fresh bread at 7",
        "https://cafe.example",
    )
    read = requests.get(
        graph(fb, f"/{post_id}"), params={"access_token": "page-token", "fields": "message,link"}
    )
    assert read.json() == {
        "id": post_id,
        "message": "Fresh bread at 7",
        "link": "https://cafe.example",
    }
    feed = requests.get(
        graph(fb, f"/{PAGE}/feed"), headers={"Authorization": "Bearer page-token"}
    ).json()
    assert [p["id"] for p in feed["data"]] == [post_id]


def test_page_tokens_come_from_me_accounts(fb: Any) -> None:
    accounts = requests.get(graph(fb, "/me/accounts"), params={"access_token": "user-token"})
    (page,) = accounts.json()["data"]
    assert (page["id"], page["name"], page["access_token"]) == (PAGE, "Corner Cafe", "page-token")
    assert "CREATE_CONTENT" in page["tasks"]
    with_user_token = requests.post(
        graph(fb, f"/{PAGE}/feed"), data={"message": "hi", "access_token": "user-token"}
    )
    assert with_user_token.status_code == 403
    assert with_user_token.json()["error"]["code"] == 200


def test_the_same_post_twice_in_a_row_is_a_506(fb: Any) -> None:
    form = {"message": "Open today", "access_token": "page-token"}
    assert requests.post(graph(fb, f"/{PAGE}/feed"), data=form).status_code == 200
    again = requests.post(graph(fb, f"/{PAGE}/feed"), data=form)
    assert again.status_code == 400
    error = again.json()["error"]
    assert (error["code"], error["type"], error["message"]) == (
        506,
        "OAuthException",
        "(#506) Duplicate status message",
    )
    assert error["fbtrace_id"]


@pytest.mark.parametrize(("change", "subcode"), [("expire", 463), ("revoke", 460)])
def test_expired_and_invalidated_tokens(fb: Any, change: str, subcode: int) -> None:
    getattr(fb, change)("facebook", "page-token")
    answer = requests.post(
        graph(fb, f"/{PAGE}/feed"), data={"message": "hi", "access_token": "page-token"}
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["type"], error["code"], error["error_subcode"]) == (
        "OAuthException",
        190,
        subcode,
    )
    assert error["message"].startswith("Error validating access token")
    assert "invalid_token" in answer.headers["WWW-Authenticate"]


def test_unknown_missing_and_unreachable(fb: Any) -> None:
    unknown = requests.get(graph(fb, "/me"), params={"access_token": "forged"})
    assert unknown.json()["error"]["code"] == 190
    assert "error_subcode" not in unknown.json()["error"]
    missing = requests.get(graph(fb, "/me"))
    assert missing.json()["error"]["code"] == 2500
    nowhere = requests.get(graph(fb, "/424242"), params={"access_token": "page-token"})
    assert (nowhere.json()["error"]["code"], nowhere.json()["error"]["error_subcode"]) == (100, 33)
    empty = requests.post(graph(fb, f"/{PAGE}/feed"), data={"access_token": "page-token"})
    assert empty.json()["error"]["code"] == 100
    assert fb.posts("facebook") == []


def test_instagram_container_then_publish(fb: Any) -> None:
    made = requests.post(
        graph(fb, f"/{IG}/media"),
        data={
            "image_url": "https://cafe.example/bread.jpg",
            "caption": "#bread",
            "access_token": "user-token",
        },
    )
    container = made.json()["id"]
    status = requests.get(
        graph(fb, f"/{container}"), params={"fields": "status_code", "access_token": "user-token"}
    ).json()
    assert status == {"id": container, "status_code": "FINISHED"}
    published = requests.post(
        graph(fb, f"/{IG}/media_publish"),
        data={"creation_id": container, "access_token": "user-token"},
    )
    media_id = published.json()["id"]
    (media,) = fb.posts("facebook")
    assert (media["id"], media["caption"], media["media_url"]) == (
        media_id,
        "#bread",
        "https://cafe.example/bread.jpg",
    )
    twice = requests.post(
        graph(fb, f"/{IG}/media_publish"),
        data={"creation_id": container, "access_token": "user-token"},
    )
    assert twice.json()["error"]["code"] == 100
    no_image = requests.post(graph(fb, f"/{IG}/media"), data={"access_token": "page-token"})
    assert no_image.json()["error"]["message"] == "(#100) The parameter image_url is required"
    fb.grant("facebook", "stranger", subject="1")
    not_theirs = requests.post(
        graph(fb, f"/{IG}/media"),
        data={"image_url": "https://x.example/a.jpg", "access_token": "stranger"},
    )
    assert not_theirs.json()["error"]["error_subcode"] == 33


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("expired_token", 400, 190), (403, 403, 200), (429, 400, 32), (500, 500, 1), (503, 503, 2)],
)
def test_injected_faults_answer_as_graph_does(fb: Any, kind: Any, status: int, code: int) -> None:
    fb.fail("facebook", kind, path=f"/v21.0/{PAGE}/feed")
    answer = requests.post(
        graph(fb, f"/{PAGE}/feed"), data={"message": "hi", "access_token": "page-token"}
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    if code == 32:
        usage = json.loads(answer.headers["X-Business-Use-Case-Usage"])
        assert usage[PAGE][0]["type"] == "pages"
        assert answer.json()["error"]["is_transient"] is True
    assert fb.posts("facebook") == []


def test_accept_then_stall(fb: Any) -> None:
    fb.fail("facebook", "stall", seconds=3)
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            graph(fb, f"/{PAGE}/feed"),
            data={"message": "made once", "access_token": "page-token"},
            timeout=0.5,
        )
    again = requests.post(
        graph(fb, f"/{PAGE}/feed"), data={"message": "made once", "access_token": "page-token"}
    )
    assert again.json()["error"]["code"] == 506
    assert [p["message"] for p in fb.posts("facebook")] == ["made once"]


def test_login_code_exchange_and_long_lived_token(platforms: Any) -> None:
    platforms.register_client("facebook", "app-id", "app-secret", redirect_uris=[REDIRECT])
    platforms.sign_in_as("facebook", USER)
    dialog = requests.get(
        platforms.base_url("facebook") + "/v21.0/dialog/oauth",
        params={
            "client_id": "app-id",
            "redirect_uri": REDIRECT,
            "state": "s1",
            "scope": "pages_show_list,pages_manage_posts",
        },
        allow_redirects=False,
    )
    back = parse_qs(urlsplit(dialog.headers["Location"]).query)
    assert back["state"] == ["s1"]
    exchange = graph(platforms, "/oauth/access_token")
    short = requests.get(
        exchange,
        params={
            "client_id": "app-id",
            "client_secret": "app-secret",
            "redirect_uri": REDIRECT,
            "code": back["code"][0],
        },
    ).json()
    assert short["token_type"] == "bearer" and short["expires_in"] == 3600
    long = requests.get(
        exchange,
        params={
            "grant_type": "fb_exchange_token",
            "client_id": "app-id",
            "client_secret": "app-secret",
            "fb_exchange_token": short["access_token"],
        },
    ).json()
    assert long["expires_in"] == 5183944
    me = requests.get(graph(platforms, "/me"), params={"access_token": long["access_token"]})
    assert me.json()["id"] == USER
    used = requests.get(
        exchange,
        params={
            "client_id": "app-id",
            "client_secret": "app-secret",
            "redirect_uri": REDIRECT,
            "code": back["code"][0],
        },
    )
    assert used.status_code == 400 and used.json()["error"]["code"] == 100
    bad_secret = requests.get(
        exchange,
        params={
            "grant_type": "fb_exchange_token",
            "client_id": "app-id",
            "client_secret": "x",
            "fb_exchange_token": short["access_token"],
        },
    )
    assert bad_secret.json()["error"]["code"] == 1


def test_login_with_pkce_needs_the_verifier(platforms: Any) -> None:
    """OIDC code flow with PKCE (facebook-login/guides/advanced/oidc-token): a code issued
    for a ``code_challenge`` is redeemed only with its ``code_verifier``; a wrong one burns
    it."""
    platforms.register_client("facebook", "app-id", "app-secret", redirect_uris=[REDIRECT])
    platforms.sign_in_as("facebook", USER)
    verifier = "v" * 43
    challenge = s256(verifier)

    def code() -> str:
        dialog = requests.get(
            platforms.base_url("facebook") + "/v21.0/dialog/oauth",
            params={
                "client_id": "app-id",
                "redirect_uri": REDIRECT,
                "state": "s1",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
            allow_redirects=False,
        )
        return parse_qs(urlsplit(dialog.headers["Location"]).query)["code"][0]

    def redeem(given: str, with_verifier: str | None) -> requests.Response:
        params = {"client_id": "app-id", "client_secret": "app-secret", "redirect_uri": REDIRECT}
        params |= {"code": given} | ({"code_verifier": with_verifier} if with_verifier else {})
        return requests.get(graph(platforms, "/oauth/access_token"), params=params)

    first = code()
    assert redeem(first, "w" * 43).json()["error"]["code"] == 100
    assert redeem(first, verifier).status_code == 400  # burnt by the wrong verifier
    assert redeem(code(), None).json()["error"]["code"] == 100
    assert redeem(code(), verifier).json()["expires_in"] == 3600


def test_a_page_names_its_instagram_business_account(fb: Any) -> None:
    """``GET /{page-id}?fields=instagram_business_account`` answers the linked Instagram
    account's id, as the Instagram Graph API's getting-started guide reads it; a Page
    without one answers no such field; ``fields`` chooses what is shown."""
    fb.platform("facebook").add_page("77", "No Insta", owner=USER, page_token="other-page")
    wanted = {"fields": "instagram_business_account", "access_token": "user-token"}
    linked = requests.get(graph(fb, f"/{PAGE}"), params=wanted).json()
    assert linked == {"instagram_business_account": {"id": IG}, "id": PAGE}
    assert requests.get(graph(fb, "/77"), params=wanted).json() == {"id": "77"}
    plain = requests.get(graph(fb, f"/{PAGE}"), params={"access_token": "page-token"}).json()
    assert plain == {"id": PAGE, "name": "Corner Cafe"}
