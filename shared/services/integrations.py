"""Integrations, social connections and named secrets as staff REST resources, with
every secret sealed before it is written.

The resource specs are built around the cipher (``resource_specs(cipher)``), so the
generic create and PATCH of the staff API store what the hooks seal: a credential, token
or secret value arrives as ``SecretStr``, and the ``derive`` hook replaces it with its
sealed form, bound to the document's path and field (``{path}#{field}`` is the
associated data), before anything is written or validated. The
stored models leave sealed values out of every response and say only whether they are set.
``reveal_*`` open them for the code that calls providers; no API returns what they open.

| resource | read | create, update, delete |
| --- | --- | --- |
| integrations, social_connections | manager | admin |
| secrets | admin | admin |
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import SecretStr

from shared.domain.identity import Role, StaffIdentity
from shared.domain.integrations import (
    CONNECTION_SECRETS,
    ConnectionFields,
    Integration,
    IntegrationFields,
    IntegrationStatus,
    SocialConnection,
    connection_check,
    connection_id,
    connection_path,
)
from shared.domain.secrets import Cipher, NamedSecret, SecretFields, seal_value
from shared.errors import NotFound
from shared.ports import Data, DocumentStore
from shared.services import integrations_queries as queries
from shared.staff_api.domain.lists import Scope
from shared.staff_api.services.resources import Derive, ResourceSpec

log = logging.getLogger("growthkit.integrations")


def _values(enum: Any) -> tuple[str, ...]:
    return tuple(v.value for v in enum)


def _seal_credentials(cipher: Cipher) -> Derive:
    def derive(_store: DocumentStore, _staff: StaffIdentity, scope: Scope, data: Data) -> Data:
        credentials = data.get("credentials")
        if not isinstance(credentials, dict) or not credentials:
            return {"credentials": None, "credential_names": []} if not credentials else {}
        if not all(isinstance(v, SecretStr) for v in credentials.values()):
            return {}  # sealed already: this change did not send new credentials
        plain = json.dumps({k: v.get_secret_value() for k, v in credentials.items()})
        path = f"{scope.base}/integrations/{data['id']}#credentials"
        return {"credentials": cipher.seal(plain, path), "credential_names": sorted(credentials)}

    return derive


def _seal_tokens(cipher: Cipher) -> Derive:
    """Seal newly sent tokens, passwords and secrets; new credentials (anything but a
    refresh token alone) reconnect the account (active, no error, changed now)."""

    def derive(_store: DocumentStore, _staff: StaffIdentity, scope: Scope, data: Data) -> Data:
        path = f"{scope.base}/social_connections/{data['id']}"
        sent = [k for k in CONNECTION_SECRETS if isinstance(data.get(k), SecretStr)]
        sealed = {k: seal_value(cipher, data[k], f"{path}#{k}") for k in sent}
        if set(sent) - {"refresh_token"}:
            sealed |= {"status": "active", "error_message": None, "expired_at": None}
            sealed["status_changed_at"] = data.get("updated_at")
        return sealed

    return derive


def _seal_secret(cipher: Cipher) -> Derive:
    def derive(_store: DocumentStore, _staff: StaffIdentity, scope: Scope, data: Data) -> Data:
        path = f"{scope.base}/secrets/{data['name']}#value"
        return {"value": seal_value(cipher, data.get("value"), path)}

    return derive


def resource_specs(cipher: Cipher, *, allow_loopback: bool = False) -> dict[str, ResourceSpec]:
    """The three resources, sealing with ``cipher`` (``allow_loopback``: connections may
    name receivers on this machine, ``webhooks_allow_loopback``)."""
    specs = (
        ResourceSpec(
            "integrations",
            Integration,
            {"created_at": ("time", queries.integrations)},
            IntegrationFields,
            filters={"status": _values(IntegrationStatus)},
            required=frozenset({"type", "provider", "display_name"}),
            read=Role.MANAGER,
            write=Role.ADMIN,
            delete=Role.ADMIN,
            derive=_seal_credentials(cipher),
        ),
        ResourceSpec(
            "social_connections",
            SocialConnection,
            {"created_at": ("time", queries.connections)},
            ConnectionFields,
            filters={"status": _values(IntegrationStatus)},
            required=frozenset({"platform"}),
            create_only=frozenset({"platform", "label"}),
            read=Role.MANAGER,
            write=Role.ADMIN,
            delete=Role.ADMIN,
            derive=_seal_tokens(cipher),
            new_id=connection_id,
            check=lambda data: connection_check(data, allow_loopback=allow_loopback),
        ),
        ResourceSpec(
            "secrets",
            NamedSecret,
            {"created_at": ("time", queries.secrets)},
            SecretFields,
            required=frozenset({"name", "value"}),
            create_only=frozenset({"name"}),
            id_field="name",
            read=Role.ADMIN,
            write=Role.ADMIN,
            delete=Role.ADMIN,
            derive=_seal_secret(cipher),
            new_id=lambda data: str(data["name"]),
        ),
    )
    return {spec.name: spec for spec in specs}


def reveal_secret(store: DocumentStore, cipher: Cipher, company_id: str, name: str) -> str:
    """A named secret's value, for code that calls a provider with it (never an API).

    Raises:
        NotFound: No such secret.
        SecretUnreadable: It cannot be opened (wrong key, tampered with, moved).
    """
    path = f"companies/{company_id}/secrets/{name}"
    snap = store.get_all([path])[0]
    if snap.data is None or not snap.data.get("value"):
        raise NotFound(f"No secret named {name!r}.")
    return cipher.open(snap.data["value"], f"{path}#value")


def reveal_credentials(
    store: DocumentStore, cipher: Cipher, company_id: str, integration_id: str
) -> dict[str, str]:
    """An integration's credentials by name (empty when it has none).

    Raises:
        NotFound: No such integration. SecretUnreadable: They cannot be opened.
    """
    path = f"companies/{company_id}/integrations/{integration_id}"
    snap = store.get_all([path])[0]
    if snap.data is None:
        raise NotFound("No such integration.")
    sealed = snap.data.get("credentials")
    opened: dict[str, str] = (
        json.loads(cipher.open(sealed, f"{path}#credentials")) if sealed else {}
    )
    return opened


def reveal_tokens(
    store: DocumentStore, cipher: Cipher, company_id: str, platform: str
) -> tuple[str, str | None]:
    """A social connection's access and refresh tokens.

    Raises:
        NotFound: No such connection. SecretUnreadable: They cannot be opened.
    """
    path = connection_path(company_id, platform)
    snap = store.get_all([path])[0]
    if snap.data is None or not snap.data.get("access_token"):
        raise NotFound("No such connection.")
    refresh = snap.data.get("refresh_token")
    return (
        cipher.open(snap.data["access_token"], f"{path}#access_token"),
        cipher.open(refresh, f"{path}#refresh_token") if refresh else None,
    )
