"""Content publishing: per-platform states, retries, the ledger and the local publisher."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shared.adapters.publishers import LocalPublisher
from shared.domain.common import stable_id
from shared.domain.content import (
    MAX_ATTEMPTS,
    PublishRequest,
    ledger_path,
    post_for,
    publication_key,
)
from shared.domain.content import Content as ContentModel
from shared.domain.identity import Role, StaffIdentity
from shared.domain.tasks import ScheduledTask, task_path
from shared.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    Refused,
    Transient,
    Unauthenticated,
)
from shared.ports import Write
from shared.services.content import publish_content_task, request_publication
from shared.services.task_handlers import TaskContext
from tests.fakes import (
    FakeClock,
    FakeMessenger,
    FakeStore,
    FakeTaskQueue,
    FlakyPublisher,
    RecordingPublisher,
)

NOW = FakeClock().now()
PATH = "companies/acme/content/c1"
MANAGER = StaffIdentity("u1", "acme", Role.MANAGER)


class World:
    def __init__(self, **content: Any) -> None:
        self.store, self.queue = FakeStore(), FakeTaskQueue()
        data = {"title": "Spring offers", "type": "social", "body": "Hello", **content}
        self.store.commit([Write(PATH, data)])

    def request(self, publisher: Any, who: StaffIdentity = MANAGER, **body: Any) -> Any:
        req = PublishRequest.model_validate({"content_id": "c1", **body})
        return request_publication(self.store, self.queue, publisher, NOW, who, req)

    def content(self) -> dict[str, Any]:
        return self.store.docs[PATH][0]

    def run_task(self, task_id: str, publisher: Any) -> dict[str, Any]:
        task = ScheduledTask.model_validate(self.store.docs[task_path("acme", task_id)][0])
        ctx = TaskContext(self.store, self.queue, FakeMessenger(), NOW)
        return publish_content_task(ctx, task, publisher)


def statuses(content: dict[str, Any]) -> dict[str, tuple[str, int]]:
    return {p: (s["status"], s["attempts"]) for p, s in content["platform_status"].items()}


def test_request_validation() -> None:
    """Platforms are normalised and deduplicated; odd names and empty lists are refused."""
    req = PublishRequest.model_validate({"content_id": "c1", "platforms": ["LinkedIn", "linkedin"]})
    assert ["linkedin"] == req.platforms
    for platforms in ([], ["no spaces"], [f"p{i}" for i in range(11)]):
        with pytest.raises(ValidationError):
            PublishRequest.model_validate({"content_id": "c1", "platforms": platforms})


def test_scheduling_stores_pending_platforms_and_one_task() -> None:
    """A future time: the content is scheduled, its platforms pending, one task keyed by
    content and time, and nothing is published yet."""
    world, publisher = World(), RecordingPublisher()
    when = NOW + timedelta(days=1)
    content, task_id = world.request(
        publisher, scheduled_at=when.isoformat(), platforms=["x", "fb"]
    )
    assert ("scheduled", stable_id(publication_key("c1", when))) == (content.status, task_id)
    assert {"x": ("pending", 0), "fb": ("pending", 0)} == statuses(world.content())
    assert ([], 1) == (publisher.posts, len(world.queue.tasks))


def test_publish_now_publishes_and_cancels_the_safety_net() -> None:
    """No time: every platform is published at once and the retry task is cancelled."""
    world, publisher = World(), RecordingPublisher()
    content, task_id = world.request(publisher, platforms=["x", "fb"])
    assert "published" == content.status
    assert {"x": ("published", 1), "fb": ("published", 1)} == statuses(world.content())
    assert "https://example.test/x/c1" == world.content()["url"]
    assert "cancelled" == world.store.docs[task_path("acme", task_id)][0]["status"]


def test_transient_failure_is_retried_by_the_task_and_publishes_once() -> None:
    """A flaky platform: the direct try records the error, the task publishes it, and a
    repeated task run publishes nothing again."""
    world, inner = World(), RecordingPublisher()
    flaky = FlakyPublisher(inner, failures=1)
    content, task_id = world.request(flaky, platforms=["x"])
    assert "scheduled" == content.status
    state = world.content()["platform_status"]["x"]
    assert ("pending", 1, "x timed out (call 1)") == (
        state["status"],
        state["attempts"],
        state["error"],
    )
    assert {"status": "published", "url": "https://example.test/x/c1"} == world.run_task(
        task_id, flaky
    )
    world.run_task(task_id, flaky)
    assert (1, 2) == (len(inner.posts), flaky.calls)
    assert {"x": ("published", 2)} == statuses(world.content())
    assert world.store.docs[ledger_path("acme", "c1", "x")][0]["url"]


def test_task_raises_transient_while_a_platform_is_pending() -> None:
    """The handler raises Transient so Cloud Tasks retries; the other platform is kept."""
    world, publisher = World(platforms=["a", "b"]), RecordingPublisher()
    _, task_id = world.request(publisher, scheduled_at=(NOW + timedelta(hours=1)).isoformat())
    publisher.errors = [Transient("a is down")]
    with pytest.raises(Transient):
        world.run_task(task_id, publisher)
    assert {"a": ("pending", 1), "b": ("published", 1)} == statuses(world.content())
    world.run_task(task_id, publisher)
    assert ["b", "a"] == [p.platform for p in publisher.posts]
    assert "published" == world.content()["status"]


def test_auth_errors_fail_fast_with_reconnect() -> None:
    """An expired connection fails the platform at once, with reason "reconnect"."""
    world = World()
    publisher = RecordingPublisher(Unauthenticated("token expired"))
    content, _ = world.request(publisher, platforms=["x", "fb"])
    assert ("failed", "reconnect") == (content.status, world.content()["failure_reason"])
    assert {"x": ("failed", 1), "fb": ("published", 1)} == statuses(world.content())
    assert "reconnect" == world.content()["platform_status"]["x"]["error"]


def test_permanent_errors_and_exhausted_retries_fail() -> None:
    """A refusal fails at once; a transient error on the last allowed attempt fails too."""
    world = World()
    content, _ = world.request(RecordingPublisher(Refused("too long")), platforms=["x"])
    assert ("failed", "x: too long") == (content.status, world.content()["failure_reason"])
    world, publisher = World(), RecordingPublisher(Transient("down"))
    _, task_id = world.request(
        publisher, scheduled_at=(NOW + timedelta(hours=1)).isoformat(), platforms=["x"]
    )
    last_try = {"x": {"status": "pending", "attempts": MAX_ATTEMPTS - 1}}
    world.store.commit([Write(PATH, {"platform_status": last_try}, "merge")])
    assert {"status": "failed", "url": None} == world.run_task(task_id, publisher)
    assert {"x": ("failed", MAX_ATTEMPTS)} == statuses(world.content())


def test_ledger_wins_over_a_rewritten_status() -> None:
    """If staff rewrote the content after a platform was published, the ledger restores
    the published state instead of publishing again."""
    world, publisher = World(), RecordingPublisher()
    content, task_id = world.request(publisher, platforms=["x"])
    world.store.commit([Write(PATH, {"status": "scheduled", "platform_status": {}}, "merge")])
    world.run_task(task_id, publisher)
    assert (1, "published") == (len(publisher.posts), world.content()["status"])


def test_rescheduled_content_ignores_the_old_task() -> None:
    """A task for an old time publishes nothing once the content was moved."""
    world, publisher = World(), RecordingPublisher()
    _, old = world.request(
        publisher, scheduled_at=(NOW + timedelta(hours=1)).isoformat(), platforms=["x"]
    )
    world.request(publisher, scheduled_at=(NOW + timedelta(hours=5)).isoformat())
    assert {"status": "scheduled", "url": None} == world.run_task(old, publisher)
    assert [] == publisher.posts


def test_who_may_publish_what() -> None:
    """Users may not publish, nobody publishes another company's content, social content
    needs platforms, and unknown content is a 404."""
    world, publisher = World(), RecordingPublisher()
    with pytest.raises(PermissionDenied):
        world.request(publisher, who=StaffIdentity("u2", "acme", Role.USER))
    with pytest.raises(PermissionDenied):
        world.request(publisher, company_id="other")
    with pytest.raises(InvalidInput):
        world.request(publisher)
    with pytest.raises(InvalidInput):
        world.request(
            publisher, platforms=["x"], scheduled_at=(NOW + timedelta(days=400)).isoformat()
        )
    with pytest.raises(NotFound):
        world.request(publisher, content_id="nope")


def test_local_publisher_records_each_post_once() -> None:
    """The local publisher is idempotent by post: a repeat returns the first URL."""
    store = FakeStore()
    post = post_for("acme", ContentModel(id="c1", title="T", platforms=["blog"]), "blog")
    first, again = LocalPublisher(store).publish(post), LocalPublisher(store).publish(post)
    assert first == again
    assert ["companies/acme/published_posts/c1-blog"] == [
        p for p in store.docs if "/published_posts/" in p
    ]
