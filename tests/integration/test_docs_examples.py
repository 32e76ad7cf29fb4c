"""Every HTTP exchange the docs show is sent to its function and answered as shown.

The guides include ``docs/examples/<guide>/*.http`` (see ``tests/docs_examples.py`` for
the format); here each guide's exchanges run in order through functions-framework against
localcloud's Firestore and Cloud Tasks with the real clients, on a fresh project seeded as
``make serve`` seeds it (the demo company, its form key and origins), with real signed
ID tokens for ``$TOKEN``. A change of behaviour fails here until the docs say it.
With ``DOCS_EXAMPLES_SHOW=1``, an example whose answer is ``HTTP/1.1 000`` (not written
yet) gets the real answer written in, to edit (placeholders for what varies).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.docs_examples import Exchange, Matcher, parse, scenarios

DEMO = "demo"
ROLES = {"$TOKEN": ("demo-admin", "admin"), "$MANAGER_TOKEN": ("demo-manager", "manager")}
ROLES["$USER_TOKEN"] = ("demo-user", "user")


@pytest.fixture
def demo_stack(
    db: Any,
    project_id: str,
    staff_auth: Any,
    auth_emulator: Any,
    cloud_tasks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The demo company and admin as ``make serve`` makes them (``create_company``: the
    admin's account in the local Firebase Auth and its staff profile), and a local Cloud
    Tasks holding the bundle's queue, paused (reminders, scheduled posts and campaign
    batches are queued through the real client)."""
    from localcloud.serve import Ports
    from shared.devstack.stack import seed_demo

    # The operator's OAuth apps: the integrations guide shows their authorization URLs.
    for app in ("LINKEDIN", "TWITTER", "FACEBOOK"):
        monkeypatch.setenv(f"GROWTHKIT_OAUTH_{app}_CLIENT_ID", f"demo-{app.lower()}-app")
        monkeypatch.setenv(f"GROWTHKIT_OAUTH_{app}_CLIENT_SECRET", "not-a-real-secret")
    # Paused: tasks are taken (the answers shown) but not delivered to a run_task that
    # nothing serves here (or to a developer's `make serve` on the same port).
    cloud_tasks(paused=True)
    seed_demo(auth_emulator, project_id, Ports("127.0.0.1", 8080, 0, 0, 0))


def _tokens(token_issuer: Any, project_id: str) -> dict[str, str]:
    return {
        name: token_issuer.token(project_id, uid=uid, company_id=DEMO, role=role)
        for name, (uid, role) in ROLES.items()
    }


def send(function_client: Any, exchange: Exchange, matcher: Matcher, tokens: dict[str, str]) -> Any:
    """Send ``exchange``'s request (placeholders and tokens filled in) to its function."""
    method, target, _ = exchange.request.start.split(" ")
    function, _, rest = target.lstrip("/").partition("/")
    function, query_mark, query = function.partition("?")
    path = "/" + rest + (query_mark + query if query_mark else "")
    headers = {k: matcher.fill(v) for k, v in exchange.request.headers.items() if k != "Host"}
    for name, token in tokens.items():
        headers = {k: v.replace(name, token) for k, v in headers.items()}
    body = matcher.fill(exchange.request.body).encode()
    return function_client(function).open(
        matcher.fill(path), method=method, headers=headers, data=body or None
    )


def check(exchange: Exchange, res: Any, matcher: Matcher) -> None:
    """The status, the documented headers and the body are what the docs show."""
    answer = res.get_data(as_text=True)
    where = f"{exchange.path.relative_to(exchange.path.parents[2])}: got {res.status_code}"
    assert exchange.status == res.status_code, f"{where} {answer}"
    for name, value in exchange.response.headers.items():
        assert matcher.text(value, res.headers.get(name, "")), f"{where}: {name} {res.headers}"
    shown = exchange.response.body
    if shown and res.is_json:
        assert matcher.json(json.loads(shown), res.get_json()), f"{where}\n{answer}"
    else:
        assert matcher.text(shown, answer.strip("\n")), f"{where}\n{answer}"


# Times examples may name: bookings and schedules must lie ahead, whenever the tests run.
_MONDAY = datetime.now(UTC).date() + timedelta(days=7 - datetime.now(UTC).weekday())
TIMES = {
    "next_week": f"{_MONDAY + timedelta(days=1)}T09:00:00+01:00",
    "next_week_later": f"{_MONDAY + timedelta(days=1)}T09:30:00+01:00",
    "today": datetime.now(UTC).date().isoformat(),
}
SHOWN_HEADERS = ("Location", "Access-Control-Allow-Origin", "Idempotent-Replayed")


def write_answer(path: Path, res: Any) -> None:
    """Replace ``path``'s ``HTTP/1.1 000`` answer with ``res`` as the docs would show it."""
    head = [f"HTTP/1.1 {res.status}"]
    head += [f"{k}: {res.headers[k]}" for k in SHOWN_HEADERS if k in res.headers]
    body = res.get_data(as_text=True)
    if body and not res.is_json:
        head.append(f"Content-Type: {res.headers['Content-Type']}")
    if res.is_json:
        body = json.dumps(res.get_json(), indent=2, ensure_ascii=False)
    text = path.read_text(encoding="utf-8")
    answer = "\n".join(head) + ("\n\n" + body.strip("\n") if body.strip() else "") + "\n"
    path.write_text(text.replace("HTTP/1.1 000\n", answer), encoding="utf-8")


@pytest.mark.parametrize("guide", scenarios(), ids=lambda p: p.name)
def test_guide_examples_are_answered_as_documented(
    guide: Path, demo_stack: None, function_client: Any, token_issuer: Any, project_id: str
) -> None:
    """Each exchange of the guide, in file order, answers as the docs say."""
    matcher, tokens = Matcher(dict(TIMES)), _tokens(token_issuer, project_id)
    for path in sorted(guide.glob("*.http")):
        exchange = parse(path)
        res = send(function_client, exchange, matcher, tokens)
        if os.environ.get("DOCS_EXAMPLES_SHOW") and exchange.status == 0:
            write_answer(path, res)  # "HTTP/1.1 000": an answer not written yet
            continue
        check(exchange, res, matcher)
