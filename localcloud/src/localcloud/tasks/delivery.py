"""One attempt on the wire: the request an HTTP task sends, and what came back.

Plain ``http.client``: no redirects followed and no retries of its own, so every
attempt the dispatcher counts is exactly one request the handler sees.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import grpc

from localcloud.tasks import names, pb
from localcloud.tasks.oidc import TokenMinter
from localcloud.tasks.store import TaskRecord

_MAX_RETRY_AFTER_SECONDS = 3600.0
_HTTP_TO_GRPC = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ABORTED,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    499: grpc.StatusCode.CANCELLED,
    500: grpc.StatusCode.INTERNAL,
    501: grpc.StatusCode.UNIMPLEMENTED,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    timeout: float
    oidc: tuple[str, str] | None = None  # (audience, email): signed by ``authorize``


@dataclass(frozen=True)
class Outcome:
    """The HTTP status, or why there was none (``status`` None)."""

    status: int | None
    error: str = ""
    timed_out: bool = False
    retry_after: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        return str(self.status) if self.status is not None else self.error


def build_request(record: TaskRecord) -> Request:
    """The request for the next attempt of ``record`` (call before counting the attempt)."""
    task = record.task
    http = task.http_request
    headers = dict(http.headers)
    headers.update(
        {
            "X-CloudTasks-QueueName": names.short_id(names.queue_of(task.name)),
            "X-CloudTasks-TaskName": names.short_id(task.name),
            "X-CloudTasks-TaskRetryCount": str(task.dispatch_count),
            "X-CloudTasks-TaskExecutionCount": str(record.executions),
            "X-CloudTasks-TaskETA": f"{pb.seconds_of(task.schedule_time):.6f}",
        }
    )
    if record.previous_response is not None:
        headers["X-CloudTasks-TaskPreviousResponse"] = str(record.previous_response)
        headers["X-CloudTasks-TaskRetryReason"] = ""  # what the service sends for HTTP tasks
    oidc = None
    if http.HasField("oidc_token"):
        oidc = (http.oidc_token.audience or http.url, http.oidc_token.service_account_email)
    elif http.HasField("oauth_token"):
        # No Google API runs locally to accept a real access token; mark it as local.
        email = http.oauth_token.service_account_email
        headers["Authorization"] = f"Bearer localcloud-access-token.{email}"
    method = pb.HttpMethod(http.http_method).name
    timeout = pb.seconds_of(task.dispatch_deadline)
    return Request(method, http.url, headers, bytes(http.body), timeout, oidc)


def authorize(request: Request, minter: TokenMinter, now: float) -> Request:
    """``request`` with its OIDC token minted: done by the worker, since signing (and
    creating the key, the first time) should not hold the store's lock."""
    if request.oidc is None:
        return request
    audience, email = request.oidc
    headers = {**request.headers, "Authorization": "Bearer " + minter.mint(audience, email, now)}
    return replace(request, headers=headers)


def send(request: Request) -> Outcome:
    """POST (or whatever the method) once; never raises for network trouble."""
    parts = urlsplit(request.url)
    factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = factory(parts.hostname or "", parts.port, timeout=request.timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(request.method, target, body=request.body, headers=request.headers)
        response = connection.getresponse()
        response.read()
        return Outcome(response.status, retry_after=_retry_after(response.getheader("Retry-After")))
    except TimeoutError:
        return Outcome(None, f"no response within {request.timeout:g}s", timed_out=True)
    except (OSError, http.client.HTTPException) as err:
        return Outcome(None, f"{type(err).__name__}: {err}")
    finally:
        connection.close()


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is ignored)."""
    try:
        return min(float(value), _MAX_RETRY_AFTER_SECONDS) if value else None
    except ValueError:
        return None


def rpc_status(outcome: Outcome) -> Any:
    """The google.rpc.Status an Attempt records for ``outcome``."""
    if outcome.status is None:
        code = (
            grpc.StatusCode.DEADLINE_EXCEEDED if outcome.timed_out else grpc.StatusCode.UNAVAILABLE
        )
        return pb.Status(code=code.value[0], message=outcome.error)
    if outcome.succeeded:
        return pb.Status(code=grpc.StatusCode.OK.value[0])
    fallback = (
        grpc.StatusCode.FAILED_PRECONDITION if outcome.status < 500 else grpc.StatusCode.UNKNOWN
    )
    code = _HTTP_TO_GRPC.get(outcome.status, fallback)
    return pb.Status(code=code.value[0], message=f"HTTP status code {outcome.status}")
