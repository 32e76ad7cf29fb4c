"""Going live, as a new operator does it from the README, against `make serve`: the
operator command sets up a business, its form key works on the example page in a real
browser, the new admin's token lists the lead, and the mailbox shows the e-mail the lead
caused (the new-lead alert to the admin)."""

from __future__ import annotations

import json
import subprocess
import urllib.request
import uuid
from typing import Any

import pytest

from tests.e2e.test_browser_form import browser, fill, result_shown, submit_after_fill_time
from tests.e2e.test_make_serve import call, get_json, post, wait_for
from tests.support import ROOT

pytestmark = pytest.mark.e2e
__all__ = ["browser"]  # the module-scoped Chromium fixture, shared


def growthkit(stack: dict[str, Any], *args: str) -> dict[str, Any]:
    """``.venv/bin/growthkit`` with the environment lines `make serve` prints."""
    ports = stack["ports"]
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(ROOT),
        "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{ports['FIRESTORE']}",
        "CLOUD_TASKS_EMULATOR_HOST": f"127.0.0.1:{ports['TASKS']}",
        "CLOUD_SCHEDULER_EMULATOR_HOST": f"127.0.0.1:{ports['SCHEDULER']}",
        "GROWTHKIT_AUTH_EMULATOR_HOST": f"127.0.0.1:{ports['AUTH']}",
        "GOOGLE_CLOUD_PROJECT": "demo-growthkit",
    }
    command = [str(ROOT / ".venv" / "bin" / "growthkit"), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert 0 == done.returncode, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def test_a_business_set_up_by_the_operator_gets_its_first_lead_and_mail(
    stack: dict[str, Any], browser: Any
) -> None:
    """company create → the example page with the new key (a real browser) → the admin's
    ID token lists the lead → the mailbox shows "New lead: ..." to the admin."""
    ports = stack["ports"]
    base = f"http://127.0.0.1:{ports['FUNCTIONS']}"
    company_id = f"acme-{uuid.uuid4().hex[:8]}"
    admin = f"owner-{company_id}@acme.example"
    origins = [f"http://127.0.0.1:{ports['FUNCTIONS']}", f"http://localhost:{ports['FUNCTIONS']}"]
    made = growthkit(
        stack, "company", "create", company_id, "--name", "Acme Plumbing",
        "--admin-email", admin, "--origin", origins[0], "--origin", origins[1],
    )  # fmt: skip
    browser.get(f"{base}/?key={made['form_key']}")
    visitor = f"jane-{uuid.uuid4().hex[:6]}@example.com"
    fill(browser, name="Jane Golive", email=visitor, phone="555-0123", message="Leaky tap")
    submit_after_fill_time(browser)
    assert "ok" == result_shown(browser)[0]
    token_url = (
        f"http://127.0.0.1:{ports['AUTH']}/emulator/v1/projects/demo-growthkit/accounts/"
        f"{made['admin_uid']}:idToken"
    )
    status, minted = post(token_url, b"", {})
    assert 200 == status, minted
    leads_url = f"{base}/staff_api/companies/{company_id}/leads"
    status, page = call(leads_url, str(minted["idToken"]))
    assert (200, [visitor]) == (status, [lead["email"] for lead in page["items"]]), page
    mailbox = f"http://127.0.0.1:{ports['MAILBOX']}"

    def alert() -> Any:
        listed = get_json(f"{mailbox}/api/messages")["messages"]
        return next((m for m in listed if m["subject"] == "New lead: Jane Golive"), None)

    summary = wait_for(alert)
    shown = get_json(f"{mailbox}/api/messages/{summary['id']}")
    assert admin == dict(shown["headers"])["To"]
    assert visitor in shown["text"]
    with urllib.request.urlopen(f"{mailbox}/", timeout=10) as response:
        assert "New lead: Jane Golive" in response.read().decode()
