"""The local Cloud Tasks' API details through the real client: queue defaults, UpdateQueue
masks, listing and paging, refused requests, attempt bookkeeping, task-level retry config,
the dispatch rate limit, and the clock hook."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.api_core import exceptions as gexc
from google.cloud import tasks_v2
from google.protobuf import field_mask_pb2

from localcloud.tasks import TasksServer, start_tasks
from localcloud.tasks.testing import Receiver, http_task, task_gone, tasks_client, wait_until

PARENT = "projects/api/locations/europe-west1"
SLOW_RETRY = {"min_backoff": timedelta(seconds=10), "max_attempts": 3}


@pytest.fixture(scope="module")
def server() -> Iterator[TasksServer]:
    """One local Cloud Tasks for the module."""
    tasks = start_tasks()
    yield tasks
    tasks.stop()


@pytest.fixture(scope="module")
def client(server: TasksServer) -> Iterator[Any]:
    """The real CloudTasksClient on an insecure channel."""
    tasks = tasks_client(server.address)
    yield tasks
    tasks.transport.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A recording HTTP server for tasks to call."""
    http = Receiver()
    yield http
    http.close()


@pytest.fixture
def parent() -> str:
    """A location of this test's own, so listings see only its queues."""
    return f"projects/api-{uuid.uuid4().hex[:8]}/locations/europe-west1"


def test_create_queue_fills_the_service_defaults(client: Any, parent: str) -> None:
    """Unset rate and retry fields come back with the service's defaults."""
    queue = client.create_queue(parent=parent, queue={"name": f"{parent}/queues/defaults"})
    limits, retry = queue.rate_limits, queue.retry_config
    assert (500.0, 100, 1000) == (
        limits.max_dispatches_per_second,
        limits.max_burst_size,
        limits.max_concurrent_dispatches,
    )
    assert (100, 16) == (retry.max_attempts, retry.max_doublings)
    assert (timedelta(milliseconds=100), timedelta(hours=1)) == (
        retry.min_backoff,
        retry.max_backoff,
    )
    assert tasks_v2.Queue.State.RUNNING == queue.state


def test_update_queue_changes_only_masked_fields_and_creates_missing_queues(
    client: Any, parent: str
) -> None:
    """A mask limits the update; state is refused; an unknown queue is created."""
    name = f"{parent}/queues/tuned"
    client.create_queue(parent=parent, queue={"name": name, "retry_config": {"max_attempts": 7}})
    client.pause_queue(name=name)
    update = {"name": name, "rate_limits": {"max_concurrent_dispatches": 3}}
    mask = field_mask_pb2.FieldMask(paths=["rate_limits.max_concurrent_dispatches"])
    updated = client.update_queue(queue=update, update_mask=mask)
    assert (3, 7) == (
        updated.rate_limits.max_concurrent_dispatches,
        updated.retry_config.max_attempts,
    )
    assert tasks_v2.Queue.State.PAUSED == updated.state

    with pytest.raises(gexc.InvalidArgument):
        client.update_queue(
            queue={"name": name}, update_mask=field_mask_pb2.FieldMask(paths=["state"])
        )
    created = client.update_queue(queue={"name": f"{parent}/queues/new-by-update"})
    assert tasks_v2.Queue.State.RUNNING == created.state


def test_list_queues_filters_by_state_and_pages(client: Any, parent: str) -> None:
    """``state: PAUSED`` filters; page_size splits the listing into pages."""
    for queue_id in ("a", "b", "c"):
        client.create_queue(parent=parent, queue={"name": f"{parent}/queues/{queue_id}"})
    client.pause_queue(name=f"{parent}/queues/b")

    paused = client.list_queues(request={"parent": parent, "filter": "state: PAUSED"})
    assert [f"{parent}/queues/b"] == [q.name for q in paused]
    pages = list(client.list_queues(request={"parent": parent, "page_size": 2}).pages)
    assert [2, 1] == [len(p.queues) for p in pages]
    with pytest.raises(gexc.InvalidArgument):
        list(client.list_queues(request={"parent": parent, "filter": "name: a"}))


def test_refused_queue_requests_carry_the_services_status_codes(client: Any, parent: str) -> None:
    """NOT_FOUND, ALREADY_EXISTS, INVALID_ARGUMENT where the service answers them, and
    UNIMPLEMENTED for queue-level http_target overrides, which are not applied here."""
    name = f"{parent}/queues/strict"
    with pytest.raises(gexc.NotFound):
        client.get_queue(name=name)
    client.create_queue(parent=parent, queue={"name": name})
    with pytest.raises(gexc.AlreadyExists):
        client.create_queue(parent=parent, queue={"name": name})
    with pytest.raises(gexc.InvalidArgument):
        client.create_queue(parent=parent, queue={"name": f"{parent}/queues/no_underscores"})
    with pytest.raises(gexc.InvalidArgument):
        client.create_queue(
            parent=parent, queue={"name": name, "rate_limits": {"max_dispatches_per_second": 501}}
        )
    with pytest.raises(gexc.NotFound):
        client.get_task(name=f"{name}/tasks/missing")
    with pytest.raises(gexc.MethodNotImplemented):
        overrides = {"name": f"{parent}/queues/routed", "http_target": {"http_method": "PUT"}}
        client.create_queue(parent=parent, queue=overrides)


