"""The one error type the local Firestore raises; the gRPC layer turns it into a status."""

from __future__ import annotations

import grpc


class FirestoreError(Exception):
    """A request refused with a gRPC status code, as the real service would refuse it."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> FirestoreError:
    return FirestoreError(grpc.StatusCode.INVALID_ARGUMENT, message)


def aborted(message: str) -> FirestoreError:
    return FirestoreError(grpc.StatusCode.ABORTED, message)
