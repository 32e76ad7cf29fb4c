"""What the Facebook and Instagram stand-ins share: Graph API errors and fields.

Handling errors (developers.facebook.com/docs/graph-api/guides/error-handling): every
error is ``{"error": {"message", "type": "OAuthException", "code", "error_subcode",
"fbtrace_id"}}``, answered with HTTP 400 unless said otherwise; code 190 is a bad token
(subcode 463 expired, 460 invalidated), 2500 a missing one, 100 a bad parameter or an
object that cannot be reached (subcode 33), 506 a duplicate post, 32 a Page throttled.
"""

from __future__ import annotations

import itertools
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from localcloud.platforms.core import Json, Reply, TokenRefused, json_reply

IDS = itertools.count(122_100_000_000_000_001)  # the shape of Graph object ids
_STAMP = "%A, %d-%b-%y %H:%M:%S UTC"
_TOKEN_ERRORS = {
    "missing": (
        2500,
        None,
        "An active access token must be used to query information about the current user.",
    ),
    "invalid": (190, None, "Invalid OAuth access token - Cannot parse access token"),
    "expired": (
        190,
        463,
        "Error validating access token: Session has expired on {when}. The current time is {now}.",
    ),
    "revoked": (
        190,
        460,
        "Error validating access token: The session has been invalidated "
        "because the user changed their password or Facebook has changed the session "
        "for security reasons.",
    ),
}
_DEFAULT_FIELDS = (
    "id",
    "message",
    "created_time",
    "caption",
    "media_type",
    "timestamp",
    "status_code",
    "permalink",
)
_HIDDEN = ("platform", "kind", "seq", "created_at", "page_id", "ig_user_id")


def graph_error(
    message: str,
    code: int,
    subcode: int | None = None,
    status: int = 400,
    headers: dict[str, str] | None = None,
    **more: Any,
) -> Reply:
    """Graph's error body."""
    body: Json = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        body["error_subcode"] = subcode
    body |= more | {"fbtrace_id": secrets.token_urlsafe(8)}
    return json_reply(status, {"error": body}, headers)


def token_error(err: TokenRefused) -> Reply:
    """Graph's answer to a missing, unknown, expired or invalidated token."""
    code, subcode, message = _TOKEN_ERRORS[err.reason]
    expired_at = (err.grant.expires_at if err.grant else None) or time.time()
    message = message.format(
        when=datetime.fromtimestamp(expired_at, UTC).strftime(_STAMP),
        now=datetime.now(UTC).strftime(_STAMP),
    )
    headers = {"WWW-Authenticate": f'OAuth "Facebook Platform" "invalid_token" "{message}"'}
    return graph_error(message, code, subcode, headers=headers)


def unsupported(method: str, node: str) -> Reply:
    return graph_error(
        f"Unsupported {method.lower()} request. Object with ID '{node}' does not "
        "exist, cannot be loaded due to missing permissions, or does not support "
        "this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api",
        100,
        33,
    )


def fields(thing: Json, wanted: str | None) -> Json:
    """An object as Graph shows it: its default fields, or those ``fields=`` names."""
    shown = {k: v for k, v in thing.items() if k not in _HIDDEN}
    names = ["id", *wanted.split(",")] if wanted else _DEFAULT_FIELDS
    return {k: shown[k] for k in names if k in shown}


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
