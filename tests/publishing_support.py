"""The publishing stack for tests: run_task on a real HTTP server fed by the local Cloud
Tasks (the real client), the local Firestore, localcloud's platform stand-ins as every
platform (their base URLs set, as `make serve` will), and one company connected to each
platform through the ``integrations`` function.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from shared import bootstrap
from tests.support import ServerClock, seed_company

GRAPH = "/v23.0"
PAGE_ID = "1234567890"
IG_USER = "17841400000000001"
X_USER = "2244994945"
ORG = "urn:li:organization:42"
WP_USER, WP_PASSWORD = "editor", "abcd EFGH ijkl MNOP qrst UVWX"
HOOK_SECRET = "whsec-0123456789"
TIMEOUT = 1.0  # the publish timeout: a stall of STALL outlasts it
STALL = 3.0


class Stack:
    """What a test drives: the Tasks server (``advance``), the platforms, the queue."""

    def __init__(self, tasks: Any, platforms: Any, queue_path: str) -> None:
        self.tasks = tasks
        self.platforms = platforms
        self.queue_path = queue_path

    def now(self) -> datetime:
        return bootstrap.clock.now()

    def advance(self, delta: timedelta) -> None:
        self.tasks.advance(delta.total_seconds())

    def cloud_tasks(self) -> list[Any]:
        from shared.adapters.clients import tasks_client

        return list(tasks_client().list_tasks(parent=self.queue_path))


def platform_env(platforms: Any) -> dict[str, str]:
    """The settings pointing publishing at the stand-ins."""
    return {
        "GROWTHKIT_LINKEDIN_API_URL": platforms.base_url("linkedin"),
        "GROWTHKIT_X_API_URL": platforms.base_url("x"),
        "GROWTHKIT_FACEBOOK_GRAPH_URL": platforms.base_url("facebook") + GRAPH,
        "GROWTHKIT_WEBHOOKS_ALLOW_LOOPBACK": "true",
        "GROWTHKIT_PUBLISH_TIMEOUT_SECONDS": str(TIMEOUT),
    }


@pytest.fixture
def stack(
    db: Any,
    run_task_url: str,
    cloud_tasks: Any,
    platforms: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Stack:
    """run_task served over HTTP, the local Cloud Tasks (fast retries) calling it, the
    platforms' settings, Acme seeded; the functions' clock is the Tasks server's."""
    from shared.settings import get_settings

    for name, value in platform_env(platforms).items():
        monkeypatch.setenv(name, value)
    tasks = cloud_tasks(max_attempts=10)
    monkeypatch.setattr(bootstrap, "clock", ServerClock(tasks))
    seed_company(db)
    return Stack(tasks, platforms, get_settings().queue_path)


def set_up_platforms(platforms: Any) -> None:
    """Each stand-in knows Acme's accounts and honours their tokens."""
    platforms.platform("wordpress").add_site("blog", WP_USER, WP_PASSWORD)
    platforms.grant(
        "linkedin",
        "li-token",
        subject="urn:li:person:m1",
        scopes=("w_organization_social", "r_organization_social"),
        organizations=[ORG],
    )
    platforms.grant("x", "x-token", subject=X_USER, scopes=("tweet.read", "tweet.write"))
    platforms.platform("facebook").add_page(
        PAGE_ID, "Acme Plumbing", owner="u1", page_token="fb-page-token", instagram_id=IG_USER
    )
    platforms.platform("hooks").configure("zap", secret=HOOK_SECRET)


def connections(platforms: Any) -> dict[str, dict[str, Any]]:
    """What staff send to connect each platform."""
    return {
        "wordpress": {
            "platform": "wordpress",
            "site_url": platforms.base_url("wordpress", "blog"),
            "username": WP_USER,
            "app_password": WP_PASSWORD,
        },
        "linkedin": {
            "platform": "linkedin",
            "platform_user_id": "m1",
            "access_token": "li-token",
            "author_urn": ORG,
        },
        "twitter": {"platform": "twitter", "platform_user_id": X_USER, "access_token": "x-token"},
        "facebook": {
            "platform": "facebook",
            "platform_user_id": PAGE_ID,
            "access_token": "fb-page-token",
        },
        "instagram": {
            "platform": "instagram",
            "platform_user_id": IG_USER,
            "access_token": "fb-page-token",
        },
        "webhook": {
            "platform": "webhook",
            "webhook_url": platforms.base_url("hooks") + "/zap",
            "webhook_secret": HOOK_SECRET,
        },
    }


def connect(function_client: Any, staff_auth: Any, platforms: Any, *names: str) -> None:
    """Connect Acme's accounts through the integrations function (as its admins do)."""
    set_up_platforms(platforms)
    api, admin = function_client("integrations"), staff_auth("acme", "admin")
    for name, body in connections(platforms).items():
        if not names or name in names:
            res = api.post("/companies/acme/social_connections", json=body, headers=admin)
            assert 201 == res.status_code, res.get_json()


def publish(function_client: Any, staff_auth: Any, content_id: str, **body: Any) -> Any:
    """Staff publish (now, or at ``scheduled_at``) through publish_content."""
    return function_client("publish_content").post(
        "/", json={"content_id": content_id, **body}, headers=staff_auth("acme")
    )


def posting(platforms: Any, platform: str, path: str) -> list[dict[str, Any]]:
    """The POSTs ``platform`` received on ``path`` (its own, query left out), with header
    names in lower case."""
    found = []
    for request in platforms.requests(platform):
        if request["method"] == "POST" and request["path"].split("?")[0].endswith(path):
            headers = {k.lower(): v for k, v in request["headers"].items()}
            found.append(request | {"headers": headers})
    return found


def body_json(request: dict[str, Any]) -> Any:
    return json.loads(request["body"])
