"""CreateTask's checks and defaults, and the BASIC/FULL views of a task."""

from __future__ import annotations

from typing import Any

from localcloud.tasks import names, pb
from localcloud.tasks.errors import invalid, unimplemented
from localcloud.tasks.queues import validate_retry

MAX_SCHEDULE_AHEAD_SECONDS = 30 * 24 * 3600.0
MIN_DEADLINE_SECONDS, MAX_DEADLINE_SECONDS = 15.0, 1800.0
DEFAULT_DEADLINE_SECONDS = 600.0
MAX_TASK_BYTES = 1024 * 1024
MAX_HEADER_BYTES = 80 * 1024
MAX_URL_LENGTH = 2083
USER_AGENT = "Google-Cloud-Tasks"
_BODY_METHODS = {pb.HttpMethod.POST, pb.HttpMethod.PUT, pb.HttpMethod.PATCH}
# Headers the service computes, overrides or keeps for itself: a caller's copy is dropped.
_REPLACED_HEADERS = {"host", "content-length", "user-agent"}
_RESERVED_PREFIXES = ("x-cloudtasks-", "x-google-", "x-appengine-")
_OUTPUT_ONLY = ("create_time", "dispatch_count", "response_count", "first_attempt")


def prepare(requested: Any, queue_name: str, now: float) -> Any:
    """The task to store for a CreateTask request (its name may still be empty)."""
    task = pb.Task()
    task.CopyFrom(requested)
    for field in (*_OUTPUT_ONLY, "last_attempt", "view"):
        task.ClearField(field)
    if task.name:
        _check_name(task.name, queue_name)
    kind = task.WhichOneof("message_type")
    if kind == "app_engine_http_request":
        raise unimplemented("localcloud dispatches HTTP tasks only (set http_request).")
    if kind is None:
        raise invalid("Task.message_type must be set: http_request is required.")
    _prepare_http(task.http_request)
    _prepare_times(task, now)
    if task.HasField("retry_config"):
        validate_retry(task.retry_config)
    if task.ByteSize() > MAX_TASK_BYTES:
        raise invalid(f"Task size exceeds the maximum of {MAX_TASK_BYTES} bytes.")
    return task


def _check_name(name: str, queue_name: str) -> None:
    task_queue, _ = names.check_task(name)
    if task_queue != queue_name:
        raise invalid(
            f"The queue name from request ('{queue_name}') must be the same as the queue "
            f"name in the named task ('{task_queue}')."
        )


def _prepare_http(request: Any) -> None:
    url = request.url
    if not url.startswith(("http://", "https://")) or len(url) > MAX_URL_LENGTH:
        raise invalid(
            "HttpRequest.url must start with 'http://' or 'https://' and be at "
            f"most {MAX_URL_LENGTH} characters."
        )
    if request.http_method == pb.HttpMethod.HTTP_METHOD_UNSPECIFIED:
        request.http_method = pb.HttpMethod.POST
    if request.body and request.http_method not in _BODY_METHODS:
        raise invalid("A request body is allowed only if the HTTP method is POST, PUT, or PATCH.")
    _prepare_headers(request.headers)
    kind = request.WhichOneof("authorization_header")
    if kind and not getattr(request, kind).service_account_email:
        raise invalid(f"HttpRequest.{kind}.service_account_email is required.")


def _prepare_headers(headers: Any) -> None:
    for key in list(headers):
        lowered = key.lower()
        if lowered in _REPLACED_HEADERS or lowered.startswith(_RESERVED_PREFIXES):
            del headers[key]
    headers["User-Agent"] = USER_AGENT
    size = sum(len(k) + len(v) + 4 for k, v in headers.items())
    if size >= MAX_HEADER_BYTES:
        raise invalid("The size of the headers must be less than 80KB.")


def _prepare_times(task: Any, now: float) -> None:
    if not task.HasField("schedule_time"):
        task.schedule_time.CopyFrom(pb.timestamp(now))
    elif pb.seconds_of(task.schedule_time) > now + MAX_SCHEDULE_AHEAD_SECONDS:
        raise invalid("The task's schedule time must be at most 30 days in the future.")
    if not task.HasField("dispatch_deadline"):
        task.dispatch_deadline.CopyFrom(pb.duration(DEFAULT_DEADLINE_SECONDS))
    deadline = pb.seconds_of(task.dispatch_deadline)
    if not MIN_DEADLINE_SECONDS <= deadline <= MAX_DEADLINE_SECONDS:
        raise invalid("dispatch_deadline must be between 15 seconds and 30 minutes.")
    # The service keeps whole seconds of create_time.
    task.create_time.CopyFrom(pb.Timestamp(seconds=int(now)))


def view(task: Any, response_view: int) -> Any:
    """A copy of ``task`` as a response: BASIC (the default) leaves the body out."""
    result = pb.Task()
    result.CopyFrom(task)
    if response_view == pb.TaskView.FULL:
        result.view = pb.TaskView.FULL
    else:
        result.http_request.ClearField("body")
        result.view = pb.TaskView.BASIC
    return result
