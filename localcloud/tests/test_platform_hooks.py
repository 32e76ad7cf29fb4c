"""The generic webhook sink over plain HTTP: JSON deliveries recorded per hook, an
HMAC-SHA256 signature over timestamp and body checked when a secret is configured, stale
or forged deliveries refused and not recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
import requests

from localcloud.platforms.hooks import sign

SECRET = "whsec-local"


def deliver(
    platforms: Any,
    name: str,
    payload: Any,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> requests.Response:
    body = raw if raw is not None else json.dumps(payload).encode()
    return requests.post(
        platforms.base_url("hooks") + f"/{name}",
        data=body,
        headers={"Content-Type": "application/json"} | (headers or {}),
    )


def test_json_deliveries_are_recorded_per_hook(platforms: Any) -> None:
    assert deliver(platforms, "crm", {"lead": 1}).json()["received"] is True
    deliver(platforms, "zapier", {"lead": 2})
    assert [(d["hook"], d["body"]) for d in platforms.posts("hooks")] == [
        ("crm", {"lead": 1}),
        ("zapier", {"lead": 2}),
    ]
    listed = requests.get(platforms.base_url("hooks") + "/crm").json()
    assert [d["body"] for d in listed] == [{"lead": 1}]
    assert deliver(platforms, "crm", None, raw=b"not json").status_code == 400


def test_a_signed_hook_checks_timestamp_and_body(platforms: Any) -> None:
    platforms.platform("hooks").configure("signed", secret=SECRET)
    body = json.dumps({"event": "lead.created"}).encode()
    now = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    good = {"X-GrowthKit-Timestamp": now, "X-GrowthKit-Signature": f"sha256={digest}"}
    assert sign(SECRET, body, now) == f"sha256={digest}"
    assert deliver(platforms, "signed", None, good, raw=body).status_code == 200
    forged = good | {"X-GrowthKit-Signature": "sha256=" + "0" * 64}
    replayed = good | {"X-GrowthKit-Timestamp": str(int(time.time()) - 3600)}
    tampered = body.replace(b"created", b"deleted")
    timeless = {"X-GrowthKit-Timestamp": "nan", "X-GrowthKit-Signature": sign(SECRET, body, "nan")}
    for headers, raw in (
        (forged, body),
        (replayed, body),
        (good, tampered),
        ({}, body),
        (timeless, body),
    ):
        refused = deliver(platforms, "signed", None, headers, raw=raw)
        assert refused.status_code == 401, headers
        assert "error" in refused.json()
    (delivery,) = platforms.posts("hooks")
    assert delivery["verified"] is True
    assert len(platforms.requests("hooks")) == 6


def test_body_only_signatures_and_custom_answers(platforms: Any) -> None:
    platforms.platform("hooks").configure("plain", secret=SECRET, timestamp_header=None, status=202)
    body = b'{"ok": true}'
    answer = deliver(
        platforms, "plain", None, {"X-GrowthKit-Signature": sign(SECRET, body)}, raw=body
    )
    assert answer.status_code == 202


def test_injected_faults_and_stalls(platforms: Any) -> None:
    platforms.fail("hooks", 503, times=2)
    assert [deliver(platforms, "crm", {"n": n}).status_code for n in range(3)] == [503, 503, 200]
    platforms.fail("hooks", "stall", seconds=3)
    with pytest.raises(requests.ReadTimeout):
        requests.post(platforms.base_url("hooks") + "/crm", json={"n": "late"}, timeout=0.5)
    assert [d["body"]["n"] for d in platforms.posts("hooks")] == [2, "late"]
