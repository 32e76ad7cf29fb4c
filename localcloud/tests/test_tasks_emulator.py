"""The local Cloud Tasks through the real ``google-cloud-tasks`` client.

Tasks are dispatched to a real local HTTP server (``Receiver``). Queues here use
sub-second backoffs, which the real service would round to whole seconds, so retries
take fractions of a second.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.auth import jwt
from google.cloud import tasks_v2

from localcloud.tasks import TasksServer, start_tasks
from localcloud.tasks.testing import Receiver, http_task, task_gone, tasks_client, wait_until

PARENT = "projects/demo/locations/us-central1"
FAST_RETRY = {"min_backoff": timedelta(milliseconds=200), "max_backoff": timedelta(seconds=10)}


@pytest.fixture(scope="module")
def server() -> Iterator[TasksServer]:
    """One local Cloud Tasks for the module; every test works in queues of its own."""
    tasks = start_tasks()
    yield tasks
    tasks.stop()


@pytest.fixture(scope="module")
def client(server: TasksServer) -> Iterator[Any]:
    """The real, unmodified CloudTasksClient on an insecure channel."""
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
def make_queue(client: Any) -> Callable[..., Any]:
    """``make_queue(**fields)`` creates a queue with a fresh id and returns it."""

    def make(**fields: Any) -> Any:
        name = f"{PARENT}/queues/q-{uuid.uuid4().hex[:12]}"
        return client.create_queue(parent=PARENT, queue={"name": name, **fields})

    return make


def test_delayed_task_arrives_once_after_its_delay_with_headers_and_body(
    client: Any, make_queue: Callable[..., Any], receiver: Receiver
) -> None:
    """A task 2 s ahead is posted once, not before its ETA, with the service's headers."""
    queue = make_queue()
    eta = datetime.now(UTC) + timedelta(seconds=2)
    spec = http_task(
        receiver.url("/welcome"),
        name=f"{queue.name}/tasks/welcome-1",
        schedule_time=eta,
        http_request={"headers": {"Content-Type": "application/json"}, "body": b'{"lead": 7}'},
    )
    task = client.create_task(parent=queue.name, task=spec)

    hit = receiver.wait_for("/welcome", timeout=5)[0]
    assert hit.received >= eta.timestamp()
    expected = {
        "x-cloudtasks-queuename": queue.name.rsplit("/", 1)[1],
        "x-cloudtasks-taskname": "welcome-1",
        "x-cloudtasks-taskretrycount": "0",
        "x-cloudtasks-taskexecutioncount": "0",
        "content-type": "application/json",
        "user-agent": "Google-Cloud-Tasks",
    }
    assert expected == {k: hit.headers.get(k) for k in expected}
    assert eta.timestamp() == pytest.approx(float(hit.headers["x-cloudtasks-tasketa"]), abs=1e-3)
    assert ("POST", "/welcome", b'{"lead": 7}') == (hit.method, hit.path, hit.body)
    wait_until(lambda: task_gone(client, task.name))
    time.sleep(0.3)
    assert 1 == len(receiver.hits("/welcome"))


def test_failing_handler_is_retried_with_growing_backoff(
    client: Any, make_queue: Callable[..., Any], receiver: Receiver
) -> None:
    """500, 500, 200: three calls, 0.2 s then 0.4 s apart, with retry headers."""
    queue = make_queue(retry_config={**FAST_RETRY, "max_attempts": 5, "max_doublings": 4})
    receiver.script("/flaky", 500, 500)
    task = client.create_task(parent=queue.name, task=http_task(receiver.url("/flaky")))

    hits = receiver.wait_for("/flaky", 3, timeout=5)
    gaps = [b.received - a.received for a, b in pairwise(hits)]
    assert gaps[0] >= 0.2
    assert gaps[1] >= 0.4
    assert gaps[1] > gaps[0]
    assert ["0", "1", "2"] == [h.headers["x-cloudtasks-taskretrycount"] for h in hits]
    # 5xx answers are not executions, as on the real service.
    assert ["0", "0", "0"] == [h.headers["x-cloudtasks-taskexecutioncount"] for h in hits]
    previous = [h.headers.get("x-cloudtasks-taskpreviousresponse") for h in hits]
    assert [None, "500", "500"] == previous
    wait_until(lambda: task_gone(client, task.name))
    assert 3 == len(receiver.hits("/flaky"))


