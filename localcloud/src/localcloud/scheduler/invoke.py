"""One attempt of a job: the HTTP request Cloud Scheduler sends, and its outcome.

The outcome is a ``google.rpc.Status`` as the service stores it in ``Job.status``: OK for
a 2xx answer, otherwise the gRPC code of the HTTP status (the standard Google mapping),
UNAVAILABLE when the target cannot be reached and DEADLINE_EXCEEDED when it does not
answer within the job's attempt deadline.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc

from localcloud.scheduler import pb

USER_AGENT = "Google-Cloud-Scheduler"
_BODY_METHODS = {"POST", "PUT", "PATCH"}
# The service computes or replaces these whatever the job says (see HttpTarget.headers).
_COMPUTED_HEADERS = {
    "host",
    "content-length",
    "user-agent",
    "x-cloudscheduler",
    "x-cloudscheduler-jobname",
    "x-cloudscheduler-scheduletime",
}
# Cloud Scheduler calls targets directly, never through the developer's HTTP proxy.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_HTTP_TO_GRPC = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ABORTED,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    499: grpc.StatusCode.CANCELLED,
    501: grpc.StatusCode.UNIMPLEMENTED,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}
_CODE_NAMES: dict[int, str] = {code.value[0]: code.name for code in grpc.StatusCode}


def rfc3339(moment: datetime) -> str:
    """``2030-01-01T12:00:00Z``: UTC, fractional seconds only when there are any."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def job_id(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def status(code: grpc.StatusCode, message: str = "") -> Any:
    return pb.Status(code=code.value[0], message=message)


def code_name(value: int) -> str:
    """``INTERNAL`` for 13: the name of a ``google.rpc.Code`` value."""
    return _CODE_NAMES.get(value, str(value))


def grpc_code(http_status: int) -> grpc.StatusCode:
    """The gRPC code Google APIs use for an HTTP status."""
    if 200 <= http_status < 300:
        return grpc.StatusCode.OK
    if http_status in _HTTP_TO_GRPC:
        return _HTTP_TO_GRPC[http_status]
    return grpc.StatusCode.FAILED_PRECONDITION if http_status < 500 else grpc.StatusCode.INTERNAL


def _unsigned_jwt(claims: dict[str, Any]) -> str:
    # localcloud has no Google key to sign with; targets that verify tokens are
    # configured locally to accept these (alg "none"), as the emulators' tokens go.
    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def oidc_token(email: str, audience: str, now: datetime) -> str:
    """An unsigned OIDC ID token with the claims Google's tokens carry."""
    issued = int(now.timestamp())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": audience,
        "sub": email,
        "email": email,
        "email_verified": True,
        "iat": issued,
        "exp": issued + int(timedelta(hours=1).total_seconds()),
    }
    return _unsigned_jwt(claims)


def _authorization(target: Any, now: datetime) -> str | None:
    which = target.WhichOneof("authorization_header")
    if which == "oidc_token":
        token = target.oidc_token
        return (
            f"Bearer {oidc_token(token.service_account_email, token.audience or target.uri, now)}"
        )
    if which == "oauth_token":
        return f"Bearer localcloud-oauth.{target.oauth_token.service_account_email}"
    return None


def build_request(job: Any, schedule_time: datetime, now: datetime) -> urllib.request.Request:
    """The HTTP request of one attempt of ``job`` (which has an ``http_target``)."""
    target = job.http_target
    method = pb.HttpMethod(target.http_method or pb.HttpMethod.POST).name
    body = target.body if method in _BODY_METHODS else b""
    headers = {k: v for k, v in target.headers.items() if k.lower() not in _COMPUTED_HEADERS}
    if body and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/octet-stream"
    headers["User-Agent"] = USER_AGENT
    headers["X-CloudScheduler"] = "true"
    headers["X-CloudScheduler-JobName"] = job_id(job.name)
    headers["X-CloudScheduler-ScheduleTime"] = rfc3339(schedule_time)
    authorization = _authorization(target, now)
    if authorization is not None:
        headers["Authorization"] = authorization
    return urllib.request.Request(
        target.uri, data=body if body else None, headers=headers, method=method
    )


def attempt(request: urllib.request.Request, timeout: float) -> Any:
    """Send ``request``; the ``google.rpc.Status`` of the outcome."""
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read()
            return status(grpc_code(response.status))
    except urllib.error.HTTPError as err:
        err.close()
        return status(grpc_code(err.code), f"HTTP {err.code} {err.reason}")
    except TimeoutError:
        return status(grpc.StatusCode.DEADLINE_EXCEEDED, "attempt deadline exceeded")
    except urllib.error.URLError as err:
        if isinstance(err.reason, TimeoutError):
            return status(grpc.StatusCode.DEADLINE_EXCEEDED, "attempt deadline exceeded")
        return status(grpc.StatusCode.UNAVAILABLE, f"target unreachable: {err.reason}")
    except OSError as err:
        return status(grpc.StatusCode.UNAVAILABLE, f"target unreachable: {err}")
