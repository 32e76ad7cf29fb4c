"""Publishing's rules on in-memory fakes: never twice after a lost answer or a dead run,
rate limits waited out, refused accounts marked, content without platforms settled; and
the platforms' limits checked before sending."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from shared.adapters.crypto import new_key
from shared.adapters.publishers import LocalPublisher, build_publisher
from shared.adapters.publishers.connections import ConnectedPublisher
from shared.adapters.publishers.newsletter import WithNewsletter
from shared.domain.content import Post, Receipt, ledger_path
from shared.domain.integrations import connection_check
from shared.domain.publishing import NO_BLOG, NO_PLATFORMS, refusal, x_weight
from shared.errors import RetryLater, Transient, Unauthenticated, Unconfirmed
from shared.ports import Write
from shared.services.publishing import publish
from shared.settings import get_settings
from tests.fakes import FakeClock, FakeStore, FakeTaskQueue

NOW = FakeClock().now()
PATH = "companies/acme/content/c1"


class Scripted:
    """A publisher: ``errors`` raised by the first publishes, ``found`` answers lookups
    (an exception to raise, a receipt, or None)."""

    def __init__(self, *errors: Exception, found: Any = None, blog: list[str] | None = None):
        self.errors, self.found, self.blog = list(errors), found, blog
        self.posts: list[Post] = []
        self.lookups = 0

    def publish(self, post: Post) -> Receipt:
        self.posts.append(post)
        if self.errors:
            raise self.errors.pop(0)
        return Receipt(f"https://example.test/{post.platform}", f"id-{post.platform}")

    def find(self, post: Post) -> Receipt | None:
        self.lookups += 1
        if isinstance(self.found, Exception):
            raise self.found
        found: Receipt | None = self.found
        return found

    def destinations(self, company_id: str, platform: str) -> list[str]:
        return list(self.blog) if platform == "blog" and self.blog is not None else [platform]


def world(**content: Any) -> FakeStore:
    store = FakeStore()
    data = {"title": "Spring", "type": "social", "body": "Hello", "status": "scheduled"}
    store.commit([Write(PATH, data | {"platforms": ["x"]} | content)])
    return store


def run(store: FakeStore, publisher: Scripted, after: timedelta = timedelta(0)) -> dict[str, Any]:
    try:
        publish(store, publisher, NOW + after, company_id="acme", content_id="c1")
    except Transient:
        pass
    data: dict[str, Any] = store.docs[PATH][0]
    return data


def test_a_lost_answer_found_by_the_lookup_is_published_once() -> None:
    found = Receipt("https://example.test/x/found", "found-1")
    store, publisher = world(), Scripted(Unconfirmed("X did not answer in time."), found=found)
    content = run(store, publisher)
    state = content["platform_status"]["x"]
    assert ("published", "found-1", None) == (
        state["status"],
        state["external_id"],
        state["sent_at"],
    )
    assert store.docs[ledger_path("acme", "c1", "x")][0]["url"] == found.url
    run(store, publisher, timedelta(minutes=5))
    assert (1, 1) == (len(publisher.posts), publisher.lookups)


def test_a_lost_answer_not_found_is_unknown_and_never_resent() -> None:
    store, publisher = world(), Scripted(Unconfirmed("X did not answer in time."), found=None)
    content = run(store, publisher)
    state = content["platform_status"]["x"]
    assert ("failed", "unknown", "unknown") == (
        content["status"],
        content["failure_reason"],
        state["status"],
    )
    assert "X did not answer in time. The post was not found: check x first." == state["error"]
    run(store, publisher, timedelta(hours=1))
    assert 1 == len(publisher.posts)


def test_a_failed_lookup_looks_again_instead_of_resending() -> None:
    store = world()
    publisher = Scripted(Unconfirmed("no answer"), found=Transient("X could not be reached."))
    state = run(store, publisher)["platform_status"]["x"]
    assert ("pending", True, None) == (
        state["status"],
        state["sent_at"] is not None,
        state["lease_until"],
    )
    publisher.found = Receipt("https://example.test/x/1", "1")
    assert "published" == run(store, publisher, timedelta(minutes=1))["status"]
    assert (1, 2) == (len(publisher.posts), publisher.lookups)


def test_a_run_that_died_mid_request_is_followed_by_a_lookup() -> None:
    """The state says a request went out and its run's lease is past: look, don't send;
    while the lease is alive, another run leaves it alone."""
    out = {
        "status": "pending",
        "attempts": 1,
        "sent_at": NOW,
        "lease_until": NOW + timedelta(minutes=5),
    }
    store, publisher = world(platform_status={"x": out}), Scripted(found=None)
    with pytest.raises(Transient, match="another run is publishing it"):
        publish(store, publisher, NOW, company_id="acme", content_id="c1")
    assert (0, 0) == (len(publisher.posts), publisher.lookups)
    state = run(store, publisher, timedelta(minutes=6))["platform_status"]["x"]
    assert ("unknown", 0, 1) == (state["status"], len(publisher.posts), publisher.lookups)


def test_a_rate_limit_is_waited_out_not_hammered() -> None:
    later = NOW + timedelta(minutes=15)
    store, publisher = world(), Scripted(RetryLater("X rate limit reached", later))
    for after in (timedelta(0), timedelta(minutes=1)):
        with pytest.raises(RetryLater) as raised:
            publish(store, publisher, NOW + after, company_id="acme", content_id="c1")
        assert later == raised.value.at
    assert 1 == len(publisher.posts)
    assert "published" == run(store, publisher, timedelta(minutes=15))["status"]


def test_a_refused_account_is_marked_for_reconnecting() -> None:
    store = world()
    store.commit([Write("companies/acme/social_connections/twitter", {"status": "active"})])
    run(store, Scripted(Unauthenticated("X refused the token: Unauthorized")))
    conn = store.docs["companies/acme/social_connections/twitter"][0]
    assert ("reconnect", NOW) == (conn["status"], conn["status_changed_at"])
    assert "X refused the token: Unauthorized" in conn["error_message"]


def test_blog_stands_for_each_wordpress_connection() -> None:
    store = world(type="blog", platforms=[])
    publisher = Scripted(blog=["wordpress", "wordpress-shop"])
    content = run(store, publisher)
    assert (["wordpress", "wordpress-shop"], "published") == (
        content["platforms"],
        content["status"],
    )
    # ``blog`` itself keeps no state (publish_content names it pending): only its sites do.
    pending = {"blog": {"status": "pending", "attempts": 0}}
    store = world(type="blog", platforms=["blog"], platform_status=pending)
    content = run(store, Scripted(blog=["wordpress"]))
    assert ["wordpress"] == sorted(content["platform_status"])
    store = world(type="blog", platforms=["blog", "x"])
    content = run(store, Scripted(blog=[]))
    assert ("failed", f"blog: {NO_BLOG}") == (content["status"], content["failure_reason"])
    assert "published" == content["platform_status"]["x"]["status"]


def test_social_content_without_platforms_fails_saying_why() -> None:
    content = run(world(type="social", platforms=[]), Scripted())
    assert ("failed", NO_PLATFORMS, []) == (
        content["status"],
        content["failure_reason"],
        content["platforms"],
    )


def test_x_counts_as_x_does() -> None:
    """twitter-text v3: Latin 1, CJK 2, any link 23, an emoji 2 however composed."""
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert (5, 6, 23, 23, 2, 2) == (
        x_weight("héllo"),
        x_weight("日本語"),
        x_weight("https://example.com/a/very/long/path?with=query"),
        x_weight("acme.com"),
        x_weight(family),
        x_weight("\U0001f1eb\U0001f1f7"),
    )
    link = " https://acme.example/" + "x" * 100
    fits, over = "a" * 256 + link, "a" * 257 + link
    assert refusal("x", title="", body=fits, content_type="social", image_url=None) is None
    why = refusal("x", title="", body=over, content_type="social", image_url=None)
    assert "this post counts 281" in str(why)


def test_instagram_needs_an_image_and_email_goes_to_the_newsletter() -> None:
    assert "image" in str(
        refusal("instagram-2", title="t", body="b", content_type="social", image_url=None)
    )
    assert (
        refusal(
            "instagram",
            title="t",
            body="b",
            content_type="social",
            image_url="https://a.example/i.png",
        )
        is None
    )
    assert refusal("email", title="t", body="b", content_type="email", image_url=None) is None
    email = world(type="email", platforms=[])
    content = run(email, Scripted())
    assert ["email"] == content["platforms"]


def test_connections_need_what_publishing_needs() -> None:
    with pytest.raises(ValueError, match="needs site_url, username, app_password"):
        connection_check({"platform": "wordpress"})
    with pytest.raises(ValueError, match="use https://"):
        connection_check(
            {
                "platform": "wordpress",
                "site_url": "http://blog.acme.example",
                "username": "u",
                "app_password": {"ct": 1},
            }
        )
    with pytest.raises(ValueError, match="not a public"):
        connection_check(
            {
                "platform": "webhook",
                "webhook_url": "https://10.0.0.5/hook",
                "webhook_secret": {"ct": 1},
            }
        )
    connection_check(
        {"platform": "webhook", "webhook_url": "http://127.0.0.1:9/h", "webhook_secret": "s"},
        allow_loopback=True,
    )
    with pytest.raises(ValueError, match="needs platform_user_id, access_token"):
        connection_check({"platform": "linkedin"})


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_local_publisher_serves_only_locally_without_platform_urls(
    fresh_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Local and no platform base URL: the local publisher; one URL set (how `make serve`
    points at the stand-ins), or production: the platforms."""
    monkeypatch.setenv("GROWTHKIT_ENVIRONMENT", "local")
    assert isinstance(_platforms(), LocalPublisher)
    monkeypatch.setenv("GROWTHKIT_X_API_URL", "http://127.0.0.1:8690/x")
    get_settings.cache_clear()
    assert isinstance(_platforms(), ConnectedPublisher)
    monkeypatch.delenv("GROWTHKIT_X_API_URL")
    monkeypatch.setenv("GROWTHKIT_ENVIRONMENT", "production")
    monkeypatch.setenv("GROWTHKIT_SIGNING_KEY", "s3cret")
    monkeypatch.setenv("GROWTHKIT_FUNCTIONS_BASE_URL", "https://r-p.cloudfunctions.net")
    monkeypatch.setenv("GROWTHKIT_SECRETS_KEY", new_key())
    get_settings.cache_clear()
    assert isinstance(_platforms(), ConnectedPublisher)


def _platforms() -> object:
    """The publisher ``build_publisher`` picks for every platform but ``email``."""
    publisher = build_publisher(FakeStore(), FakeTaskQueue())
    assert isinstance(publisher, WithNewsletter)
    return publisher.platforms
