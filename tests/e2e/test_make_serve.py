"""End to end: `make serve` as a user starts it, a form post, and what follows in Firestore."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.instance import free_port
from tests.support import ROOT

pytestmark = pytest.mark.e2e


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_table_lists_every_function_and_emulator(stack: dict[str, Any]) -> None:
    """The printed table has each function's URL and each emulator host."""
    from shared.manifest import FUNCTIONS

    stack["log"].seek(0)
    text = stack["log"].read()
    base = f"http://127.0.0.1:{stack['ports']['FUNCTIONS']}"
    for function in FUNCTIONS:
        assert f"{base}/{function.name}" in text
    assert f"127.0.0.1:{stack['ports']['FIRESTORE']}" in text


def test_the_api_reference_page_renders_the_checked_in_openapi(stack: dict[str, Any]) -> None:
    """`/api/` is Swagger UI from the local distribution (no CDN), reading the repository's
    openapi.json; the table names the page."""
    base = f"http://127.0.0.1:{stack['ports']['FUNCTIONS']}"
    with urllib.request.urlopen(f"{base}/api/", timeout=30) as response:
        page = response.read().decode()
    with urllib.request.urlopen(f"{base}/api/openapi.json", timeout=30) as response:
        served = json.loads(response.read())
    with urllib.request.urlopen(f"{base}/api/swagger-ui-bundle.js", timeout=30) as response:
        bundle = response.read()
    assert 'SwaggerUIBundle({url: "openapi.json"' in page
    assert json.loads((ROOT / "openapi.json").read_text(encoding="utf-8")) == served
    assert b"SwaggerUIBundle" in bundle
    stack["log"].seek(0)
    assert f"{base}/api/" in stack["log"].read()


def test_form_post_creates_lead_and_trigger_scores_it(stack: dict[str, Any]) -> None:
    """A form post from the example page's origin creates a lead; the trigger scores it."""
    from google.cloud import firestore

    ports = stack["ports"]
    page = urllib.request.urlopen(f"http://127.0.0.1:{ports['FUNCTIONS']}/", timeout=10)
    assert 200 == page.status
    status, body = post(
        f"http://localhost:{ports['FUNCTIONS']}/lead_intake?key=demo.local-form-key",
        json.dumps(
            {"email": "e2e@example.com", "name": "E2E", "phone": "555-0100", "consent": True}
        ).encode(),
        {"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{ports['FUNCTIONS']}"},
    )
    assert 201 == status, body
    os.environ["FIRESTORE_EMULATOR_HOST"] = f"127.0.0.1:{ports['FIRESTORE']}"
    try:
        db = firestore.Client(project="demo-growthkit")
        ref = db.document(f"companies/demo/leads/{body['lead_id']}")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            lead = ref.get().to_dict() or {}
            if lead.get("score", 0) > 0:
                break
            time.sleep(0.3)
        assert "e2e@example.com" == lead["email_normalized"]
        assert lead["score"] > 0, "the on_lead_written trigger should have scored the lead"
    finally:
        del os.environ["FIRESTORE_EMULATOR_HOST"]


def demo_admin_token(ports: dict[str, int]) -> str:
    """The demo admin's ID token, fetched as README.md says (POST to the Auth stand-in)."""
    url = (
        f"http://127.0.0.1:{ports['AUTH']}/emulator/v1/projects/demo-growthkit/accounts/"
        "demo-admin:idToken"
    )
    status, body = post(url, b"", {})
    assert 200 == status, body
    return str(body["idToken"])


