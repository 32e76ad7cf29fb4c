"""The one error type the local Cloud Scheduler raises; the gRPC layer turns it into a status."""

from __future__ import annotations

import grpc


class SchedulerError(Exception):
    """A request refused with a gRPC status code, as the real service would refuse it."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> SchedulerError:
    return SchedulerError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(name: str) -> SchedulerError:
    return SchedulerError(grpc.StatusCode.NOT_FOUND, f"Job not found: {name}")


def already_exists(name: str) -> SchedulerError:
    return SchedulerError(grpc.StatusCode.ALREADY_EXISTS, f"Job already exists: {name}")


def failed_precondition(message: str) -> SchedulerError:
    return SchedulerError(grpc.StatusCode.FAILED_PRECONDITION, message)


def unimplemented(message: str) -> SchedulerError:
    return SchedulerError(grpc.StatusCode.UNIMPLEMENTED, message)
