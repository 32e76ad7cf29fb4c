"""Production token refresh end to end: ``refresh_social_tokens`` through the local
Firestore (real client) with ``OAuthTokenRefresher`` pointed at a local OAuth 2.0 token
endpoint (``http.server`` on 127.0.0.1:0) that checks the client's credentials and the
refresh-token grant like LinkedIn (client credentials in the body) and X (HTTP Basic) do.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import pytest

from shared import bootstrap
from shared.adapters import token_refresher
from shared.adapters.crypto import cipher
from shared.services.integrations import reveal_tokens
from tests.fakes import FakeTaskQueue
from tests.hostile.invariants import all_documents
from tests.integration.event_support import memory_queue
from tests.integration.periodic_support import drain
from tests.support import seed_company

BASE = "/companies/acme"
CLIENTS = {"linkedin": ("li-client", "li-secret/+="), "twitter": ("x-client", "x-secret:1")}


class TokenEndpoint:
    """A platform's token endpoint: answers each grant from ``answers`` (by platform; the
    last one repeats), rotating the refresh token when asked to."""

    def __init__(self) -> None:
        self.answers: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self.seen: list[dict[str, Any]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                platform = self.path.strip("/")
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                seen = {
                    "platform": platform,
                    "type": self.headers.get("Content-Type"),
                    "form": form,
                    "basic": _basic_credentials(self.headers.get("Authorization", "")),
                }
                endpoint.seen.append(seen)
                status, body = endpoint.answer(platform, seen)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, platform: str, seen: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        form = seen["form"]
        client = seen["basic"] or (form.get("client_id"), form.get("client_secret"))
        if client != CLIENTS[platform]:
            return 401, {"error": "invalid_client", "error_description": "Client auth failed"}
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        queue = self.answers.get(platform) or [(200, {"rotate": True})]
        status, body = queue.pop(0) if len(queue) > 1 else queue[0]
        if status == 200 and body.get("rotate"):
            given = form["refresh_token"]
            return 200, {
                "access_token": f"new-access-for-{given}",
                "expires_in": 7200,
                "refresh_token": f"rotated-{given}",
                "token_type": "bearer",
            }
        return status, body


def _basic_credentials(header: str) -> tuple[str, str] | None:
    if not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return unquote_plus(user), unquote_plus(password)


@pytest.fixture
def endpoint() -> Iterator[TokenEndpoint]:
    server = TokenEndpoint()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def oauth(
    endpoint: TokenEndpoint, function_client: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TokenEndpoint]:
    """The real refresher configured for LinkedIn (body) and X (Basic) at ``endpoint``."""
    monkeypatch.setenv("GROWTHKIT_TOKEN_REFRESHER", "oauth")
    for platform, (client_id, secret) in CLIENTS.items():
        prefix = f"GROWTHKIT_OAUTH_{platform.upper()}"
        monkeypatch.setenv(f"{prefix}_TOKEN_URL", f"{endpoint.url}/{platform}")
        monkeypatch.setenv(f"{prefix}_CLIENT_ID", client_id)
        monkeypatch.setenv(f"{prefix}_CLIENT_SECRET", secret)
    monkeypatch.setenv("GROWTHKIT_OAUTH_TIMEOUT_SECONDS", "2")
    bootstrap.reset()
    token_refresher.token_refresher.cache_clear()
    yield endpoint
    token_refresher.token_refresher.cache_clear()


@pytest.fixture
def api(db: Any, function_client: Any, staff_auth: Any) -> Any:
    seed_company(db)
    return function_client("integrations")


def connect(api: Any, admin: dict[str, str], platform: str, expires_in: timedelta) -> None:
    body = {
        "platform": platform,
        "platform_user_id": f"{platform}-7",
        "access_token": f"at-{platform}-OLD",
        "refresh_token": f"rt-{platform}-OLD",
        "expires_at": (datetime.now(UTC) + expires_in).isoformat(),
    }
    assert 201 == api.post(f"{BASE}/social_connections", json=body, headers=admin).status_code


@pytest.fixture
def tasks(functions_env: None, monkeypatch: pytest.MonkeyPatch) -> FakeTaskQueue:
    return memory_queue(monkeypatch)


class Run:
    """A run: Scheduler's call fans out, then acme's refresh task runs (if any is due)."""

    def __init__(self, function_client: Any, tasks: FakeTaskQueue, ok: tuple[int, ...]):
        fanned = function_client("refresh_social_tokens").post("/")
        assert 200 == fanned.status_code, fanned.get_json()
        answers = drain(function_client, tasks, ok=ok)
        self.status_code = answers[0]["status"] if answers else 200
        self.answer = answers[0] if answers else {}

    def get_json(self) -> dict[str, Any]:
        """What acme's task did (nothing due: nothing)."""
        if not self.answer:
            return {"due": 0}
        result: dict[str, Any] = self.answer["result"]["result"]
        return result


def run(function_client: Any, tasks: FakeTaskQueue, ok: tuple[int, ...] = (200,)) -> Run:
    return Run(function_client, tasks, ok)