def call(url: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """A staff call with the token: a GET, or a POST of ``body`` as JSON."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_the_demo_admin_books_a_consultation_right_away(stack: dict[str, Any]) -> None:
    """Right after `make serve` starts, the demo admin of README.md has a staff profile
    (made with the company by the same code as `growthkit company create`), so it reads
    itself and books a consultation hosted by itself."""
    base = f"http://127.0.0.1:{stack['ports']['FUNCTIONS']}"
    token = demo_admin_token(stack["ports"])
    status, me = call(f"{base}/company_users/companies/demo/users/me", token)
    assert (200, "demo-admin", "admin") == (status, me.get("id"), me.get("role")), me
    when = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0).isoformat()
    booking = {"scheduled_at": when, "attendee_email": "jane@example.com", "type": "strategy"}
    status, made = call(f"{base}/consultations/companies/demo/consultations", token, booking)
    assert (201, "demo-admin", "scheduled") == (
        status,
        made.get("host_uid"),
        made.get("status"),
    ), made


def test_content_is_published_to_the_platform_stand_ins_and_shown(
    stack: dict[str, Any],
) -> None:
    """The demo company's accounts are on the platform stand-ins: a post published now to
    LinkedIn and X goes through the real publishers, once each, and the posted-content
    page (listed in the table) shows it as it reads there."""
    ports = stack["ports"]
    base, token = f"http://127.0.0.1:{ports['FUNCTIONS']}", demo_admin_token(ports)
    text = f"Spring tips {time.time_ns()}"
    draft = {"title": "Spring tips", "type": "social", "body": text, "platforms": ["linkedin", "x"]}
    status, made = call(f"{base}/staff_api/companies/demo/content", token, draft)
    assert 201 == status, made
    status, done = call(f"{base}/publish_content", token, {"content_id": made["id"]})
    assert (200, "published") == (status, done.get("status")), done
    assert {"linkedin", "x"} == {p for p, s in done["platform_status"].items() if s["url"]}
    posted = f"http://127.0.0.1:{ports['PLATFORMS']}/_admin"
    stack["log"].seek(0)
    assert posted in stack["log"].read()
    with urllib.request.urlopen(posted, timeout=10) as page:
        shown = page.read().decode()
    assert shown.count(text) >= 2  # one preview card on each platform


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def wait_for(probe: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"nothing after {timeout}s")


def test_a_new_lead_from_the_example_page_shows_as_mail_in_the_mailbox(
    stack: dict[str, Any],
) -> None:
    """The table lists the mailbox; a lead posted as the example page posts it makes the
    demo company's admin an e-mail (the new-lead alert), sent by the real SMTP sender
    and shown by the mailbox's JSON API with its headers and text, and on its page."""
    ports = stack["ports"]
    mailbox = f"http://127.0.0.1:{ports['MAILBOX']}"
    stack["log"].seek(0)
    assert f"{mailbox}/" in stack["log"].read()
    status, body = post(
        f"http://localhost:{ports['FUNCTIONS']}/lead_intake?key=demo.local-form-key",
        json.dumps({"email": "mailbox@example.com", "name": "Mia Box"}).encode(),
        {"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{ports['FUNCTIONS']}"},
    )
    assert 201 == status, body

    def alert() -> Any:
        listed = get_json(f"{mailbox}/api/messages")["messages"]
        return next((m for m in listed if "Mia Box" in m["subject"]), None)

    summary = wait_for(alert)
    shown = get_json(f"{mailbox}/api/messages/{summary['id']}")
    headers = dict(shown["headers"])
    assert ("admin@demo.example", "New lead: Mia Box") == (headers["To"], headers["Subject"])
    assert "Message-ID" in headers and "Date" in headers and "Mia Box" in shown["text"]
    with urllib.request.urlopen(f"{mailbox}/", timeout=10) as page:
        assert "New lead: Mia Box" in page.read().decode()


@pytest.mark.parametrize(
    "taken",
    ["FIRESTORE", "TASKS", "SCHEDULER", "AUTH", "SMTP", "MAILBOX", "PLATFORMS", "FUNCTIONS"],
)
def test_a_port_in_use_stops_make_serve_in_one_line(
    taken: str, stack: dict[str, Any], tmp_path: Any
) -> None:
    """A second `make serve` given one of the running stack's ports (the Auth stand-in's
    included, which used to move to a free port silently) starts nothing: one line naming
    the port and its variable, the recipe's exit status 1, no traceback."""
    ports = {name: free_port() for name in stack["ports"]}
    ports[taken] = stack["ports"][taken]
    env = {k: v for k, v in os.environ.items() if not k.endswith("_EMULATOR_HOST")}
    env.update({f"LOCALCLOUD_{k}_PORT": str(v) for k, v in ports.items()})
    env["LOCALCLOUD_DATA_DIR"] = str(tmp_path)
    out, err = _make_serve(env)
    lines = [line for line in err.splitlines() if not line.startswith("make")]
    port = ports[taken]
    said = f"port {port} is in use; set LOCALCLOUD_{taken}_PORT to another port"
    assert (1, True, True) == (len(lines), said in lines[0], "Error 1" in err), err
    assert "localcloud is up" not in out


def _make_serve(env: dict[str, str], timeout: float = 90) -> tuple[str, str]:
    """`make serve`'s stdout and stderr once it exits; if it is still up after
    ``timeout`` seconds, it is stopped (its whole process group) and the test fails."""
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        raise AssertionError(f"`make serve` kept running:\n{out[-2000:]}\n{err[-2000:]}") from None
