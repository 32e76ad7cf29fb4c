"""Secrets at rest: the sealed form stored in Firestore, the cipher port, named secrets.

A secret (an API key, an OAuth token, a named secret a company keeps for its integrations)
is stored only *sealed*: encrypted with authenticated encryption under the configured key,
with the document's path as associated data, so a sealed value copied into another
document (or another company's) does not open there. What the API shows of a secret is
whether it is set, never its value, and models carrying one hold it as ``SecretStr`` so a
log line or an error message cannot print it.
"""

from typing import Annotated, Any, Protocol

from pydantic import ConfigDict, Field, SecretStr, computed_field

from shared.domain.common import DeferredModel, StoredModel
from shared.staff_api.domain.edits import EditModel

# Provider tokens and API keys are far shorter; anything longer is not a credential.
MAX_SECRET_CHARS = 8192
SecretValue = Annotated[SecretStr, Field(min_length=1, max_length=MAX_SECRET_CHARS)]
SecretName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]


class SecretUnreadable(Exception):
    """A sealed value that cannot be opened: the wrong key is configured, or the value was
    tampered with or moved from another document. Deliberately not a ``DomainError``: it
    is a fault of the deployment or the data, never of the caller, and must fail loudly."""


class Sealed(DeferredModel):
    """A secret as stored: algorithm, key id, nonce and ciphertext (base64url)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alg: str
    kid: str
    nonce: str
    ct: str


class Cipher(Protocol):
    """Seals and opens secrets; ``path`` is the document the value lives in."""

    @property
    def key_id(self) -> str: ...

    def seal(self, plaintext: str, path: str) -> dict[str, str]: ...

    def open(self, sealed: dict[str, Any], path: str) -> str:
        """The plaintext; ``SecretUnreadable`` with the reason when it cannot be opened."""
        ...


def is_sealed(value: Any) -> bool:
    """Whether ``value`` is a stored sealed secret (rather than a newly sent one)."""
    return isinstance(value, dict) and {"alg", "kid", "nonce", "ct"} <= set(value)


def seal_value(cipher: Cipher, value: Any, path: str) -> Any:
    """A newly sent secret sealed for ``path``; a sealed or missing value as it is."""
    if isinstance(value, SecretStr):
        return cipher.seal(value.get_secret_value(), path)
    return value


class SecretFields(EditModel):
    """What admins send for a named secret: its name (the id) and value."""

    name: SecretName = "x"  # create only; the default never applies (required on create)
    value: SecretValue = SecretStr("x")
    description: str | None = Field(default=None, max_length=500)


class NamedSecret(StoredModel):
    """A named secret as the API shows it: everything but the value."""

    name: str
    company_id: str
    description: str | None = None
    value: dict[str, Any] | None = Field(default=None, exclude=True)
    created_by: str | None = None
    updated_by: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_value(self) -> bool:
        return is_sealed(self.value)
