"""The one error type the local Cloud Tasks raises; the gRPC layer turns it into a status.

Messages follow the real service's wording where it is known, so logs read the same.
"""

from __future__ import annotations

import grpc


class TasksError(Exception):
    """A request refused with a gRPC status code, as the real service would refuse it."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> TasksError:
    return TasksError(grpc.StatusCode.INVALID_ARGUMENT, message)


def queue_not_found() -> TasksError:
    return TasksError(
        grpc.StatusCode.NOT_FOUND,
        "Queue does not exist. If you just created the queue, "
        "wait at least a minute for the queue to initialize.",
    )


def not_found(message: str = "Requested entity was not found.") -> TasksError:
    return TasksError(grpc.StatusCode.NOT_FOUND, message)


def already_exists(message: str = "Requested entity already exists") -> TasksError:
    return TasksError(grpc.StatusCode.ALREADY_EXISTS, message)


def failed_precondition(message: str) -> TasksError:
    return TasksError(grpc.StatusCode.FAILED_PRECONDITION, message)


def unimplemented(message: str) -> TasksError:
    return TasksError(grpc.StatusCode.UNIMPLEMENTED, message)
