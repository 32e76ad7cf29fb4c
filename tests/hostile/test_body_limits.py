"""Bodies over ``settings.max_body_bytes`` (64 KiB) are refused early with 413: whether
they declare their length or stream it chunked, as JSON, urlencoded or multipart; the
server does not wait for (or buffer) the rest."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from shared.settings import get_settings
from tests.support import seed_company

KEY = "acme.public-key-123"
LIMIT = 64 * 1024


def connect(base_url: str) -> http.client.HTTPConnection:
    parts = urlsplit(base_url)
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)


def test_the_limit_is_64_kib(functions_env: None) -> None:
    """The documented limit is the configured one."""
    assert LIMIT == get_settings().max_body_bytes


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", json.dumps({"form_key": KEY, "x": "a" * LIMIT}).encode()),
        ("application/x-www-form-urlencoded", b"form_key=" + KEY.encode() + b"&x=" + b"a" * LIMIT),
        ("multipart/form-data; boundary=b", b"--b\r\n" + b"a" * LIMIT + b"\r\n--b--\r\n"),
    ],
)
def test_oversize_bodies_are_413_in_every_encoding(
    db: Any, function_client: Any, content_type: str, body: bytes
) -> None:
    """JSON, urlencoded and multipart bodies over the limit: 413 with a message."""
    seed_company(db)
    res = function_client("lead_intake").post(
        "/", data=body, headers={"Content-Type": content_type}
    )
    assert (413, "payload-too-large") == (res.status_code, res.get_json()["error"]["code"])


def test_a_body_at_the_limit_is_read(db: Any, function_client: Any) -> None:
    """Exactly 64 KiB is still parsed (the refusal is for what is over it)."""
    seed_company(db)
    padding = LIMIT - len(json.dumps({"form_key": KEY, "email": "a@b.co", "message": ""}))
    body = json.dumps({"form_key": KEY, "email": "a@b.co", "message": "m" * padding})
    res = function_client("lead_intake").post(
        "/", data=body.encode(), content_type="application/json"
    )
    assert (LIMIT, 400) == (len(body), res.status_code)  # message is over its 5000 chars


def test_declared_oversize_is_refused_before_the_body_arrives(db: Any, serve: Any) -> None:
    """Content-Length of 10 MB and no body sent: 413 at once, not a wait for 10 MB."""
    seed_company(db)
    conn = connect(serve("lead_intake"))
    conn.putrequest("POST", "/")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(10 * 1024 * 1024))
    conn.endheaders()
    started = time.monotonic()
    res = conn.getresponse()
    assert (413, True) == (res.status, time.monotonic() - started < 5)


def test_chunked_oversize_is_refused_after_the_limit(db: Any, serve: Any) -> None:
    """A chunked body (no Content-Length) is read up to the limit, then refused."""
    seed_company(db)
    conn = connect(serve("lead_intake"))
    conn.putrequest("POST", "/")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    chunk = b"a" * 8192
    try:
        for _ in range(12):  # 96 KiB: over the limit, well under the socket buffers
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
    except (TimeoutError, BrokenPipeError, ConnectionResetError):
        pass  # the server may stop reading once it has refused
    res = conn.getresponse()
    assert (413, "payload-too-large") == (res.status, json.loads(res.read())["error"]["code"])


def test_chunked_small_body_is_accepted(db: Any, serve: Any) -> None:
    """The limit does not refuse honest chunked posts."""
    seed_company(db)
    conn = connect(serve("lead_intake"))
    body = json.dumps({"form_key": KEY, "email": "chunked@example.com"}).encode()
    conn.putrequest("POST", "/")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    assert 201 == conn.getresponse().status
