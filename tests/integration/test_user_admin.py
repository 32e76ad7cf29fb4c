"""firebase-admin's user management against the local Auth stand-in (``localcloud.auth``),
through the ``FirebaseUserAdmin`` adapter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from localcloud.auth import start_auth
from shared import bootstrap
from shared.adapters.auth import verify_bearer
from shared.adapters.user_admin import FirebaseUserAdmin, _client, user_admin
from shared.domain.identity import Role
from shared.errors import AlreadyExists, NotFound


def test_accounts_and_claims_round_trip(auth_emulator: Any) -> None:
    """Create, find by e-mail (any case), set claims, read them back; a taken e-mail is
    AlreadyExists and an unknown uid is None."""
    admin = user_admin()
    made = admin.create("Pat@Acme.example", "Pat")
    admin.set_claims(made.uid, {"company_id": "acme", "role": "manager"})
    found = admin.find_by_email("pat@acme.EXAMPLE")
    assert found is not None
    assert (made.uid, "manager") == (found.uid, found.claims["role"])
    with pytest.raises(AlreadyExists):
        admin.create("pat@acme.example", None)
    assert (None, None) == (admin.get("nobody"), admin.find_by_email("no@acme.example"))


def test_a_deleted_account_is_gone_and_its_e_mail_free_again(auth_emulator: Any) -> None:
    """delete undoes create: the uid is unknown after it, the e-mail can be used again,
    and deleting twice is NotFound."""
    admin = user_admin()
    made = admin.create("gone@acme.example", None)
    admin.delete(made.uid)
    assert (None, None) == (admin.get(made.uid), admin.find_by_email("gone@acme.example"))
    assert made.uid != admin.create("gone@acme.example", None).uid
    with pytest.raises(NotFound):
        admin.delete(made.uid)


def test_the_stand_ins_tokens_verify_for_real(
    auth_emulator: Any, project_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token minted for an account carries its claims and passes firebase-admin's RS256
    check against the stand-in's certificate; a token for another project does not."""
    admin = user_admin()
    uid = admin.create("sig@acme.example", None).uid
    admin.set_claims(uid, {"company_id": "acme", "role": "admin"})
    monkeypatch.setenv("GROWTHKIT_ID_TOKEN_CERT_URL", auth_emulator.cert_url)
    bootstrap.reset()
    staff = verify_bearer(f"Bearer {auth_emulator.id_token(project_id, uid)}")
    assert (uid, "acme", Role.ADMIN) == (staff.uid, staff.company_id, staff.role)
    FirebaseUserAdmin(_client("elsewhere", auth_emulator.address, False)).create(
        "o@x.example", None
    )
    other = auth_emulator.accounts.lookup("elsewhere", {"email": ["o@x.example"]})["users"][0]
    with pytest.raises(Exception, match="aud"):
        verify_bearer(f"Bearer {auth_emulator.id_token('elsewhere', other['localId'])}")


def test_accounts_survive_a_restart(tmp_path: Path) -> None:
    """With a data directory, the stand-in keeps accounts between runs, per project."""
    first = start_auth(data_dir=tmp_path)
    made = FirebaseUserAdmin(_client("keep", first.address, False)).create("k@x.example", None)
    first.stop()
    second = start_auth(data_dir=tmp_path)
    try:
        found = FirebaseUserAdmin(_client("keep", second.address, False)).get(made.uid)
    finally:
        second.stop()
    assert found is not None
    assert "k@x.example" == found.email


def test_the_stand_ins_browser_calls_follow_identity_toolkit(
    auth_emulator: Any, project_id: str
) -> None:
    """Sign-up leaves the address unverified; an action link's code works once and only
    for its purpose; a new password ends the old one and moves validSince; a short
    password and a missing API key are refused with Identity Toolkit's messages."""
    import requests

    base = f"http://{auth_emulator.address}/identitytoolkit.googleapis.com/v1/accounts"

    def call(name: str, key: str = project_id, **body: Any) -> Any:
        return requests.post(f"{base}:{name}?key={key}", json=body, timeout=10).json()

    made = call("signUp", email="Ro@X.example", password="first-pw")
    admin = user_admin()
    before = admin.get(made["localId"])
    assert before is not None and not before.email_verified
    assert "WEAK_PASSWORD" in call("signUp", email="b@x.example", password="x")["error"]["message"]
    assert (
        "API key"
        in call("signUp", key="", email="c@x.example", password="pw1234")["error"]["message"]
    )
    client = _client(project_id, auth_emulator.address, False)
    reset = client.generate_password_reset_link("ro@x.example").split("oobCode=")[1].split("&")[0]
    assert "INVALID_OOB_CODE" == call("update", oobCode=reset)["error"]["message"]
    assert (
        "PASSWORD_RESET"
        == call("resetPassword", oobCode=reset, newPassword="second-pw")["requestType"]
    )
    again = call("resetPassword", oobCode=reset, newPassword="third-pw")
    assert "INVALID_OOB_CODE" == again["error"]["message"]
    signed_in = [
        call("signInWithPassword", email="ro@x.example", password=p)
        for p in ("first-pw", "second-pw")
    ]
    assert ("INVALID_LOGIN_CREDENTIALS", True) == (
        signed_in[0]["error"]["message"],
        "idToken" in signed_in[1],
    )
    verify = (
        client.generate_email_verification_link("ro@x.example").split("oobCode=")[1].split("&")[0]
    )
    assert call("update", oobCode=verify)["emailVerified"] is True
    after = admin.get(made["localId"])
    assert after is not None and after.email_verified
    assert after.tokens_valid_after is not None and before.tokens_valid_after is not None
    assert after.tokens_valid_after >= before.tokens_valid_after
