"""End to end: `make serve` as a user starts it, a form post, and what follows in Firestore."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

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
