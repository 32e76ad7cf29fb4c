"""The WordPress stand-in over plain HTTP, as the REST API Handbook shows it: posts with
an application password, media uploads as a raw body, tags by term id, the list filters
and paging headers, WordPress's error bodies, and injected faults."""

from __future__ import annotations

from typing import Any

import pytest
import requests

PASSWORD = "abcd EFGH 1234 ijkl MNOP 5678"
AUTH = ("editor", PASSWORD)


@pytest.fixture
def wp(platforms: Any) -> Any:
    platforms.platform("wordpress").add_site("blog", "editor", PASSWORD)
    return platforms


def api(platforms: Any, route: str, site: str = "blog") -> str:
    return str(platforms.base_url("wordpress", site)) + "/wp-json/wp/v2" + route


def test_a_post_with_tags_and_a_featured_image(wp: Any) -> None:
    upload = requests.post(
        api(wp, "/media"),
        data=b"\x89PNG fake image",
        auth=AUTH,
        headers={
            "Content-Type": "image/png",
            "Content-Disposition": 'attachment; filename="bread.png"',
        },
    )
    assert upload.status_code == 201
    media = upload.json()
    assert (media["media_type"], media["mime_type"]) == ("image", "image/png")
    assert requests.get(media["source_url"]).content == b"\x89PNG fake image"
    tag = requests.post(api(wp, "/tags"), json={"name": "Bakery News"}, auth=AUTH).json()
    assert (tag["slug"], tag["taxonomy"]) == ("bakery-news", "post_tag")
    answer = requests.post(
        api(wp, "/posts"),
        auth=AUTH,
        json={
            "title": "Fresh bread",
            "content": "Out of the oven.\n\nCome early.",
            "status": "publish",
            "tags": [tag["id"]],
            "featured_media": media["id"],
        },
    )
    assert answer.status_code == 201
    post = answer.json()
    assert answer.headers["Location"].endswith(f"/wp-json/wp/v2/posts/{post['id']}")
    assert (post["slug"], post["status"], post["tags"], post["featured_media"]) == (
        "fresh-bread",
        "publish",
        [tag["id"]],
        media["id"],
    )
    assert post["title"] == {"raw": "Fresh bread", "rendered": "Fresh bread"}
    assert post["content"]["rendered"] == "<p>Out of the oven.</p>\n<p>Come early.</p>\n"
    assert [p["title"] for p in wp.posts("wordpress")] == ["Fresh bread"]
    counted = requests.get(api(wp, "/tags"), params={"slug": "bakery-news"}).json()
    assert counted[0]["count"] == 1


def test_form_bodies_and_drafts(wp: Any) -> None:
    answer = requests.post(
        api(wp, "/posts"), auth=AUTH, data={"title": "Draft idea", "content": "later", "tags": ""}
    )
    assert answer.status_code == 201
    assert (answer.json()["status"], answer.json()["slug"]) == ("draft", "")


def test_listing_filters_pages_and_private_statuses(wp: Any) -> None:
    for n in range(3):
        requests.post(
            api(wp, "/posts"),
            auth=AUTH,
            json={"title": f"Post {n}", "content": "bread" if n else "cake", "status": "publish"},
        )
    requests.post(api(wp, "/posts"), auth=AUTH, json={"title": "Secret", "status": "draft"})
    public = requests.get(api(wp, "/posts"), params={"per_page": 2})
    assert [p["title"]["rendered"] for p in public.json()] == ["Post 2", "Post 1"]
    assert (public.headers["X-WP-Total"], public.headers["X-WP-TotalPages"]) == ("3", "2")
    assert "raw" not in public.json()[0]["title"]
    assert len(requests.get(api(wp, "/posts"), params={"search": "bread"}).json()) == 2
    by_slug = requests.get(api(wp, "/posts"), params={"slug": "post-0"}).json()
    assert [p["slug"] for p in by_slug] == ["post-0"]
    forbidden = requests.get(api(wp, "/posts"), params={"status": "draft"})
    assert (forbidden.status_code, forbidden.json()["code"]) == (400, "rest_invalid_param")
    drafts = requests.get(api(wp, "/posts"), params={"status": "draft"}, auth=AUTH).json()
    assert [p["title"]["rendered"] for p in drafts] == ["Secret"]
    past_end = requests.get(api(wp, "/posts"), params={"page": 9})
    assert past_end.json()["code"] == "rest_post_invalid_page_number"
    other_site = requests.get(api(wp, "/posts", site="other")).json()
    assert other_site == []


