"""Each platform's answers mapped to the project's errors, one mapping per platform:
a refused token asks to reconnect, a rate limit names when to come back, a server error
is retried, a duplicate is looked up, any other refusal carries the platform's words."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.publishers import facebook, linkedin, webhook, wordpress, x
from shared.adapters.webhooks import Answer
from shared.errors import (
    PermissionDenied,
    Refused,
    RetryLater,
    Transient,
    Unauthenticated,
    Unconfirmed,
)

NOW = datetime(2026, 12, 5, 18, 30, tzinfo=UTC)


def answer(status: int, body: Any = None, **headers: str) -> Answer:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode() if body else b""
    return Answer(status, {k.replace("_", "-"): v for k, v in headers.items()}, raw)


def problem(status: int, title: str, detail: str, **more: Any) -> Any:
    return {"title": title, "detail": detail, "type": "about:blank", "status": status} | more


def test_x() -> None:
    """X's RFC 7807 problems; 429 waits for x-rate-limit-reset."""
    reset = int((NOW + timedelta(minutes=12)).timestamp())
    cases = [
        (answer(401, problem(401, "Unauthorized", "Unauthorized")), Unauthenticated),
        (
            answer(
                403,
                problem(
                    403,
                    "Forbidden",
                    "You are not allowed to create a Tweet with duplicate content.",
                ),
            ),
            Unconfirmed,
        ),
        (answer(403, problem(403, "Unsupported Authentication", "app-only")), PermissionDenied),
        (answer(503, problem(503, "Service Unavailable", "Service Unavailable")), Transient),
        (
            answer(
                400,
                problem(
                    400,
                    "Invalid Request",
                    "invalid",
                    errors=[{"message": "Your Tweet text is too long."}],
                ),
            ),
            Refused,
        ),
    ]
    for given, kind in cases:
        assert type(x.error_for(given, NOW)) is kind, given
    limited = x.error_for(
        answer(429, problem(429, "Too Many Requests", "x"), x_rate_limit_reset=str(reset)), NOW
    )
    assert isinstance(limited, RetryLater) and NOW + timedelta(minutes=12) == limited.at
    assert "Your Tweet text is too long." in x.error_for(cases[-1][0], NOW).message
    bare = x.error_for(answer(429, b"slow down"), NOW)
    assert isinstance(bare, RetryLater) and NOW + timedelta(minutes=15) == bare.at


def li(status: int, message: str, code: str | None = None) -> Answer:
    return answer(status, {"status": status, "message": message, "code": code})


def test_linkedin() -> None:
    """LinkedIn's errors; a daily limit waits for midnight UTC, Retry-After wins."""
    assert isinstance(
        linkedin.error_for(li(401, "expired", "EXPIRED_ACCESS_TOKEN"), NOW), Unauthenticated
    )
    assert isinstance(
        linkedin.error_for(li(403, "Not enough permissions", "ACCESS_DENIED"), NOW),
        PermissionDenied,
    )
    assert isinstance(linkedin.error_for(li(500, "Internal Server Error"), NOW), Transient)
    refused = linkedin.error_for(li(422, "ERROR :: /commentary :: too long\n"), NOW)
    assert type(refused) is Refused and "/commentary :: too long" in refused.message
    version = linkedin.error_for(
        li(426, "Requested version 202001 is not active", "NONEXISTENT_VERSION"), NOW
    )
    assert type(version) is Refused and "202001" in version.message
    day = linkedin.error_for(li(429, "Resource level throttle APPLICATION DAY limit"), NOW)
    assert isinstance(day, RetryLater) and datetime(2026, 12, 6, tzinfo=UTC) == day.at
    other = linkedin.error_for(li(429, "Throttled"), NOW)
    assert isinstance(other, RetryLater) and NOW + timedelta(minutes=1) == other.at
    given = answer(429, {"message": "slow"}, retry_after="120")
    assert NOW + timedelta(seconds=120) == linkedin.error_for(given, NOW).at  # type: ignore[attr-defined]


def graph(code: int, subcode: int | None = None, status: int = 400, **more: Any) -> Answer:
    error = {"message": f"(#{code}) Graph says no", "type": "OAuthException", "code": code}
    return answer(status, {"error": error | ({"error_subcode": subcode} if subcode else {}) | more})


def test_facebook_and_instagram() -> None:
    """Graph's codes: 190 reconnect, 200 permissions, 32 waits for the usage header's
    estimate, 506 a duplicate, is_transient retried, the rest refused in Graph's words."""
    assert isinstance(facebook.error_for(graph(190, 463), NOW), Unauthenticated)
    assert isinstance(facebook.error_for(graph(200, status=403), NOW), PermissionDenied)
    assert isinstance(facebook.error_for(graph(506), NOW), Unconfirmed)
    assert isinstance(facebook.error_for(graph(2, status=503, is_transient=True), NOW), Transient)
    refused = facebook.error_for(graph(100, 33), NOW)
    assert type(refused) is Refused and "(#100) Graph says no" in refused.message
    usage = json.dumps({"1234": [{"type": "pages", "estimated_time_to_regain_access": 7}]})
    limited = facebook.error_for(
        Answer(400, {"x-business-use-case-usage": usage}, graph(32).body), NOW
    )
    assert isinstance(limited, RetryLater) and NOW + timedelta(minutes=7) == limited.at
    bare = facebook.error_for(graph(4), NOW)
    assert isinstance(bare, RetryLater) and NOW + timedelta(minutes=5) == bare.at


def wp(status: int, code: str, message: str = "no", **headers: str) -> Answer:
    return answer(status, {"code": code, "message": message, "data": {"status": status}}, **headers)


def test_wordpress() -> None:
    """A wrong application password reconnects, a user without the right too; 429 and
    503 with Retry-After wait for it; a redirect says where the site went."""
    assert isinstance(wordpress.error_for(wp(401, "incorrect_password"), NOW), Unauthenticated)
    assert isinstance(wordpress.error_for(wp(401, "rest_cannot_create"), NOW), PermissionDenied)
    assert isinstance(wordpress.error_for(wp(403, "rest_forbidden"), NOW), PermissionDenied)
    limited = wordpress.error_for(wp(429, "too_many_requests", retry_after="60"), NOW)
    assert isinstance(limited, RetryLater) and NOW + timedelta(seconds=60) == limited.at
    page = Answer(503, {"retry-after": "600", "content-type": "text/html"}, b"<h1>Maintenance</h1>")
    down = wordpress.error_for(page, NOW)
    assert isinstance(down, RetryLater) and NOW + timedelta(minutes=10) == down.at
    assert type(wordpress.error_for(wp(500, "internal_server_error"), NOW)) is Transient
    moved = wordpress.error_for(Answer(301, {"location": "https://acme.example/"}, b""), NOW)
    assert type(moved) is Refused and "https://acme.example/" in moved.message
    refused = wordpress.error_for(
        wp(400, "rest_invalid_param", "Invalid parameter(s): status"), NOW
    )
    assert type(refused) is Refused and "Invalid parameter(s): status" in refused.message


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, PermissionDenied),
        (403, PermissionDenied),
        (500, Transient),
        (307, Refused),
        (404, Refused),
    ],
)
def test_webhook(status: int, kind: type[Exception]) -> None:
    """A hook has no error format: the status decides."""
    assert type(webhook.error_for(answer(status), NOW)) is kind


def test_webhook_rate_limit_waits() -> None:
    limited = webhook.error_for(answer(429, retry_after="Sat, 05 Dec 2026 18:45:00 GMT"), NOW)
    assert isinstance(limited, RetryLater) and NOW + timedelta(minutes=15) == limited.at
