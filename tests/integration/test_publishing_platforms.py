"""Scheduled content reaching the platforms: publish_content, the local Cloud Tasks
delivering run_task over HTTP, the local Firestore, and localcloud's stand-ins of
WordPress, LinkedIn, X and a Facebook Page answering as the real ones document. What
arrived is checked against the platforms' documentation: paths, headers, bodies."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from localcloud.tasks.testing import wait_until
from shared.domain.publishing import NO_BLOG
from tests.integration.event_support import ProjectFeed, deliver
from tests.publishing_support import (
    GRAPH,
    ORG,
    PAGE_ID,
    STALL,
    WP_PASSWORD,
    WP_USER,
    X_USER,
    Stack,
    body_json,
    connect,
    posting,
    publish,
    stack,
)
from tests.support import docs

__all__ = ["stack"]  # the fixture, used by name

CONTENT = "companies/acme/content/c1"
BODY = "20% off boiler checks (this week only) #spring"
FEED = f"{GRAPH}/{PAGE_ID}/feed"
POSTS = {"wordpress": "/wp-json/wp/v2/posts", "linkedin": "/rest/posts", "x": "/2/tweets"}
POSTS["facebook"] = FEED


def content(db: Any, **fields: Any) -> None:
    data = {"title": "Spring offers", "body": BODY, "type": "blog", "status": "draft"}
    db.document(CONTENT).set(data | {"tags": ["boilers", "spring"]} | fields)


def schedule(stack: Stack, function_client: Any, staff_auth: Any, platforms: list[str]) -> str:
    """Scheduled a minute ahead (202), then the minute passes on the Tasks clock."""
    when = stack.now() + timedelta(minutes=1)
    res = publish(
        function_client, staff_auth, "c1", scheduled_at=when.isoformat(), platforms=platforms
    )
    assert 202 == res.status_code, res.get_json()
    stack.advance(timedelta(minutes=1, seconds=1))
    return str(res.get_json()["task_id"])


def settled(db: Any, timeout: float = 30) -> dict[str, Any]:
    """The content once it is no longer scheduled (published, it should be)."""
    found: dict[str, Any] = wait_until(
        lambda: (c := db.document(CONTENT).get().to_dict())["status"] != "scheduled" and c,
        timeout=timeout,
    )
    assert "published" == found["status"], found
    return found


def test_one_item_reaches_each_platform_once_though_answers_are_lost(
    db: Any, stack: Stack, function_client: Any, staff_auth: Any
) -> None:
    """Every platform acts on the post and holds its answer past the timeout; X's and
    LinkedIn's first lookups fail too, so the task is retried and looks again. Each
    platform received exactly one post request, as documented, and holds one post; the
    content is published with each platform's URL; a repeated delivery sends nothing."""
    platforms = stack.platforms
    connect(function_client, staff_auth, platforms, "wordpress", "linkedin", "twitter", "facebook")
    content(db)
    for platform, path in POSTS.items():
        prefix = "/blog" + path if platform == "wordpress" else path
        platforms.fail(platform, "stall", seconds=STALL, path=prefix)
    platforms.fail("x", 503, path=f"/2/users/{X_USER}/tweets")
    platforms.fail("linkedin", 500, path="/rest/posts")
    task_id = schedule(
        stack, function_client, staff_auth, ["wordpress", "linkedin", "x", "facebook"]
    )
    done = settled(db)
    states = done["platform_status"]
    assert {p: s["status"] for p, s in states.items()} == dict.fromkeys(
        ["wordpress", "linkedin", "x", "facebook"], "published"
    )
    assert (1, 2, 2, 1) == tuple(
        states[p]["attempts"] for p in ("wordpress", "linkedin", "x", "facebook")
    )
    assert all(s["url"] and s["sent_at"] is None for s in states.values())
    assert 4 == len(docs(db, "companies/acme/publications"))
    check_requests(platforms)
    before = len(platforms.requests())
    wait_until(
        lambda: (
            db.document(f"companies/acme/scheduled_tasks/{task_id}").get().get("status")
            == "completed"
        )
    )
    again = function_client("run_task").post("/", json={"company_id": "acme", "task_id": task_id})
    assert "duplicate" == again.get_json()["outcome"]
    assert before == len(platforms.requests())


def check_requests(platforms: Any) -> None:
    """One post request per platform, each as its API documents, and one post each."""
    for platform, path in POSTS.items():
        assert 1 == len(posting(platforms, platform, path)), platform
        assert 1 == len(platforms.posts(platform)), platform
    (wp,) = posting(platforms, "wordpress", POSTS["wordpress"])
    basic = base64.b64encode(f"{WP_USER}:{WP_PASSWORD}".encode()).decode()
    sent = body_json(wp)
    assert f"Basic {basic}" == wp["headers"]["authorization"]
    assert ("Spring offers", "publish") == (sent["title"], sent["status"])
    assert sent["content"].startswith(BODY) and "<!-- growthkit-" in sent["content"]
    tags = {t["name"]: t["id"] for t in platforms.objects("wordpress", "tag")}
    assert sorted(tags.values()) == sorted(sent["tags"]) and set(tags) == {"boilers", "spring"}
    (li,) = posting(platforms, "linkedin", POSTS["linkedin"])
    sent = body_json(li)
    assert ("2.0.0", "Bearer li-token") == (
        li["headers"]["x-restli-protocol-version"],
        li["headers"]["authorization"],
    )
    assert li["headers"]["linkedin-version"].isdigit()
    assert (ORG, "PUBLISHED", "PUBLIC") == (
        sent["author"],
        sent["lifecycleState"],
        sent["visibility"],
    )
    assert r"20% off boiler checks \(this week only\) \#spring" in sent["commentary"]
    (x,) = posting(platforms, "x", POSTS["x"])
    assert "Bearer x-token" == x["headers"]["authorization"]
    assert {"text": f"Spring offers\n\n{BODY}"} == body_json(x)
    (fb,) = posting(platforms, "facebook", FEED)
    assert "Bearer fb-page-token" == fb["headers"]["authorization"]
    assert {"message": [f"Spring offers\n\n{BODY}"]} == parse_qs(fb["body"])
    assert "access_token" not in fb["path"]


