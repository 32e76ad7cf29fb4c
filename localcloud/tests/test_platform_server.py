"""The platform stand-ins' server: ports (free, given, taken), the command line, the
``/_admin`` HTTP API and page, what is recorded of each request, fault queues, reset, and
stopping while an answer is held back."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
import requests

from localcloud.platforms import PortInUseError, start_platforms


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_given_port_a_free_port_and_a_taken_one(platforms: Any) -> None:
    port = free_port()
    server = start_platforms(port=port)
    try:
        assert server.url == f"http://127.0.0.1:{port}"
        assert server.base_url("hooks", "crm") == f"http://127.0.0.1:{port}/hooks/crm"
        with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is already in use"):
            start_platforms(port=port)
    finally:
        server.stop()
    assert platforms.port != port and platforms.url.startswith("http://127.0.0.1:")
    with pytest.raises(KeyError, match="unknown platform"):
        platforms.base_url("myspace")
    nowhere = requests.get(platforms.url + "/myspace/feed")
    assert nowhere.status_code == 404 and "no platform" in nowhere.json()["error"]


def test_the_command_line_serves_and_refuses_a_taken_port(tmp_path: Any) -> None:
    port = free_port()
    command = [sys.executable, "-m", "localcloud.platforms", "--port", str(port)]
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert f"http://127.0.0.1:{port}/x" in line and "/_admin" in line
        assert requests.get(f"http://127.0.0.1:{port}/_admin/posts").json() == []
        taken = subprocess.run(
            command, check=False, capture_output=True, text=True, env=env, timeout=30
        )
        assert taken.returncode != 0
        assert f"port {port} on 127.0.0.1 is already in use" in taken.stderr
    finally:
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=10) == 0


def admin(platforms: Any, action: str, payload: Any) -> requests.Response:
    return requests.post(platforms.url + f"/_admin/{action}", data=json.dumps(payload))


def test_the_admin_api_sets_up_breaks_and_reads(platforms: Any) -> None:
    assert (
        admin(
            platforms, "grant", {"platform": "x", "token": "t", "subject": "7", "username": "seven"}
        ).status_code
        == 200
    )
    assert admin(platforms, "fail", {"platform": "x", "kind": 503}).status_code == 200
    url, auth = platforms.base_url("x") + "/2/tweets", {"Authorization": "Bearer t"}
    assert requests.post(url, json={"text": "a"}, headers=auth).status_code == 503
    assert requests.post(url, json={"text": "a"}, headers=auth).status_code == 201
    posts = requests.get(platforms.url + "/_admin/posts", params={"platform": "x"}).json()
    assert [p["text"] for p in posts] == ["a"]
    seen = requests.get(platforms.url + "/_admin/requests", params={"platform": "x"}).json()
    assert [(r["status"], r["fault"]) for r in seen] == [(503, "unavailable"), (201, None)]
    page = requests.get(platforms.url + "/_admin")
    assert page.headers["Content-Type"].startswith("text/html") and "&quot;a&quot;" in page.text
    assert "<div class=text>a</div>" in page.text  # the post as it reads there
    admin(platforms, "revoke", {"platform": "x", "token": "t"})
    assert requests.post(url, json={"text": "b"}, headers=auth).status_code == 401
    assert admin(platforms, "reset", {}).status_code == 200
    assert requests.get(platforms.url + "/_admin/requests").json() == []
    assert platforms.posts("x") == []


def authorize_x(platforms: Any, redirect: str) -> requests.Response:
    params = {
        "response_type": "code",
        "client_id": "c",
        "redirect_uri": redirect,
        "state": "q",
        "code_challenge": "c" * 43,
        "code_challenge_method": "plain",
    }
    return requests.get(
        platforms.base_url("x") + "/i/oauth2/authorize", params=params, allow_redirects=False
    )


def test_the_admin_api_registers_clients_for_oauth(platforms: Any) -> None:
    redirect = "https://app.example/cb"
    admin(platforms, "clients", {"platform": "x", "client_id": "c", "redirect_uris": [redirect]})
    admin(platforms, "sign-in", {"platform": "x", "subject": "42", "username": "answer"})
    location = authorize_x(platforms, redirect).headers["Location"]
    assert location.startswith(redirect + "?code=")
    code = location.split("code=")[1].split("&")[0]
    issued = requests.post(
        platforms.base_url("x") + "/2/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": "c",
            "redirect_uri": redirect,
            "code_verifier": "c" * 43,
        },
    ).json()
    me = requests.get(
        platforms.base_url("x") + "/2/users/me",
        headers={"Authorization": f"Bearer {issued['access_token']}"},
    ).json()
    assert me["data"]["username"] == "answer"


def test_bad_admin_input_is_a_400_saying_what(platforms: Any) -> None:
    for action, payload, needle in (
        ("fail", {"platform": "x", "kind": "explode"}, "explode"),
        ("fail", {"kind": 500}, "platform"),
        ("grant", {"platform": "nowhere", "token": "t", "subject": "s"}, "unknown platform"),
        ("expire", {"platform": "x", "token": "never-granted"}, "never-granted"),
        ("fail", [1, 2], "JSON object"),
    ):
        answer = admin(platforms, action, payload)
        assert answer.status_code == 400, action
        assert needle in answer.json()["error"], answer.json()
    assert requests.post(platforms.url + "/_admin/fail", data=b"{").status_code == 400
    assert requests.delete(platforms.url + "/_admin/reset").status_code == 405
    assert requests.get(platforms.url + "/_admin/nothing").status_code == 404


def test_the_python_api_refuses_what_it_cannot_do(platforms: Any) -> None:
    with pytest.raises(ValueError, match="explode"):
        platforms.fail("x", "explode")
    with pytest.raises(ValueError):
        platforms.fail("x", 418)
    with pytest.raises(KeyError):
        platforms.grant("orkut", "t", subject="s")


def test_what_is_recorded_of_binary_and_chunked_bodies(platforms: Any) -> None:
    requests.post(platforms.base_url("hooks") + "/bin", data=b"\xff\xfe\x00")
    chunks = (part for part in (b'{"a"', b": 1}"))
    requests.post(
        platforms.base_url("hooks") + "/chunked",
        data=chunks,
        headers={"Content-Type": "application/json"},
    )
    binary, chunked = platforms.requests("hooks")
    assert (binary["body"], binary["body_bytes"], binary["status"]) == (None, 3, 400)
    assert chunked["headers"]["Transfer-Encoding"] == "chunked"
    assert chunked["body"] == '{"a": 1}'
    assert platforms.posts("hooks")[0]["body"] == {"a": 1}


def raw_request(platforms: Any, head: bytes) -> bytes:
    with socket.create_connection((platforms.host, platforms.port), timeout=5) as raw:
        raw.sendall(head)
        return raw.recv(200)


def test_impossible_or_malformed_lengths_are_refused_unread(platforms: Any) -> None:
    big = b"POST /hooks/big HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n"
    assert raw_request(platforms, big).startswith(b"HTTP/1.1 413")
    bad = b"POST /hooks/bad HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n"
    assert raw_request(platforms, bad).startswith(b"HTTP/1.1 400")
    chunked = b"POST /hooks/bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
    assert raw_request(platforms, chunked).startswith(b"HTTP/1.1 400")
    assert platforms.requests() == []


def test_the_root_leads_to_the_admin_page(platforms: Any) -> None:
    answer = requests.get(platforms.url + "/", allow_redirects=False)
    assert (answer.status_code, answer.headers["Location"]) == (302, "/_admin")


def test_faults_are_per_path_and_used_up_in_order(platforms: Any) -> None:
    platforms.fail("hooks", 500, path="/a")
    platforms.fail("hooks", 429, times=2)
    statuses = [
        requests.post(platforms.base_url("hooks") + p, json={}).status_code
        for p in ("/b", "/a", "/a", "/b")
    ]
    assert statuses == [429, 500, 429, 200]


def test_reset_forgets_tokens_clients_and_set_up(platforms: Any) -> None:
    redirect = "https://app.example/cb"
    platforms.grant("x", "t", subject="1")
    platforms.register_client("x", "c", redirect_uris=[redirect])
    platforms.platform("hooks").configure("h", secret="s")
    platforms.fail("hooks", 500)
    platforms.reset()
    me = requests.get(
        platforms.base_url("x") + "/2/users/me", headers={"Authorization": "Bearer t"}
    )
    assert me.status_code == 401
    assert authorize_x(platforms, redirect).status_code == 400  # the client is gone
    assert requests.post(platforms.base_url("hooks") + "/h", json={}).status_code == 200


def test_stopping_releases_a_held_answer() -> None:
    server = start_platforms()
    server.fail("hooks", "stall", seconds=60)
    answered: list[int] = []
    thread = threading.Thread(
        target=lambda: answered.append(
            requests.post(server.base_url("hooks") + "/h", json={}, timeout=20).status_code
        )
    )
    thread.start()
    while not server.posts("hooks"):
        time.sleep(0.01)
    started = time.monotonic()
    server.stop()
    thread.join(timeout=20)
    assert time.monotonic() - started < 5
    assert answered == [200]


GARBAGE: list[Any] = [None, 0, -1, 1.5, "", "x", "9" * 30, [], [{}], {}, {"raw": 1}, True]


def _hostile_calls(platforms: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """Every route, with every garbage value in every field it reads."""
    calls: list[tuple[str, str, dict[str, Any]]] = []
    acct = "AC" + "1" * 32
    json_routes = {
        "/x/2/tweets": ["text", "media", "reply"],
        "/linkedin/rest/posts": [
            "author",
            "commentary",
            "visibility",
            "distribution",
            "lifecycleState",
        ],
        "/wordpress/blog/wp-json/wp/v2/posts": [
            "title",
            "content",
            "status",
            "tags",
            "featured_media",
            "slug",
            "excerpt",
        ],
        "/wordpress/blog/wp-json/wp/v2/tags": ["name", "slug", "description"],
    }
    for path, fields in json_routes.items():
        for field in fields:
            calls += [("POST", path, {"json": {field: value}}) for value in GARBAGE]
        calls += [("POST", path, {"json": value}) for value in GARBAGE]
    query_routes = {  # path: (what the route needs to get as far as the field, fields)
        "/x/2/users/2244994945/tweets": ({}, ["max_results", "since_id"]),
        "/linkedin/rest/posts": (
            {"q": "author", "author": "urn:li:person:a"},
            ["q", "author", "start", "count"],
        ),
        "/wordpress/blog/wp-json/wp/v2/posts": (
            {},
            ["per_page", "page", "status", "search", "slug", "context"],
        ),
        "/wordpress/blog/wp-json/wp/v2/tags": ({}, ["per_page", "page", "include", "slug"]),
        f"/twilio/2010-04-01/Accounts/{acct}/Messages.json": ({}, ["To", "From"]),
        "/facebook/v21.0/me/accounts": ({}, ["fields"]),
        "/facebook/v21.0/1/feed": ({}, ["fields"]),
    }
    for path, (base, fields) in query_routes.items():
        for field in fields:
            calls += [
                ("GET", path, {"params": base | {field: v}})
                for v in ("x", "-1", "1e9", "", "%", "0")
            ]
    form_routes = {
        f"/twilio/2010-04-01/Accounts/{acct}/Messages.json": [
            "To",
            "From",
            "Body",
            "StatusCallback",
            "MediaUrl",
        ],
        "/facebook/v21.0/1/feed": ["message", "link", "published"],
        "/facebook/v21.0/17/media": ["image_url", "caption"],
        "/facebook/v21.0/17/media_publish": ["creation_id"],
        "/facebook/v21.0/oauth/access_token": ["code", "grant_type", "fb_exchange_token"],
        "/x/2/oauth2/token": ["grant_type", "code", "code_verifier", "refresh_token"],
        "/linkedin/oauth/v2/accessToken": ["grant_type", "code", "refresh_token"],
    }
    for path, fields in form_routes.items():
        for field in fields:
            calls += [("POST", path, {"data": {field: v}}) for v in ("", "x", "%%", "\x00")]
    for path in (
        "/x/i/oauth2/authorize",
        "/linkedin/oauth/v2/authorization",
        "/facebook/dialog/oauth",
    ):
        calls += [
            ("GET", path, {"params": {"client_id": v, "redirect_uri": v}}) for v in ("", "c", "%")
        ]
    calls += [
        (
            "POST",
            "/wordpress/blog/wp-json/wp/v2/media",
            {"data": b"x", "headers": {"Content-Type": v, "Content-Disposition": v}},
        )
        for v in ("", "attachment; filename=", 'attachment; filename="../.."', "x" * 300)
    ]
    return calls


def test_hostile_input_is_never_a_500(platforms: Any) -> None:
    """Whatever a client sends, a stand-in answers it as the platform would: a 4xx."""
    acct = "AC" + "1" * 32
    platforms.grant("x", "t", subject="2244994945")
    platforms.grant("linkedin", "t", subject="urn:li:person:a")
    platforms.grant("twilio", "t", subject=acct)
    platforms.platform("wordpress").add_site("blog", "ed", "pw")
    platforms.platform("facebook").add_page("1", "P", owner="u", page_token="t", instagram_id="17")
    auth = {
        "Authorization": "Bearer t",
        "LinkedIn-Version": "202405",
        "X-Restli-Protocol-Version": "2.0.0",
    }
    failures = []
    for method, path, kw in _hostile_calls(platforms):
        basic = (acct, "t") if path.startswith("/twilio") else ("ed", "pw")
        extra = kw.pop("headers", {})
        use_basic = path.startswith(("/twilio", "/wordpress"))
        answer = requests.request(
            method,
            platforms.url + path,
            headers=extra if use_basic else auth | extra,
            auth=basic if use_basic else None,
            timeout=10,
            **kw,
        )
        if answer.status_code >= 500:
            failures.append((method, path, kw, answer.status_code, answer.text[:120]))
    assert failures == [], "\n".join(str(f[:4]) for f in failures)
