"""Test helpers: the real Firestore client acting as an end user, for security rules.

Against an emulator (``FIRESTORE_EMULATOR_HOST``) the Python client sends
``authorization: Bearer owner`` with every call, whatever its credentials (it only
copies a credential's ``id_token`` into a channel option, which no server sees), so it
always has admin access. ``user_client`` is the unmodified client whose emulator channel
gets one interceptor: each call's ``authorization`` header becomes ``Bearer <id_token>``
of the credentials, or is dropped for credentials without one (an unauthenticated web
visitor). Everything else (requests, retries, streams) is the library's own code.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections import namedtuple
from collections.abc import Callable
from typing import Any

import grpc
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.oauth2.credentials import Credentials


def mock_id_token(project_id: str, uid: str, **claims: Any) -> str:
    """An unsigned (``alg: none``) Firebase ID token for ``uid`` with custom ``claims``,
    as Firebase's rules-unit-testing mints them; emulators read it without verifying."""
    now = int(time.time())
    payload = {
        "iss": f"https://securetoken.google.com/{project_id}",
        "aud": project_id,
        "iat": now,
        "exp": now + 3600,
        "auth_time": now,
        "sub": uid,
        "user_id": uid,
        "firebase": {"sign_in_provider": "custom", "identities": {}},
        **claims,
    }
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."


def _b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def user_client(project_id: str, id_token: str | None) -> Any:
    """The real client on the emulator at ``FIRESTORE_EMULATOR_HOST`` acting as the
    user of ``id_token`` (any JWT), or as nobody when it is None."""
    if not os.environ.get("FIRESTORE_EMULATOR_HOST"):
        raise RuntimeError("user_client needs FIRESTORE_EMULATOR_HOST")
    if id_token is None:
        credentials: Any = AnonymousCredentials()  # type: ignore[no-untyped-call]
    else:
        credentials = Credentials(token=id_token, id_token=id_token)  # type: ignore[no-untyped-call]
    return _UserClient(project=project_id, credentials=credentials)


class _UserClient(firestore.Client):
    """``firestore.Client`` whose emulator channel authenticates as its credentials."""

    def _emulator_channel(self, transport: Any) -> Any:
        channel = super()._emulator_channel(transport)  # type: ignore[no-untyped-call]
        token = getattr(self._credentials, "id_token", None)
        return grpc.intercept_channel(channel, _Authorization(token))


class _CallDetails(
    namedtuple(
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,  # type: ignore[misc]
):
    pass


class _Authorization(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
    grpc.StreamStreamClientInterceptor,  # type: ignore[misc]
):
    """Replaces the ``authorization`` metadata of every call."""

    def __init__(self, token: str | None) -> None:
        self._header = [("authorization", f"Bearer {token}")] if token else []

    def _details(self, details: Any) -> Any:
        kept = [(k, v) for k, v in details.metadata or () if k.lower() != "authorization"]
        return _CallDetails(
            details.method,
            details.timeout,
            kept + self._header,
            details.credentials,
            details.wait_for_ready,
            details.compression,
        )

    def _call(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    intercept_unary_unary = _call
    intercept_unary_stream = _call
    intercept_stream_unary = _call
    intercept_stream_stream = _call