def test_a_rate_limit_reschedules_the_task_for_the_time_the_platform_gave(
    db: Any, stack: Stack, function_client: Any, staff_auth: Any
) -> None:
    """WordPress answers 429 with Retry-After: 60: the platform waits (retry_at), the task
    is pending and due 60 s later with a Cloud Task for then, nothing is sent meanwhile;
    once the minute passes the post goes out, once."""
    connect(function_client, staff_auth, stack.platforms, "wordpress")
    content(db, tags=[])
    stack.platforms.fail("wordpress", 429, path="/blog" + POSTS["wordpress"])
    task_id = schedule(stack, function_client, staff_auth, ["wordpress"])
    path = f"companies/acme/scheduled_tasks/{task_id}"
    task = wait_until(lambda: (t := db.document(path).get().to_dict())["error"] and t, timeout=20)
    state = db.document(CONTENT).get().to_dict()["platform_status"]["wordpress"]
    assert ("pending", "pending") == (task["status"], state["status"])
    assert state["retry_at"] == task["scheduled_for"]
    waited = (task["scheduled_for"] - stack.now()).total_seconds()
    assert 55 < waited <= 60, waited
    due = task["scheduled_for"].timestamp()
    assert any(abs(t.schedule_time.timestamp() - due) < 0.01 for t in stack.cloud_tasks())
    assert 1 == len(posting(stack.platforms, "wordpress", POSTS["wordpress"]))
    stack.advance(timedelta(seconds=61))
    settled(db)
    assert (2, 1) == (
        len(posting(stack.platforms, "wordpress", POSTS["wordpress"])),
        len(stack.platforms.posts("wordpress")),
    )


def test_a_server_error_is_retried_by_the_queue(
    db: Any, stack: Stack, function_client: Any, staff_auth: Any
) -> None:
    """X answers 503 once: the task fails transiently, Cloud Tasks retries it, one post."""
    connect(function_client, staff_auth, stack.platforms, "twitter")
    content(db, type="social", body="Boiler checks, 20% off this week.")
    stack.platforms.fail("x", 503, path="/2/tweets")
    schedule(stack, function_client, staff_auth, ["x"])
    done = settled(db)
    assert 2 == done["platform_status"]["x"]["attempts"]
    assert (2, 1) == (
        len(posting(stack.platforms, "x", "/2/tweets")),
        len(stack.platforms.posts("x")),
    )


def test_content_without_platforms_goes_to_wordpress_or_fails_saying_why(
    db: Any, stack: Stack, feed: ProjectFeed, function_client: Any, staff_auth: Any
) -> None:
    """Scheduled through the staff API without platforms: a blog post goes to the
    company's WordPress connection; with none connected it fails with the reason."""
    connect(function_client, staff_auth, stack.platforms, "wordpress")
    published = staff_schedule(db, stack, feed, function_client, staff_auth)
    assert ("published", ["wordpress"]) == (published["status"], published["platforms"])
    assert 1 == len(stack.platforms.posts("wordpress"))
    admin = staff_auth("acme", "admin")
    gone = function_client("integrations").delete(
        "/companies/acme/social_connections/wordpress", headers=admin
    )
    assert 204 == gone.status_code
    failed = staff_schedule(db, stack, feed, function_client, staff_auth)
    assert ("failed", f"blog: {NO_BLOG}") == (failed["status"], failed["failure_reason"])
    assert 1 == len(stack.platforms.posts("wordpress"))


def staff_schedule(
    db: Any, stack: Stack, feed: ProjectFeed, function_client: Any, staff_auth: Any
) -> dict[str, Any]:
    """A blog post scheduled a minute ahead through the staff API, without platforms; its
    trigger delivered; the minute passes. The content once its task settled it."""
    when = (stack.now() + timedelta(minutes=1)).isoformat()
    body = {"title": "Spring", "body": "Hello", "type": "blog", "status": "scheduled"}
    created = function_client("staff_api").post(
        "/companies/acme/content", json=body | {"scheduled_at": when}, headers=staff_auth("acme")
    )
    assert 201 == created.status_code, created.get_json()
    path = f"companies/acme/content/{created.get_json()['id']}"
    deliver(function_client("on_content_written"), "on_content_written", *feed.last(path))
    stack.advance(timedelta(minutes=1, seconds=1))
    found: dict[str, Any] = wait_until(
        lambda: (c := db.document(path).get().to_dict())["status"] != "scheduled" and c,
        timeout=20,
    )
    return found
