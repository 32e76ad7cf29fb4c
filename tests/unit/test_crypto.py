"""AES-GCM sealing of secrets: bound to their document, loud with the wrong key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from shared.adapters.crypto import (
    AesGcmCipher,
    KeyConfigurationError,
    cipher_from,
    local_key_env,
    new_key,
    parse_key,
)
from shared.domain.secrets import SecretUnreadable
from shared.settings import from_environment

KEY_A, KEY_B = parse_key(new_key()), parse_key(new_key())
PATH = "companies/acme/secrets/api#value"


def test_sealed_values_open_only_at_their_path_and_hold_no_plaintext() -> None:
    """Round trip at the same path; the stored form has no trace of the plaintext; the
    same value sealed twice differs (random nonce)."""
    cipher = AesGcmCipher(KEY_A)
    sealed = cipher.seal("sk_live_123", PATH)
    assert ("sk_live_123", False) == (cipher.open(sealed, PATH), "sk_live_123" in str(sealed))
    assert sealed != cipher.seal("sk_live_123", PATH)
    with pytest.raises(SecretUnreadable, match="another document"):
        cipher.open(sealed, "companies/globex/secrets/api#value")


def test_the_wrong_key_fails_naming_both_keys() -> None:
    """Opening with another key says which key sealed it and which is configured."""
    sealed = AesGcmCipher(KEY_A).seal("sk_live_123", PATH)
    other = AesGcmCipher(KEY_B)
    with pytest.raises(SecretUnreadable) as err:
        other.open(sealed, PATH)
    assert (True, True) == (sealed["kid"] in str(err.value), other.key_id in str(err.value))


def test_tampered_ciphertext_fails_authentication() -> None:
    """One changed character of the ciphertext is refused, not decrypted to garbage."""
    cipher = AesGcmCipher(KEY_A)
    sealed = cipher.seal("sk_live_123", PATH)
    ct = sealed["ct"]
    tampered = sealed | {"ct": ct[:5] + ("A" if ct[5] != "A" else "B") + ct[6:]}
    with pytest.raises(SecretUnreadable, match="fails authentication"):
        cipher.open(tampered, PATH)
    with pytest.raises(SecretUnreadable, match="not a sealed value"):
        cipher.open({"ct": "x"}, PATH)


def test_previous_keys_still_open_what_they_sealed() -> None:
    """After rotation the old key, listed as previous, opens old values; new ones use the
    new key."""
    old = AesGcmCipher(KEY_A).seal("v1", PATH)
    rotated = AesGcmCipher(KEY_B, previous=[KEY_A])
    assert ("v1", rotated.key_id) == (rotated.open(old, PATH), rotated.seal("v2", PATH)["kid"])


def test_key_configuration_errors_are_clear() -> None:
    """A key of the wrong size or not base64 is refused at start; production refuses the
    development key."""
    for bad in ("too-short", "%%%"):
        with pytest.raises(KeyConfigurationError, match="GROWTHKIT_SECRETS_KEY"):
            parse_key(bad)
    production = from_environment(
        {
            "GROWTHKIT_ENVIRONMENT": "production",
            "GROWTHKIT_SIGNING_KEY": "s3cret",
            "GROWTHKIT_FUNCTIONS_BASE_URL": "https://r-p.cloudfunctions.net",
        }
    )
    with pytest.raises(KeyConfigurationError, match="must be set in production"):
        cipher_from(production)


def test_make_serve_key_file_is_made_once_for_the_owner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first start writes a 32-byte key readable by its owner only; later starts
    read the same key."""
    monkeypatch.delenv("GROWTHKIT_SECRETS_KEY", raising=False)
    first = local_key_env(tmp_path / "data")
    mode = stat.S_IMODE(os.stat(tmp_path / "data" / "secrets.key").st_mode)
    assert (first, 0o600, 32) == (
        local_key_env(tmp_path / "data"),
        mode,
        len(parse_key(first["GROWTHKIT_SECRETS_KEY"])),
    )
