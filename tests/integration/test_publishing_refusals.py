"""Publishing now through publish_content to localcloud's platform stand-ins, with the
local Firestore and the local Cloud Tasks: what a platform refuses, what is refused
before anything is sent, and the platforms not covered by the scheduled run (Instagram,
a signed webhook, WordPress's featured image)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import requests

from localcloud.platforms.hooks import sign
from tests.publishing_support import (
    GRAPH,
    HOOK_SECRET,
    IG_USER,
    Stack,
    connect,
    posting,
    publish,
    stack,
)

__all__ = ["stack"]  # the fixture, used by name

CONTENT = "companies/acme/content/c1"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 64


def content(db: Any, **fields: Any) -> None:
    data = {"title": "Spring offers", "body": "Boiler checks, 20% off.", "type": "social"}
    db.document(CONTENT).set(data | {"status": "draft"} | fields)


def state(db: Any, platform: str) -> dict[str, Any]:
    found: dict[str, Any] = db.document(CONTENT).get().to_dict()["platform_status"][platform]
    return found


def test_an_expired_token_fails_the_post_and_asks_to_reconnect(
    db: Any, stack: Stack, function_client: Any, staff_auth: Any
) -> None:
    """LinkedIn refuses the expired token: the post fails at once with "reconnect", the
    connection is marked reconnect with LinkedIn's words; publishing again sends nothing
    until it is reconnected, and new credentials (PATCH) reconnect it."""
    connect(function_client, staff_auth, stack.platforms, "linkedin")
    stack.platforms.expire("linkedin", "li-token")
    content(db)
    res = publish(function_client, staff_auth, "c1", platforms=["linkedin"])
    body = res.get_json()
    assert (200, "failed") == (res.status_code, body["status"])
    assert "reconnect" == db.document(CONTENT).get().get("failure_reason")
    assert ("failed", "reconnect") == (
        state(db, "linkedin")["status"],
        state(db, "linkedin")["error"],
    )
    api, admin = function_client("integrations"), staff_auth("acme", "admin")
    conn = api.get("/companies/acme/social_connections/linkedin", headers=admin).get_json()
    assert ("reconnect", True) == (conn["status"], conn["status_changed_at"] is not None)
    assert "The token used in the request has expired" in conn["error_message"]
    assert 1 == len(posting(stack.platforms, "linkedin", "/rest/posts"))
    again = publish(function_client, staff_auth, "c1", platforms=["linkedin"]).get_json()
    assert ("failed", 1) == (
        again["status"],
        len(posting(stack.platforms, "linkedin", "/rest/posts")),
    )
    stack.platforms.grant(
        "linkedin", "li-new", subject="urn:li:person:m1", organizations=["urn:li:organization:42"]
    )
    patched = api.patch(
        "/companies/acme/social_connections/linkedin",
        json={"access_token": "li-new"},
        headers=admin,
    )
    assert "active" == patched.get_json()["status"]
    assert patched.get_json()["status_changed_at"] > conn["status_changed_at"]
    assert (
        "published"
        == publish(function_client, staff_auth, "c1", platforms=["linkedin"]).get_json()["status"]
    )


def test_a_refusal_fails_with_the_platforms_own_message(
    db: Any, stack: Stack, function_client: Any, staff_auth: Any
) -> None:
    """The Page token is good but names a Page Graph does not know: Graph's (#100)
    refusal, in its words, is the platform's error; nothing is retried."""
    connect(function_client, staff_auth, stack.platforms, "facebook")
    stack.platforms.grant("facebook", "stray-page-token", subject="999")
    api, admin = function_client("integrations"), staff_auth("acme", "admin")
    api.patch(
        "/companies/acme/social_connections/facebook",
        json={"page_id": "999", "access_token": "stray-page-token"},
        headers=admin,
    )
    content(db)
    body = publish(function_client, staff_auth, "c1", platforms=["facebook"]).get_json()
    error = state(db, "facebook")["error"]
    assert ("failed", "failed") == (body["status"], state(db, "facebook")["status"])
    assert error.startswith("Facebook refused the post: Unsupported post request.")
    assert "Object with ID '999' does not exist" in error
    assert 1 == len(posting(stack.platforms, "facebook", f"{GRAPH}/999/feed"))


def test_instagram_without_an_image_is_refused_before_anything_is_sent(
    db: Any, stack: Stack, function_client: Any, staff_auth: Any
) -> None:
    """A 400 from publish_content, and from the staff API scheduling it; Graph heard
    nothing, and the content is as it was."""
    connect(function_client, staff_auth, stack.platforms, "instagram")
    content(db)
    res = publish(function_client, staff_auth, "c1", platforms=["instagram"])
    assert 400 == res.status_code
    assert "Instagram publishes images only" in res.get_json()["error"]["message"]
    assert "draft" == db.document(CONTENT).get().get("status")
    scheduled = {
        "title": "Spring",
        "type": "social",
        "status": "scheduled",
        "platforms": ["instagram"],
        "scheduled_at": "2030-01-01T09:00:00Z",
    }
    api = function_client("staff_api")
    res = api.post("/companies/acme/content", json=scheduled, headers=staff_auth("acme"))
    assert 400 == res.status_code
    assert "Instagram publishes images only" in json.dumps(res.get_json())
    assert [] == stack.platforms.requests("facebook")