def test_refresh_with_rotation_stores_both_new_tokens_sealed(
    db: Any,
    api: Any,
    oauth: TokenEndpoint,
    function_client: Any,
    tasks: FakeTaskQueue,
    staff_auth: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """LinkedIn (client in the body) and X (HTTP Basic) both renew: the grant is a form
    POST; the new access token and the rotated refresh token are stored sealed (no
    plaintext in Firestore), the expiry moves on, and no log line carries a token."""
    admin = staff_auth("acme", "admin")
    connect(api, admin, "linkedin", timedelta(minutes=10))
    connect(api, admin, "twitter", timedelta(minutes=20))
    caplog.set_level(logging.DEBUG)
    answer = run(function_client, tasks)
    assert (200, 2, 2) == (
        answer.status_code,
        answer.get_json()["due"],
        answer.get_json()["refreshed"],
    )
    by_platform = {s["platform"]: s for s in oauth.seen}
    assert "application/x-www-form-urlencoded" == by_platform["linkedin"]["type"]
    assert (None, "li-client") == (
        by_platform["linkedin"]["basic"],
        by_platform["linkedin"]["form"]["client_id"],
    )
    assert (CLIENTS["twitter"], "client_secret" in by_platform["twitter"]["form"]) == (
        by_platform["twitter"]["basic"],
        False,
    )
    store = bootstrap.document_store()
    for platform in ("linkedin", "twitter"):
        assert (f"new-access-for-rt-{platform}-OLD", f"rotated-rt-{platform}-OLD") == (
            reveal_tokens(store, cipher(), "acme", platform)
        )
        shown = api.get(f"{BASE}/social_connections/{platform}", headers=admin).get_json()
        expires = datetime.fromisoformat(shown["expires_at"])
        assert ("active", True) == (
            shown["status"],
            expires > datetime.now(UTC) + timedelta(minutes=115),
        )
    raw = json.dumps(all_documents(db), default=str)
    logged = caplog.text
    plain = ["rt-linkedin-OLD", "new-access-for", "rotated-rt", "li-secret", "x-secret"]
    assert [] == [p for p in plain if p in raw or p in logged]
    # The next run uses the rotated refresh token (nothing is due any more: none asked).
    assert 0 == run(function_client, tasks).get_json()["due"]


def test_invalid_grant_asks_to_reconnect_with_the_reason(
    api: Any, oauth: TokenEndpoint, function_client: Any, tasks: FakeTaskQueue, staff_auth: Any
) -> None:
    """The platform refuses the refresh token: reconnect, with its error_description for
    staff and when; the stored tokens stay what they were."""
    admin = staff_auth("acme", "admin")
    connect(api, admin, "linkedin", timedelta(minutes=10))
    refusal = {"error": "invalid_grant", "error_description": "The token has been revoked"}
    oauth.answers["linkedin"] = [(400, refusal)]
    answer = run(function_client, tasks)
    assert (200, 1) == (answer.status_code, answer.get_json()["reconnect"])
    shown = api.get(f"{BASE}/social_connections/linkedin", headers=admin).get_json()
    assert ("reconnect", True, True, True) == (
        shown["status"],
        shown["status_changed_at"] is not None,
        "invalid_grant: The token has been revoked" in shown["error_message"],
        "Reconnect the linkedin account" in shown["error_message"],
    )
    tokens = reveal_tokens(bootstrap.document_store(), cipher(), "acme", "linkedin")
    assert ("at-linkedin-OLD", "rt-linkedin-OLD") == tokens


def test_an_unavailable_platform_leaves_the_connection_for_the_next_run(
    api: Any, oauth: TokenEndpoint, function_client: Any, tasks: FakeTaskQueue, staff_auth: Any
) -> None:
    """503 then 429: the connection stays active with its tokens, counted as retried;
    the run after the platform is back refreshes it."""
    admin = staff_auth("acme", "admin")
    connect(api, admin, "twitter", timedelta(minutes=10))
    oauth.answers["twitter"] = [
        (503, {}),
        (429, {"error": "rate_limited"}),
        (200, {"rotate": True}),
    ]
    for _ in range(2):
        answer = run(function_client, tasks).get_json()
        assert (1, 0, 0) == (answer["retry_later"], answer["expired"], answer["refreshed"])
        shown = api.get(f"{BASE}/social_connections/twitter", headers=admin).get_json()
        assert ("active", None) == (shown["status"], shown["error_message"])
    assert 1 == run(function_client, tasks).get_json()["refreshed"]
    access, refresh = reveal_tokens(bootstrap.document_store(), cipher(), "acme", "twitter")
    assert ("new-access-for-rt-twitter-OLD", "rotated-rt-twitter-OLD") == (access, refresh)


def test_a_wrong_client_secret_fails_the_run_and_expires_nothing(
    db: Any,
    api: Any,
    oauth: TokenEndpoint,
    function_client: Any,
    tasks: FakeTaskQueue,
    staff_auth: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """401 invalid_client is our configuration's fault: the connection is left exactly as
    it was (staff need not reconnect) and acme's task fails (503, retried by Cloud Tasks)
    naming the settings."""
    admin = staff_auth("acme", "admin")
    connect(api, admin, "linkedin", timedelta(minutes=10))
    monkeypatch.setenv("GROWTHKIT_OAUTH_LINKEDIN_CLIENT_SECRET", "not-the-secret")
    bootstrap.reset()
    token_refresher.token_refresher.cache_clear()
    before = db.document("companies/acme/social_connections/linkedin").get().to_dict()
    answer = run(function_client, tasks, ok=(503,))
    after = db.document("companies/acme/social_connections/linkedin").get().to_dict()
    assert (503, before, 1) == (answer.status_code, after, len(oauth.seen))
    assert ("li-client", "not-the-secret") == (
        oauth.seen[0]["form"]["client_id"],
        oauth.seen[0]["form"]["client_secret"],
    )


def test_a_platform_without_a_client_is_deferred(
    api: Any, oauth: TokenEndpoint, function_client: Any, tasks: FakeTaskQueue, staff_auth: Any
) -> None:
    """Facebook has no refresh-token grant; nothing is asked and the connection stays
    active (retried next run)."""
    admin = staff_auth("acme", "admin")
    connect(api, admin, "facebook", timedelta(minutes=10))
    answer = run(function_client, tasks).get_json()
    assert (1, 0, []) == (answer["retry_later"], answer["expired"], oauth.seen)
