"""Domain errors: one base class, a code per kind. Only ``functions/`` maps codes to HTTP."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    INVALID_ARGUMENT = "invalid-argument"
    UNAUTHENTICATED = "unauthenticated"
    PERMISSION_DENIED = "permission-denied"
    NOT_FOUND = "not-found"
    ALREADY_EXISTS = "already-exists"
    FAILED_PRECONDITION = "failed-precondition"
    RESOURCE_EXHAUSTED = "resource-exhausted"
    PAYLOAD_TOO_LARGE = "payload-too-large"
    UNAVAILABLE = "unavailable"


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    code: ErrorCode = ErrorCode.FAILED_PRECONDITION

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(DomainError):
    code = ErrorCode.INVALID_ARGUMENT


class Unauthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED


class PermissionDenied(DomainError):
    code = ErrorCode.PERMISSION_DENIED


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class AlreadyExists(DomainError):
    code = ErrorCode.ALREADY_EXISTS


class Refused(DomainError):
    """The request is well formed but the business rules refuse it (e.g. code expired)."""

    code = ErrorCode.FAILED_PRECONDITION


class RateLimited(DomainError):
    """Too many requests in a window. ``retry_after``: the seconds until that window frees
    (the HTTP edge sends them as ``Retry-After``)."""

    code = ErrorCode.RESOURCE_EXHAUSTED

    def __init__(
        self, message: str, retry_after: int | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, details)
        self.retry_after = retry_after


class PayloadTooLarge(DomainError):
    code = ErrorCode.PAYLOAD_TOO_LARGE


class Transient(DomainError):
    """A failure worth retrying (a provider timeout, contention); tasks answer 5xx for it."""

    code = ErrorCode.UNAVAILABLE


class RetryLater(Transient):
    """A transient failure whose remedy is time: the provider said when to come back (a
    rate limit's reset, a ``Retry-After``). A task failing so is rescheduled for ``at``
    rather than retried at once."""

    def __init__(self, message: str, at: datetime, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details)
        self.at = at


class Unconfirmed(Transient):
    """A request that may have acted, with no outcome to show for it: sent and not
    answered in time, cut off mid-answer, or answered "you have done this already". Look
    before sending it again."""


class Contention(Transient):
    """A precondition on a document failed because another request changed it."""