def test_an_x_post_over_the_limit_is_refused_before_sending(
    db: Any, stack: Stack, function_client: Any, staff_auth: Any
) -> None:
    """260 characters and two links count 306 on X: a 400 saying so; X heard nothing.
    The same text without the links fits and is posted."""
    connect(function_client, staff_auth, stack.platforms, "twitter")
    text = "a" * 258 + " https://acme.example/spring https://acme.example/book"
    content(db, body=text)
    res = publish(function_client, staff_auth, "c1", platforms=["x"])
    assert 400 == res.status_code
    assert "this post counts 306" in res.get_json()["error"]["message"]
    assert [] == stack.platforms.requests("x")
    content(db, body="a" * 258)
    assert (
        "published"
        == publish(function_client, staff_auth, "c1", platforms=["x"]).get_json()["status"]
    )


def test_instagram_publishes_a_container_then_the_post(
    db: Any, stack: Stack, function_client: Any, staff_auth: Any
) -> None:
    """``/media`` with the image and caption, then ``/media_publish`` with its id."""
    connect(function_client, staff_auth, stack.platforms, "instagram")
    content(db, image_url="https://cdn.acme.example/spring.png")
    body = publish(function_client, staff_auth, "c1", platforms=["instagram"]).get_json()
    assert "published" == body["status"]
    (made,) = posting(stack.platforms, "facebook", f"{GRAPH}/{IG_USER}/media")
    (published,) = posting(stack.platforms, "facebook", f"{GRAPH}/{IG_USER}/media_publish")
    assert "https%3A%2F%2Fcdn.acme.example%2Fspring.png" in made["body"]
    (post,) = stack.platforms.posts("facebook")
    assert post["permalink"] == state(db, "instagram")["url"]
    assert (
        f"creation_id={stack.platforms.objects('facebook', 'container')[0]['id']}"
        == published["body"]
    )


def test_a_webhook_delivery_is_signed_as_the_receiver_checks(
    db: Any, stack: Stack, function_client: Any, staff_auth: Any
) -> None:
    """The hook stand-in, configured with the connection's secret, verifies the delivery
    (HMAC-SHA256 over timestamp and body) and records it; the post is published."""
    connect(function_client, staff_auth, stack.platforms, "webhook")
    content(db, tags=["spring"])
    body = publish(function_client, staff_auth, "c1", platforms=["webhook"]).get_json()
    assert "published" == body["status"]
    (delivery,) = stack.platforms.posts("hooks")
    assert delivery["verified"]
    sent = delivery["body"]
    assert ("content.publish", "acme:c1:webhook", "Spring offers", ["spring"]) == (
        sent["event"],
        sent["id"],
        sent["title"],
        sent["tags"],
    )
    (request,) = posting(stack.platforms, "hooks", "/zap")
    headers = request["headers"]
    signed = sign(HOOK_SECRET, request["body"].encode(), headers["x-growthkit-timestamp"])
    assert signed == headers["x-growthkit-signature"]
    expected = hmac.new(
        HOOK_SECRET.encode(),
        f"{headers['x-growthkit-timestamp']}.{request['body']}".encode(),
        hashlib.sha256,
    ).hexdigest()
    assert f"sha256={expected}" == signed
    assert "acme:c1:webhook" == headers["idempotency-key"]


def test_wordpress_features_the_contents_image(
    db: Any, stack: Stack, function_client: Any, staff_auth: Any
) -> None:
    """The image (served by another site of the stand-in) is fetched and uploaded to the
    blog's media; the post names it as its featured media."""
    connect(function_client, staff_auth, stack.platforms, "wordpress")
    wordpress = stack.platforms.platform("wordpress")
    wordpress.add_site("cdn", "uploader", "cdn password")
    upload = requests.post(
        stack.platforms.base_url("wordpress", "cdn") + "/wp-json/wp/v2/media",
        data=PNG,
        headers={
            "Content-Type": "image/png",
            "Content-Disposition": 'attachment; filename="spring.png"',
        },
        auth=("uploader", "cdn password"),
        timeout=5,
    )
    content(db, image_url=upload.json()["source_url"])
    assert (
        "published"
        == publish(function_client, staff_auth, "c1", platforms=["wordpress"]).get_json()["status"]
    )
    media = [m for m in stack.platforms.objects("wordpress", "media") if m["site"] == "blog"]
    (post,) = stack.platforms.posts("wordpress")
    assert (1, len(PNG), "image/png") == (
        len(media),
        media[0]["media_details"]["filesize"],
        media[0]["mime_type"],
    )
    assert media[0]["id"] == post["featured_media"]
