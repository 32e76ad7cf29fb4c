"""Staff ID-token verification with firebase-admin against a local certificate server."""

from __future__ import annotations

from typing import Any

import pytest

from shared.adapters.auth import verify_bearer
from shared.domain.identity import Role
from shared.errors import Unauthenticated


def test_valid_token_gives_identity(staff_auth: Any) -> None:
    """A properly signed token yields the company and role claims."""
    identity = verify_bearer(staff_auth("acme", "admin")["Authorization"])
    assert ("acme", Role.ADMIN) == (identity.company_id, identity.role)


@pytest.mark.parametrize(
    "case", ["expired", "wrong-key", "wrong-audience", "unknown-kid", "no-claims", "missing"]
)
def test_bad_tokens_are_refused(
    case: str, staff_auth: Any, token_issuer: Any, project_id: str
) -> None:
    """Expired, forged, foreign and claim-less tokens are all refused."""
    from localcloud.auth_tokens import key_and_certificate

    tokens = {
        "expired": lambda: token_issuer.token(
            project_id, expires_in=-60, company_id="acme", role="admin"
        ),
        "wrong-key": lambda: token_issuer.token(
            project_id, key_pem=key_and_certificate()[0], company_id="acme", role="admin"
        ),
        "wrong-audience": lambda: token_issuer.token(
            "other-project", company_id="acme", role="admin"
        ),
        "unknown-kid": lambda: token_issuer.token(
            project_id, kid="nope", company_id="acme", role="admin"
        ),
        "no-claims": lambda: token_issuer.token(project_id),
        "missing": lambda: None,
    }
    token = tokens[case]()
    with pytest.raises(Unauthenticated):
        verify_bearer(f"Bearer {token}" if token else None)


def test_concurrent_first_checks_all_pass(staff_auth: Any, monkeypatch: Any) -> None:
    """An instance's first requests arrive together: every thread's valid token passes
    while the firebase-admin app is being made (it used to be made twice, the second
    attempt's error read as an invalid token, a 401 for a valid caller)."""
    import threading
    import time

    import firebase_admin

    from shared.adapters import auth

    header = staff_auth("acme", "admin")["Authorization"]
    verify_bearer(header)  # firebase-admin imported, so only the app's creation races
    if auth._APP_NAME in firebase_admin._apps:
        firebase_admin.delete_app(firebase_admin.get_app(auth._APP_NAME))
    initialize = firebase_admin.initialize_app

    def slow_initialize(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.05)  # the real call, later: every thread is inside the window by then
        return initialize(*args, **kwargs)

    monkeypatch.setattr(firebase_admin, "initialize_app", slow_initialize)
    barrier = threading.Barrier(8)
    results: list[object] = []

    def check() -> None:
        barrier.wait()
        try:
            results.append(verify_bearer(header).company_id)
        except Unauthenticated as err:
            results.append(str(err))

    threads = [threading.Thread(target=check) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ["acme"] * 8 == results
