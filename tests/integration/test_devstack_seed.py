"""``make serve``'s demo company, made by ``create_company`` as ``growthkit company create``
makes a company, through the local Firestore and Auth stand-in with the real clients: the
admin README.md names can act as staff at once, and a second start changes nothing."""

from __future__ import annotations

from typing import Any

from localcloud.serve import Ports
from shared.devstack.stack import DEMO_ADMIN, DEMO_FORM_KEY, seed_demo

PORTS = Ports("127.0.0.1", 8080, 0, 0, 0)


def test_the_demo_company_and_admin_are_made_like_any_company(
    db: Any, project_id: str, auth_emulator: Any
) -> None:
    """The company with its form key, origins and thank-you page; the admin's account
    (uid demo-admin) with its claims, and its staff profile."""
    from shared.adapters.user_admin import user_admin_for

    url = seed_demo(auth_emulator, project_id, PORTS)
    assert url == auth_emulator.token_url(project_id, DEMO_ADMIN)
    company = db.document("companies/demo").get().to_dict()
    assert (DEMO_FORM_KEY, "http://127.0.0.1:8080/thanks") == (
        company["public_form_key"],
        company["settings"]["thank_you_url"],
    )
    assert ["http://127.0.0.1:8080", "http://localhost:8080"] == company["allowed_origins"]
    account = user_admin_for(project_id, auth_emulator.address).get(DEMO_ADMIN)
    assert account is not None
    assert ("demo", "admin") == (account.claims["company_id"], account.claims["role"])
    profile = db.document(f"companies/demo/users/{DEMO_ADMIN}").get().to_dict()
    assert ("admin", "admin@demo.example") == (profile["role"], profile["email"])


def test_a_second_start_keeps_what_the_first_made(
    db: Any, project_id: str, auth_emulator: Any
) -> None:
    seed_demo(auth_emulator, project_id, PORTS)
    before = db.document("companies/demo").get().update_time
    url = seed_demo(auth_emulator, project_id, PORTS)
    assert url == auth_emulator.token_url(project_id, DEMO_ADMIN)
    assert before == db.document("companies/demo").get().update_time
