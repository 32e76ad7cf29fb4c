"""The LinkedIn stand-in over plain HTTP, as Microsoft Learn documents the Posts API and
3-legged OAuth: the versioned headers, the post body, the URN in ``x-restli-id``, the
finder, LinkedIn's error shapes, code exchange and refresh, and injected faults."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

MEMBER = "urn:li:person:8675309"
ORG = "urn:li:organization:5515715"
REDIRECT = "https://app.example/linkedin/callback"


def headers(token: str = "member-token", version: str | None = "202405") -> dict[str, str]:
    found = {"Authorization": f"Bearer {token}", "X-Restli-Protocol-Version": "2.0.0"}
    return found | ({"LinkedIn-Version": version} if version else {})


def body(author: str = MEMBER, text: str = "Sample text Post") -> dict[str, Any]:
    return {
        "author": author,
        "commentary": text,
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }


def create(platforms: Any, payload: Any, **kw: Any) -> requests.Response:
    kw.setdefault("headers", headers())
    return requests.post(platforms.base_url("linkedin") + "/rest/posts", json=payload, **kw)


@pytest.fixture
def linkedin(platforms: Any) -> Any:
    platforms.grant("linkedin", "member-token", subject=MEMBER, organizations=[ORG])
    return platforms


def test_a_post_answers_201_with_its_urn_and_reads_back(linkedin: Any) -> None:
    answer = create(linkedin, body())
    assert answer.status_code == 201 and answer.content == b""
    urn = answer.headers["x-restli-id"]
    assert urn.startswith("urn:li:share:")
    (post,) = linkedin.posts("linkedin")
    assert (post["id"], post["author"], post["commentary"]) == (urn, MEMBER, "Sample text Post")
    read = requests.get(
        linkedin.base_url("linkedin") + "/rest/posts/" + quote(urn, safe=""), headers=headers()
    )
    assert read.status_code == 200
    assert read.json()["commentary"] == "Sample text Post"
    assert read.json()["lifecycleState"] == "PUBLISHED"


def test_an_organization_post_needs_admin_rights(linkedin: Any) -> None:
    assert create(linkedin, body(author=ORG)).status_code == 201
    refused = create(linkedin, body(author="urn:li:organization:1"))
    assert refused.status_code == 403
    assert refused.json()["code"] == "ACCESS_DENIED"
    assert create(linkedin, body(author="urn:li:person:someoneelse")).status_code == 403


def test_versioned_headers_are_required(linkedin: Any) -> None:
    missing = create(linkedin, body(), headers=headers(version=None))
    assert missing.status_code == 400
    assert missing.json()["code"] == "VERSION_MISSING"
    unknown = create(linkedin, body(), headers=headers(version="1999"))
    assert (unknown.status_code, unknown.json()["code"]) == (426, "NONEXISTENT_VERSION")
    no_protocol = {k: v for k, v in headers().items() if k != "X-Restli-Protocol-Version"}
    assert create(linkedin, body(), headers=no_protocol).status_code == 400
    assert linkedin.posts("linkedin") == []


def test_schema_errors_are_422_with_linkedins_lines(linkedin: Any) -> None:
    incomplete = {"author": MEMBER, "commentary": "hi", "extra": 1}
    answer = create(linkedin, incomplete)
    assert answer.status_code == 422
    message = answer.json()["message"]
    assert "ERROR :: /visibility :: field is required but not found" in message
    assert "ERROR :: /lifecycleState :: field is required" in message
    assert "ERROR :: /extra :: unrecognized field found but not allowed" in message
    too_long = create(linkedin, body(text="x" * 3001))
    assert too_long.status_code == 422
    bad_json = requests.post(
        linkedin.base_url("linkedin") + "/rest/posts",
        data=b"{nope",
        headers=headers() | {"Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["message"] == "Request body could not be converted to data map"


@pytest.mark.parametrize(
    ("change", "service", "code"),
    [
        ("unknown", 65600, "INVALID_ACCESS_TOKEN"),
        ("revoke", 65601, "REVOKED_ACCESS_TOKEN"),
        ("expire", 65602, "EXPIRED_ACCESS_TOKEN"),
    ],
)
def test_bad_tokens_get_linkedins_401s(linkedin: Any, change: str, service: int, code: str) -> None:
    if change != "unknown":
        getattr(linkedin, change)("linkedin", "member-token")
    token = "not-issued" if change == "unknown" else "member-token"
    answer = create(linkedin, body(), headers=headers(token))
    assert answer.status_code == 401
    assert answer.json() == {
        "status": 401,
        "serviceErrorCode": service,
        "code": code,
        "message": answer.json()["message"],
    }
    empty = requests.post(
        linkedin.base_url("linkedin") + "/rest/posts",
        json=body(),
        headers={"LinkedIn-Version": "202405"},
    )
    assert empty.json() == {
        "status": 401,
        "serviceErrorCode": 401,
        "message": "Empty oauth2_access_token",
    }


def test_the_author_finder_lists_newest_first(linkedin: Any) -> None:
    first = create(linkedin, body(text="one")).headers["x-restli-id"]
    second = create(linkedin, body(text="two")).headers["x-restli-id"]
    create(linkedin, body(author=ORG, text="org"))
    found = requests.get(
        linkedin.base_url("linkedin") + "/rest/posts",
        params={"q": "author", "author": MEMBER},
        headers=headers(),
    ).json()
    assert [p["id"] for p in found["elements"]] == [second, first]
    assert found["paging"]["total"] == 2


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("revoked_token", 401, "REVOKED_ACCESS_TOKEN"),
        (403, 403, "ACCESS_DENIED"),
        (429, 429, "TOO_MANY_REQUESTS"),
        (500, 500, "INTERNAL_SERVER_ERROR"),
        (503, 503, "SERVICE_UNAVAILABLE"),
    ],
)
def test_injected_faults(linkedin: Any, kind: Any, status: int, code: str) -> None:
    linkedin.fail("linkedin", kind, path="/rest/posts")
    answer = create(linkedin, body())
    assert (answer.status_code, answer.json()["status"], answer.json()["code"]) == (
        status,
        status,
        code,
    )
    assert linkedin.posts("linkedin") == []
    assert create(linkedin, body()).status_code == 201


def test_accept_then_stall(linkedin: Any) -> None:
    linkedin.fail("linkedin", "stall", seconds=3)
    with pytest.raises(requests.ReadTimeout):
        create(linkedin, body(text="made, unanswered"), timeout=0.5)
    found = requests.get(
        linkedin.base_url("linkedin") + "/rest/posts",
        params={"q": "author", "author": MEMBER},
        headers=headers(),
    ).json()
    assert [p["commentary"] for p in found["elements"]] == ["made, unanswered"]


def test_oauth_code_exchange_refresh_and_userinfo(platforms: Any) -> None:
    platforms.register_client("linkedin", "li-app", "li-secret", redirect_uris=[REDIRECT])
    platforms.sign_in_as("linkedin", MEMBER, name="Ada Lovelace")
    answer = requests.get(
        platforms.base_url("linkedin") + "/oauth/v2/authorization",
        params={
            "response_type": "code",
            "client_id": "li-app",
            "redirect_uri": REDIRECT,
            "state": "DCEeFWf45A53sdfKef424",
            "scope": "openid profile w_member_social",
        },
        allow_redirects=False,
    )
    assert answer.status_code == 302
    back = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert back["state"] == ["DCEeFWf45A53sdfKef424"]
    token_url = platforms.base_url("linkedin") + "/oauth/v2/accessToken"
    form = {
        "grant_type": "authorization_code",
        "code": back["code"][0],
        "redirect_uri": REDIRECT,
        "client_id": "li-app",
        "client_secret": "li-secret",
    }
    issued = requests.post(token_url, data=form).json()
    assert issued["expires_in"] > 60 * 86400 - 5
    assert issued["refresh_token_expires_in"] > 365 * 86400 - 5
    assert issued["scope"] == "openid,profile,w_member_social"
    assert create(platforms, body(), headers=headers(issued["access_token"])).status_code == 201
    me = requests.get(
        platforms.base_url("linkedin") + "/v2/userinfo",
        headers={"Authorization": f"Bearer {issued['access_token']}"},
    ).json()
    assert (me["sub"], me["name"]) == ("8675309", "Ada Lovelace")
    reused = requests.post(token_url, data=form)
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_request")
    renewed = requests.post(
        token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": issued["refresh_token"],
            "client_id": "li-app",
            "client_secret": "li-secret",
        },
    ).json()
    assert renewed["access_token"] != issued["access_token"]
    assert renewed["refresh_token"] == issued["refresh_token"]  # LinkedIn keeps it, and its TTL
    assert renewed["refresh_token_expires_in"] <= issued["refresh_token_expires_in"]
    wrong_secret = requests.post(token_url, data=form | {"client_secret": "nope"})
    assert (wrong_secret.status_code, wrong_secret.json()["error"]) == (401, "invalid_client")