def test_slugs_stay_unique(wp: Any) -> None:
    slugs = [
        requests.post(
            api(wp, "/posts"), auth=AUTH, json={"title": "Same title", "status": "publish"}
        ).json()["slug"]
        for _ in range(2)
    ]
    assert slugs == ["same-title", "same-title-2"]


@pytest.mark.parametrize(
    ("auth", "code"),
    [
        (None, "rest_cannot_create"),
        (("editor", "wrong password"), "incorrect_password"),
        (("nobody", PASSWORD), "invalid_username"),
    ],
)
def test_credentials(wp: Any, auth: Any, code: str) -> None:
    answer = requests.post(api(wp, "/posts"), auth=auth, json={"title": "x"})
    assert answer.status_code == 401
    assert answer.json()["code"] == code
    assert answer.json()["data"] == {"status": 401}
    assert wp.posts("wordpress") == []


def test_a_revoked_application_password(wp: Any) -> None:
    wp.revoke("wordpress", PASSWORD)
    answer = requests.post(api(wp, "/posts"), auth=AUTH, json={"title": "x"})
    assert answer.json()["code"] == "incorrect_password"


def test_bad_posts_are_400s(wp: Any) -> None:
    def post(payload: Any) -> str:
        answer = requests.post(api(wp, "/posts"), auth=AUTH, json=payload)
        assert answer.status_code == 400, payload
        return str(answer.json()["code"])

    assert post({}) == "empty_content"
    assert post({"title": "t", "status": "published"}) == "rest_invalid_param"
    assert post({"title": "t", "tags": ["bread"]}) == "rest_invalid_param"
    assert post({"title": "t", "featured_media": 999}) == "rest_invalid_featured_media"
    bad_json = requests.post(
        api(wp, "/posts"), auth=AUTH, data=b"{", headers={"Content-Type": "application/json"}
    )
    assert bad_json.json()["code"] == "rest_invalid_json"


def test_upload_refusals_follow_upload_from_data(wp: Any) -> None:
    def upload(body: bytes, headers: dict[str, str]) -> str:
        answer = requests.post(api(wp, "/media"), data=body, auth=AUTH, headers=headers)
        assert answer.status_code == 400
        return str(answer.json()["code"])

    assert upload(b"", {"Content-Type": "image/png"}) == "rest_upload_no_data"
    assert upload(b"x", {"Content-Type": "image/png"}) == "rest_upload_no_content_disposition"
    assert upload(b"x", {"Content-Type": "image/png", "Content-Disposition": "attachment"}) == (
        "rest_upload_invalid_disposition"
    )
    anonymous = requests.post(
        api(wp, "/media"),
        data=b"x",
        headers={"Content-Type": "image/png", "Content-Disposition": "attachment; filename=a.png"},
    )
    assert anonymous.json()["code"] == "rest_cannot_create"


def test_a_tag_name_is_used_once(wp: Any) -> None:
    first = requests.post(api(wp, "/tags"), json={"name": "News"}, auth=AUTH).json()
    again = requests.post(api(wp, "/tags"), json={"name": "news"}, auth=AUTH)
    assert again.status_code == 400
    assert again.json()["code"] == "term_exists"
    assert again.json()["data"]["term_id"] == first["id"]
    missing = requests.post(api(wp, "/tags"), json={}, auth=AUTH)
    assert missing.json()["code"] == "rest_missing_callback_param"
    found = requests.get(api(wp, "/tags"), params={"search": "new"}).json()
    assert [t["name"] for t in found] == ["News"]


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        (401, 401, "incorrect_password"),
        (403, 403, "rest_forbidden"),
        (429, 429, "too_many_requests"),
        (500, 500, "internal_server_error"),
    ],
)
def test_injected_faults(wp: Any, kind: int, status: int, code: str) -> None:
    wp.fail("wordpress", kind)
    answer = requests.post(api(wp, "/posts"), auth=AUTH, json={"title": "x"})
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert wp.posts("wordpress") == []


def test_maintenance_is_wordpress_503_page(wp: Any) -> None:
    wp.fail("wordpress", 503)
    answer = requests.post(api(wp, "/posts"), auth=AUTH, json={"title": "x"})
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "600"
    assert "Briefly unavailable for scheduled maintenance" in answer.text


def test_accept_then_stall(wp: Any) -> None:
    wp.fail("wordpress", "stall", seconds=3, path="/blog/wp-json/wp/v2/posts")
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            api(wp, "/posts"),
            auth=AUTH,
            timeout=0.5,
            json={"title": "Only once", "status": "publish"},
        )
    found = requests.get(api(wp, "/posts"), params={"search": "Only once"}).json()
    assert [p["slug"] for p in found] == ["only-once"]