def test_attempts_stop_at_max_attempts_and_the_task_is_deleted(
    client: Any, make_queue: Callable[..., Any], receiver: Receiver
) -> None:
    """A handler that always fails is called exactly max_attempts times."""
    retry = {"min_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(milliseconds=100)}
    queue = make_queue(retry_config={**retry, "max_attempts": 3})
    receiver.script("/broken", *[500] * 10)
    task = client.create_task(parent=queue.name, task=http_task(receiver.url("/broken")))

    receiver.wait_for("/broken", 3)
    wait_until(lambda: task_gone(client, task.name))
    time.sleep(0.4)
    assert 3 == len(receiver.hits("/broken"))


def test_task_names_are_refused_while_taken_and_an_hour_after_they_finish(
    client: Any, make_queue: Callable[..., Any], receiver: Receiver
) -> None:
    """ALREADY_EXISTS for a pending task's name, a completed one's and a deleted one's."""
    queue = make_queue()
    later = datetime.now(UTC) + timedelta(hours=1)
    pending = http_task(receiver.url("/once"), name=f"{queue.name}/tasks/pending")
    client.create_task(parent=queue.name, task={**pending, "schedule_time": later})
    with pytest.raises(gexc.AlreadyExists):
        client.create_task(parent=queue.name, task=pending)

    done = http_task(receiver.url("/once"), name=f"{queue.name}/tasks/done")
    client.create_task(parent=queue.name, task=done)
    receiver.wait_for("/once")
    wait_until(lambda: task_gone(client, done["name"]))
    with pytest.raises(gexc.AlreadyExists):
        client.create_task(parent=queue.name, task=done)

    client.delete_task(name=pending["name"])
    with pytest.raises(gexc.AlreadyExists):
        client.create_task(parent=queue.name, task=pending)
    assert 1 == len(receiver.hits("/once"))


def test_schedule_time_more_than_30_days_ahead_is_refused(
    client: Any, make_queue: Callable[..., Any], receiver: Receiver
) -> None:
    """31 days ahead is INVALID_ARGUMENT; 29 days ahead is accepted."""
    queue = make_queue()
    now = datetime.now(UTC)
    with pytest.raises(gexc.InvalidArgument):
        far = http_task(receiver.url("/x"), schedule_time=now + timedelta(days=31))
        client.create_task(parent=queue.name, task=far)
    near = http_task(receiver.url("/x"), schedule_time=now + timedelta(days=29))
    assert client.create_task(parent=queue.name, task=near).name.startswith(queue.name)


def test_oidc_token_is_a_verifiable_jwt_for_the_audience(
    server: TasksServer, client: Any, make_queue: Callable[..., Any], receiver: Receiver
) -> None:
    """oidc_token adds ``Authorization: Bearer`` with aud, email, iat and exp."""
    queue = make_queue()
    email = "tasks@demo.iam.gserviceaccount.com"
    audience = "https://growthkit.example/run_task"
    with_audience = {"oidc_token": {"service_account_email": email, "audience": audience}}
    client.create_task(
        parent=queue.name, task=http_task(receiver.url("/a"), http_request=with_audience)
    )
    default_audience = {"oidc_token": {"service_account_email": email}}
    client.create_task(
        parent=queue.name, task=http_task(receiver.url("/b"), http_request=default_audience)
    )

    for path, aud in (("/a", audience), ("/b", receiver.url("/b"))):
        header = receiver.wait_for(path)[0].headers["authorization"]
        assert header.startswith("Bearer ")
        decode: Any = jwt.decode  # google-auth ships no type hints
        claims = decode(header[7:], certs=server.oidc_public_keys(), audience=aud)
        assert (aud, email, True) == (claims["aud"], claims["email"], claims["email_verified"])
        assert claims["iat"] <= time.time() < claims["exp"]


def test_paused_queue_holds_tasks_until_resumed(
    client: Any, make_queue: Callable[..., Any], receiver: Receiver
) -> None:
    """PauseQueue stops dispatch (tasks can still be added); ResumeQueue restarts it."""
    queue = make_queue()
    paused = client.pause_queue(name=queue.name)
    assert tasks_v2.Queue.State.PAUSED == paused.state
    client.create_task(parent=queue.name, task=http_task(receiver.url("/held")))
    time.sleep(0.5)
    assert [] == receiver.hits("/held")
    assert tasks_v2.Queue.State.PAUSED == client.get_queue(name=queue.name).state

    assert tasks_v2.Queue.State.RUNNING == client.resume_queue(name=queue.name).state
    receiver.wait_for("/held", timeout=2)


def test_purge_deletes_every_task_of_the_queue(
    client: Any, make_queue: Callable[..., Any], receiver: Receiver
) -> None:
    """PurgeQueue empties the queue and sets purge_time; nothing is dispatched after."""
    queue = make_queue()
    client.pause_queue(name=queue.name)
    names = [
        client.create_task(parent=queue.name, task=http_task(receiver.url("/p"))).name
        for _ in range(3)
    ]
    assert 3 == len(list(client.list_tasks(parent=queue.name)))

    purged = client.purge_queue(name=queue.name)
    assert purged.purge_time.timestamp() == pytest.approx(time.time(), abs=5)
    assert [] == list(client.list_tasks(parent=queue.name))
    client.resume_queue(name=queue.name)
    time.sleep(0.3)
    assert [] == receiver.hits("/p")
    assert all(task_gone(client, name) for name in names)


def test_deleted_queue_is_gone_and_its_name_cannot_be_reused_yet(
    client: Any, make_queue: Callable[..., Any], receiver: Receiver
) -> None:
    """After DeleteQueue: NOT_FOUND for the queue and its tasks, FAILED_PRECONDITION on
    re-creating it (the service blocks the name for days)."""
    queue = make_queue()
    task = client.create_task(
        parent=queue.name,
        task=http_task(receiver.url("/d"), schedule_time=datetime.now(UTC) + timedelta(hours=1)),
    )
    client.delete_queue(name=queue.name)

    with pytest.raises(gexc.NotFound):
        client.get_queue(name=queue.name)
    with pytest.raises(gexc.NotFound):
        client.get_task(name=task.name)
    with pytest.raises(gexc.NotFound):
        client.create_task(parent=queue.name, task=http_task(receiver.url("/d")))
    with pytest.raises(gexc.NotFound):
        client.delete_queue(name=queue.name)
    with pytest.raises(gexc.FailedPrecondition):
        client.create_queue(parent=PARENT, queue={"name": queue.name})


def test_get_list_and_delete_task(
    client: Any, make_queue: Callable[..., Any], receiver: Receiver
) -> None:
    """Generated names are random numbers; BASIC leaves the body out, FULL has it."""
    queue = make_queue()
    later = datetime.now(UTC) + timedelta(hours=1)
    spec = http_task(receiver.url("/g"), schedule_time=later, http_request={"body": b"payload"})
    created = client.create_task(parent=queue.name, task=spec)
    assert created.name.rsplit("/", 1)[1].isdigit()

    basic = client.get_task(name=created.name)
    assert (tasks_v2.Task.View.BASIC, b"") == (basic.view, basic.http_request.body)
    full = client.get_task(request={"name": created.name, "response_view": "FULL"})
    assert (tasks_v2.Task.View.FULL, b"payload") == (full.view, full.http_request.body)
    assert later.timestamp() == pytest.approx(full.schedule_time.timestamp(), abs=1e-3)
    assert [created.name] == [t.name for t in client.list_tasks(parent=queue.name)]

    client.delete_task(name=created.name)
    with pytest.raises(gexc.NotFound):
        client.get_task(name=created.name)
    with pytest.raises(gexc.NotFound):
        client.delete_task(name=created.name)
    assert [] == list(client.list_tasks(parent=queue.name))


def test_run_task_dispatches_at_once_even_when_paused(
    client: Any, make_queue: Callable[..., Any], receiver: Receiver
) -> None:
    """RunTask sends a task due in an hour now and returns it as dispatched."""
    queue = make_queue()
    client.pause_queue(name=queue.name)
    later = datetime.now(UTC) + timedelta(hours=1)
    task = client.create_task(
        parent=queue.name, task=http_task(receiver.url("/r"), schedule_time=later)
    )

    started = time.time()
    ran = client.run_task(name=task.name)
    assert 1 == ran.dispatch_count
    assert ran.first_attempt.dispatch_time.timestamp() >= started - 0.01
    hit = receiver.wait_for("/r", timeout=1)[0]
    assert hit.received - started < 1
    wait_until(lambda: task_gone(client, task.name))
    with pytest.raises(gexc.NotFound):
        client.run_task(name=task.name)


def test_max_concurrent_dispatches_of_one_never_overlaps(
    client: Any, make_queue: Callable[..., Any], receiver: Receiver
) -> None:
    """With max_concurrent_dispatches=1 slow handlers are called strictly one by one."""
    queue = make_queue(rate_limits={"max_concurrent_dispatches": 1})
    receiver.slow("/one", 0.15)
    for _ in range(4):
        client.create_task(parent=queue.name, task=http_task(receiver.url("/one")))

    hits = receiver.wait_for("/one", 4, timeout=5)
    assert 1 == receiver.max_in_flight["/one"]
    assert all(b.received - a.received >= 0.15 for a, b in pairwise(hits))


def test_tasks_and_queues_survive_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    """With a data directory, a restarted server has the queues, the pending tasks (and
    sends them), and still refuses recently used task names."""
    first = start_tasks(data_dir=tmp_path)
    client = tasks_client(first.address)
    queue = client.create_queue(parent=PARENT, queue={"name": f"{PARENT}/queues/kept"})
    paused = client.create_queue(parent=PARENT, queue={"name": f"{PARENT}/queues/paused"})
    client.pause_queue(name=paused.name)
    done = http_task(receiver.url("/done"), name=f"{queue.name}/tasks/done")
    client.create_task(parent=queue.name, task=done)
    receiver.wait_for("/done")
    wait_until(lambda: task_gone(client, done["name"]))
    soon = datetime.now(UTC) + timedelta(seconds=1)
    pending = client.create_task(
        parent=queue.name, task=http_task(receiver.url("/later"), schedule_time=soon)
    )
    client.transport.close()
    first.stop()

    second = start_tasks(data_dir=tmp_path)
    client = tasks_client(second.address)
    try:
        assert tasks_v2.Queue.State.PAUSED == client.get_queue(name=paused.name).state
        assert [pending.name] == [t.name for t in client.list_tasks(parent=queue.name)]
        receiver.wait_for("/later", timeout=4)
        with pytest.raises(gexc.AlreadyExists):
            client.create_task(parent=queue.name, task=done)
    finally:
        client.transport.close()
        second.stop()


def test_billable_operations_are_counted_per_project(
    client: Any, receiver: Receiver, server: TasksServer
) -> None:
    """Each API call counts, a refused one too (a name used already), and each push
    delivery attempt (a 503 then a 200: two); another project's are its own."""
    project = f"ops-{uuid.uuid4().hex[:8]}"
    parent = f"projects/{project}/locations/us-central1"
    queue = client.create_queue(
        parent=parent, queue={"name": f"{parent}/queues/q", "retry_config": FAST_RETRY}
    )
    receiver.script("/flaky", 503)
    flaky = client.create_task(
        parent=queue.name, task=http_task(receiver.url("/flaky"), name=f"{queue.name}/tasks/a")
    )
    with pytest.raises(gexc.AlreadyExists):
        client.create_task(parent=queue.name, task={"name": flaky.name, **http_task("http://x")})
    later = datetime.now(UTC) + timedelta(hours=1)
    spare = client.create_task(parent=queue.name, task=http_task("http://x", schedule_time=later))
    client.delete_task(name=spare.name)
    wait_until(lambda: task_gone(client, flaky.name), timeout=10)
    ops = server.operations(project)
    assert (1, 3, 1, 2) == (
        ops["CreateQueue"],
        ops["CreateTask"],
        ops["DeleteTask"],
        ops["DeliveryAttempt"],
    )
    assert {"DeliveryAttempt": 0} == server.operations(f"{project}-other")
