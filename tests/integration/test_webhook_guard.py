"""Workflow webhook steps cannot reach inside: the ``workflows`` function refuses URL
tricks on save, with the local Firestore and the real clients."""

from __future__ import annotations

from typing import Any

import pytest

from shared import bootstrap
from tests.support import seed_company


def tricks(port: int) -> list[str]:
    """URLs that name a public host to a naive check but reach 127.0.0.1:``port``."""
    return [
        f"http://127.0.0.1:{port}\\@8.8.8.8/hook",  # requests: the backslash ends the host
        f"http://8.8.8.8@127.0.0.1:{port}/hook",
        f"http://2130706433:{port}/hook",  # 127.0.0.1 as one decimal number
        f"http://0x7f.0.0.1:{port}/hook",
        f"http://0177.0.0.1:{port}/hook",
        f"http://127.1:{port}/hook",
        f"http://[::ffff:127.0.0.1]:{port}/hook",
        f"http://localhost:{port}/hook",
        f"http://LocalHost.:{port}/hook",
    ]


def test_the_staff_api_refuses_every_trick_with_the_path_of_the_step(
    db: Any, function_client: Any, staff_auth: Any
) -> None:
    """Each trick is a 400 naming ``steps[0].url``, even locally (loopback is allowed
    only by an explicit setting, which no trick gets past); no workflow is stored."""
    seed_company(db)
    answers = []
    for url in tricks(8080):
        steps = [{"type": "webhook", "url": url}]
        workflow = {"name": "Hook", "trigger": {"type": "manual"}, "steps": steps}
        res = function_client("workflows").post(
            "/", json={"workflow": workflow}, headers=staff_auth("acme")
        )
        error = res.get_json().get("error") or {}
        answers.append(
            (res.status_code, "steps[0].url" in error.get("details", {}).get("fields", {}))
        )
    assert [(400, True)] * len(tricks(8080)) == answers
    assert [] == list(db.collection("companies/acme/workflows").stream())


def test_a_local_receiver_is_saved_only_with_the_loopback_setting(
    db: Any, function_client: Any, staff_auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``http://127.0.0.1:8080/hook`` is refused by default, saved once
    ``GROWTHKIT_WEBHOOKS_ALLOW_LOOPBACK`` is set (tests, local development)."""
    seed_company(db)
    steps = [{"type": "webhook", "url": "http://127.0.0.1:8080/hook"}]
    body = {"workflow": {"name": "Hook", "trigger": {"type": "manual"}, "steps": steps}}
    refused = function_client("workflows").post("/", json=body, headers=staff_auth("acme"))
    monkeypatch.setenv("GROWTHKIT_WEBHOOKS_ALLOW_LOOPBACK", "true")
    bootstrap.reset()
    saved = function_client("workflows").post("/", json=body, headers=staff_auth("acme"))
    assert (400, 201) == (refused.status_code, saved.status_code)
