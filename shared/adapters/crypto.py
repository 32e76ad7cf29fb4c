"""The ``Cipher`` port on AES-256-GCM (``cryptography``), keyed from configuration.

Every sealed value carries the id of the key that sealed it (a hash of the key, never the
key), a random 96-bit nonce and the ciphertext with its tag; the document path is the
associated data. Opening checks the key id first, so a deployment with the wrong key says
exactly that instead of failing on the tag (or, with a cipher that does not authenticate,
returning garbage). Older keys listed in ``secrets_previous_keys`` still open what they
sealed, so the key can be rotated; new values are always sealed under the current key.

The key comes from ``GROWTHKIT_SECRETS_KEY`` (Secret Manager in production); ``make serve``
generates one into ``.localcloud/secrets.key`` on first start (``local_key_env``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.domain.secrets import Sealed, SecretUnreadable
from shared.settings import _LOCAL_SECRETS_KEY, Settings, get_settings

ALGORITHM = "AES-256-GCM"
KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ENV = "GROWTHKIT_SECRETS_KEY"


class KeyConfigurationError(Exception):
    """The configured key is missing, malformed or a development key in production."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_key(text: str) -> bytes:
    """A key as configured (base64url or base64 of 32 bytes) as bytes."""
    try:
        raw = _unb64(text.strip().replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError) as err:
        raise KeyConfigurationError(f"{KEY_ENV} is not base64.") from err
    if len(raw) != KEY_BYTES:
        raise KeyConfigurationError(f"{KEY_ENV} must be {KEY_BYTES} bytes, base64-encoded.")
    return raw


def key_id(key: bytes) -> str:
    """A short public name of a key: which key sealed a value, without revealing it."""
    return hashlib.sha256(b"growthkit-secrets-key-id\x00" + key).hexdigest()[:12]


class AesGcmCipher:
    """Implements ``shared.domain.secrets.Cipher``."""

    def __init__(self, key: bytes, previous: Sequence[bytes] = ()) -> None:
        self._current = AESGCM(key)
        self._kid = key_id(key)
        self._keys = {key_id(k): AESGCM(k) for k in previous} | {self._kid: self._current}

    @property
    def key_id(self) -> str:
        return self._kid

    def seal(self, plaintext: str, path: str) -> dict[str, str]:
        nonce = os.urandom(NONCE_BYTES)
        ct = self._current.encrypt(nonce, plaintext.encode(), path.encode())
        return {"alg": ALGORITHM, "kid": self._kid, "nonce": _b64(nonce), "ct": _b64(ct)}

    def open(self, sealed: dict[str, Any], path: str) -> str:
        try:
            envelope = Sealed.model_validate(sealed)
        except ValueError as err:
            raise SecretUnreadable(f"{path}: the stored secret is not a sealed value.") from err
        aead = self._keys.get(envelope.kid)
        if envelope.alg != ALGORITHM or aead is None:
            raise SecretUnreadable(
                f"{path}: sealed with key {envelope.kid} ({envelope.alg}), but the configured"
                f" key is {self._kid}; set {KEY_ENV} (or secrets_previous_keys) to that key."
            )
        try:
            plain = aead.decrypt(_unb64(envelope.nonce), _unb64(envelope.ct), path.encode())
        except (InvalidTag, binascii.Error, ValueError) as err:
            raise SecretUnreadable(
                f"{path}: the sealed secret fails authentication (tampered with, or copied"
                " from another document)."
            ) from err
        return plain.decode()


def cipher_from(settings: Settings) -> AesGcmCipher:
    """The cipher the settings configure; ``KeyConfigurationError`` if they cannot."""
    text = settings.secrets_key.get_secret_value()
    if settings.environment == "production" and text == _LOCAL_SECRETS_KEY:
        raise KeyConfigurationError(f"{KEY_ENV} must be set in production.")
    previous = settings.secrets_previous_keys.get_secret_value()
    return _cached(text, previous)


@functools.lru_cache(maxsize=4)
def _cached(current: str, previous: str) -> AesGcmCipher:
    return AesGcmCipher(parse_key(current), [parse_key(p) for p in previous.split(",") if p])


def cipher() -> AesGcmCipher:
    """The cipher of this instance's settings."""
    return cipher_from(get_settings())


def new_key() -> str:
    return _b64(os.urandom(KEY_BYTES))


def local_key_env(data_dir: Path) -> dict[str, str]:
    """``make serve``'s key: read from ``data_dir/secrets.key``, generated (owner-only) on
    first start, so secrets sealed locally open again after a restart."""
    if os.environ.get(KEY_ENV):
        return {}
    path = data_dir / "secrets.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(new_key() + "\n")
    return {KEY_ENV: path.read_text().strip()}
