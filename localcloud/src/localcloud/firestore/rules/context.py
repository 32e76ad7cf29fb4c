"""Who is asking and what they ask: the caller's identity from the ``authorization``
header, and the ``request`` map rules see.

As the official emulator does, ``Bearer owner`` is the admin credential (rules do not
apply), and any other bearer token is a JWT whose payload is read without verifying
its signature (tests mint unsigned ``alg: none`` tokens); no header is an
unauthenticated caller (``request.auth == null``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import grpc

from localcloud.firestore.errors import FirestoreError
from localcloud.firestore.rules.runtime import RulePath, Timestamp

OWNER_TOKEN = "owner"


@dataclass(frozen=True)
class Identity:
    """The caller: the owner (admin), or a user with JWT claims, or nobody (None)."""

    owner: bool = False
    claims: dict[str, Any] | None = None

    def auth(self) -> dict[str, object] | None:
        """``request.auth``: ``uid`` and ``token`` (every claim of the ID token)."""
        if self.claims is None:
            return None
        uid = self.claims.get("user_id") or self.claims.get("sub") or self.claims.get("uid")
        return {"uid": uid, "token": dict(self.claims)}


OWNER = Identity(owner=True)
ANONYMOUS = Identity()


def identity(metadata: Iterable[tuple[str, str | bytes]]) -> Identity:
    """The caller of an RPC, from its ``authorization`` metadata."""
    header = next((str(v) for k, v in metadata if k.lower() == "authorization"), None)
    if header is None:
        return ANONYMOUS
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("the authorization header must be 'Bearer <token>'")
    token = token.strip()
    if token == OWNER_TOKEN:
        return OWNER
    return Identity(claims=decode_jwt_payload(token))


def decode_jwt_payload(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (as the emulator reads ID tokens)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise _unauthenticated("the bearer token is neither 'owner' nor a JWT")
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError) as err:
        raise _unauthenticated(f"the bearer token's payload is not JSON: {err}") from err
    if not isinstance(payload, dict):
        raise _unauthenticated("the bearer token's payload is not a JSON object")
    return payload


def _unauthenticated(message: str) -> FirestoreError:
    return FirestoreError(grpc.StatusCode.UNAUTHENTICATED, message)


def request_map(
    who: Identity,
    method: str,
    path: RulePath,
    time_ns: int,
    **extra: object,
) -> dict[str, object]:
    """``request``: auth, method, path, time, plus ``resource`` (writes) or ``query``."""
    return {
        "auth": who.auth(),
        "method": method,
        "path": path,
        "time": Timestamp(time_ns),
        **extra,
    }
