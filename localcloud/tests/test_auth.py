"""The Firebase Auth stand-in over its HTTP API (the Identity Toolkit calls firebase-admin
makes), and the signed ID tokens of the stand-in and of ``TokenIssuer``, checked with
google-auth against the published certificates as production tokens are."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.auth import jwt

from localcloud.auth import AuthServer, start_auth
from localcloud.auth_tokens import TokenIssuer, key_and_certificate

PROJECT = "auth-project"


def call(server: AuthServer, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """POST ``body`` (GET without one) to the stand-in; the status and the JSON answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://{server.address}{path}", data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def toolkit(server: AuthServer, call_name: str, body: dict[str, Any]) -> tuple[int, Any]:
    return call(server, f"/identitytoolkit.googleapis.com/v1/projects/{PROJECT}/{call_name}", body)


def verified(token: str, cert_url: str, audience: str = PROJECT) -> dict[str, Any]:
    """The claims of ``token`` if its signature, audience and times check out."""
    with urllib.request.urlopen(cert_url, timeout=10) as response:
        certs = json.loads(response.read())
    claims: dict[str, Any] = jwt.decode(token, certs=certs, audience=audience)  # type: ignore[no-untyped-call]
    return claims


@pytest.fixture
def auth() -> Iterator[AuthServer]:
    server = start_auth()
    yield server
    server.stop()


def test_accounts_claims_and_a_signed_token(auth: AuthServer) -> None:
    """Create, look up by e-mail in any case, set claims; the minted token carries them and
    verifies against /certs."""
    assert 200 == toolkit(auth, "accounts", {"localId": "u1", "email": "Pat@Acme.example"})[0]
    status, found = toolkit(auth, "accounts:lookup", {"email": ["pat@ACME.example"]})
    assert (200, "u1") == (status, found["users"][0]["localId"])
    claims = json.dumps({"role": "admin", "sub": "someone-else"})
    assert 200 == toolkit(auth, "accounts:update", {"localId": "u1", "customAttributes": claims})[0]
    url = auth.token_url(PROJECT, "u1")
    status, minted = call(auth, url.split(auth.address, 1)[1], {})
    assert 200 == status
    token = verified(minted["idToken"], auth.cert_url)
    # A custom claim never takes a reserved claim's place, as Firebase refuses those.
    assert ("u1", "admin", "pat@acme.example") == (token["sub"], token["role"], token["email"])


def test_identity_toolkit_errors(auth: AuthServer) -> None:
    toolkit(auth, "accounts", {"localId": "u1", "email": "a@x.example"})
    assert (400, "EMAIL_EXISTS") == _error(toolkit(auth, "accounts", {"email": "A@x.example"}))
    assert (400, "USER_NOT_FOUND") == _error(toolkit(auth, "accounts:delete", {"localId": "u9"}))
    bad_claims = {"localId": "u1", "customAttributes": "[1]"}
    assert (400, "INVALID_CLAIMS") == _error(toolkit(auth, "accounts:update", bad_claims))
    toolkit(auth, "accounts:update", {"localId": "u1", "disableUser": True})
    minted = call(auth, f"/emulator/v1/projects/{PROJECT}/accounts/u1:idToken", {})
    assert (400, "USER_DISABLED") == _error(minted)


def test_accounts_survive_a_restart(tmp_path: Path) -> None:
    """With a data directory the stand-in keeps accounts between runs, per project."""
    first = start_auth(data_dir=tmp_path)
    toolkit(first, "accounts", {"localId": "keep", "email": "k@x.example"})
    first.stop()
    second = start_auth(data_dir=tmp_path)
    try:
        status, found = toolkit(second, "accounts:lookup", {"localId": ["keep"]})
    finally:
        second.stop()
    assert (200, "k@x.example") == (status, found["users"][0]["email"])


@pytest.fixture(scope="module")
def issuer() -> Iterator[TokenIssuer]:
    made = TokenIssuer()
    yield made
    made.close()


def test_the_issuers_tokens_verify_and_bad_ones_do_not(issuer: TokenIssuer) -> None:
    """A token with custom claims verifies; expired, forged, foreign and unknown-key
    tokens are refused by the same check."""
    good = verified(issuer.token(PROJECT, "u7", role="manager"), issuer.cert_url)
    assert ("u7", "manager") == (good["sub"], good["role"])
    assert issuer.bearer(PROJECT, "u7")["Authorization"].startswith("Bearer ey")
    bad = {
        "expired": issuer.token(PROJECT, expires_in=-60),
        "forged": issuer.token(PROJECT, key_pem=key_and_certificate()[0]),
        "foreign": issuer.token("another-project"),
        "unknown key": issuer.token(PROJECT, kid="nope"),
    }
    refused = {}
    for case, token in bad.items():
        with pytest.raises(ValueError) as err:
            verified(token, issuer.cert_url)
        refused[case] = str(err.value)
    assert "expired" in refused["expired"].lower()
    assert "audience" in refused["foreign"].lower()
    assert "could not verify" in refused["forged"].lower()
    assert "certificate for key id nope not found" in refused["unknown key"].lower()


def _error(answer: tuple[int, Any]) -> tuple[int, str]:
    status, body = answer
    return status, body["error"]["message"]