def test_refused_tasks_are_invalid_argument(client: Any, parent: str, receiver: Receiver) -> None:
    """Bad URL, body on GET, deadline under 15 s, a name in another queue or with bad
    characters, no target: each INVALID_ARGUMENT, as from the service."""
    name = client.create_queue(parent=parent, queue={"name": f"{parent}/queues/strict"}).name
    bad_tasks = [
        {"http_request": {"url": "ftp://example.com"}},
        {"http_request": {"url": receiver.url("/x"), "http_method": "GET", "body": b"x"}},
        {"http_request": {"url": receiver.url("/x")}, "dispatch_deadline": timedelta(seconds=5)},
        {"http_request": {"url": receiver.url("/x")}, "name": f"{parent}/queues/other/tasks/t"},
        {"http_request": {"url": receiver.url("/x")}, "name": f"{name}/tasks/not valid"},
        {},
    ]
    for task in bad_tasks:
        with pytest.raises(gexc.InvalidArgument):
            client.create_task(parent=name, task=task)


def test_attempts_record_response_status_and_counts(
    client: Any, parent: str, receiver: Receiver
) -> None:
    """A 404 counts as a response; a refused connection does not; both are UNAVAILABLE or
    NOT_FOUND in last_attempt, with the next try a backoff away."""
    queue = client.create_queue(
        parent=parent, queue={"name": f"{parent}/queues/bookkeeping", "retry_config": SLOW_RETRY}
    )
    receiver.script("/missing", 404)
    answered = client.create_task(
        parent=queue.name, task={"http_request": {"url": receiver.url("/missing")}}
    )
    closed = Receiver()
    closed.close()  # nothing listens on its port any more
    refused = client.create_task(
        parent=queue.name, task={"http_request": {"url": closed.url("/gone")}}
    )

    for task, responses, code in (
        (answered, 1, grpc.StatusCode.NOT_FOUND),
        (refused, 0, grpc.StatusCode.UNAVAILABLE),
    ):
        seen = wait_until(functools.partial(_attempted, client, task.name))
        assert (1, responses, code.value[0]) == (
            seen.dispatch_count,
            seen.response_count,
            seen.last_attempt.response_status.code,
        )
        assert seen.first_attempt.dispatch_time == seen.last_attempt.dispatch_time
        retry_at = seen.last_attempt.response_time + timedelta(seconds=10)
        assert retry_at.timestamp() == pytest.approx(seen.schedule_time.timestamp(), abs=0.05)


def _attempted(client: Any, name: str) -> Any:
    task = client.get_task(name=name)
    return task if task.last_attempt.response_time else None


def test_a_task_retry_config_overrides_the_queues(
    client: Any, parent: str, receiver: Receiver
) -> None:
    """Task.retry_config replaces the queue's fields it sets: max_attempts 1 here."""
    queue = client.create_queue(
        parent=parent, queue={"name": f"{parent}/queues/override", "retry_config": SLOW_RETRY}
    )
    receiver.script("/once", 500, 500)
    spec = {"http_request": {"url": receiver.url("/once")}, "retry_config": {"max_attempts": 1}}
    task = client.create_task(parent=queue.name, task=spec)
    receiver.wait_for("/once")
    wait_until(lambda: not list(client.list_tasks(parent=queue.name)))
    with pytest.raises(gexc.NotFound, match="existed recently"):
        client.get_task(name=task.name)


def test_max_dispatches_per_second_spaces_dispatches_after_the_burst(
    client: Any, parent: str, receiver: Receiver
) -> None:
    """At 5/s (burst 5) eight tasks take at least three token intervals."""
    spec = {"name": f"{parent}/queues/rate", "rate_limits": {"max_dispatches_per_second": 5}}
    queue = client.create_queue(parent=parent, queue=spec)
    assert 5 == queue.rate_limits.max_burst_size
    for _ in range(8):
        client.create_task(parent=queue.name, task=http_task(receiver.url("/rate")))

    hits = sorted(receiver.wait_for("/rate", 8, timeout=5), key=lambda h: h.received)
    assert hits[-1].received - hits[0].received >= 0.5


def test_advancing_the_clock_runs_tasks_due_later_and_frees_names(receiver: Receiver) -> None:
    """``advance`` is the clock hook: an hour-ahead task runs at once, and its name is
    free again once another hour has passed."""
    server = start_tasks()
    client = tasks_client(server.address)
    try:
        queue = client.create_queue(parent=PARENT, queue={"name": f"{PARENT}/queues/clock"})
        later = datetime.now(UTC) + timedelta(hours=1)
        spec = http_task(
            receiver.url("/hour"), name=f"{queue.name}/tasks/hourly", schedule_time=later
        )
        client.create_task(parent=queue.name, task=spec)
        server.advance(3600)
        receiver.wait_for("/hour", timeout=2)
        wait_until(lambda: task_gone(client, spec["name"]))
        server.advance(3601)
        client.create_task(parent=queue.name, task={**spec, "schedule_time": None})
    finally:
        client.transport.close()
        server.stop()
