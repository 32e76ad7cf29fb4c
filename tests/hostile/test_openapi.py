"""The published OpenAPI document is current and describes every function."""

from __future__ import annotations

import json

from functions._http import MAX_JSON_DEPTH
from shared.manifest import FUNCTIONS
from shared.openapi import DEFAULT_PATH, MODELS, render
from shared.settings import Settings


def test_checked_in_openapi_json_is_current() -> None:
    """openapi.json is what the code describes (else: python -m shared.openapi)."""
    assert render() == DEFAULT_PATH.read_text(encoding="utf-8")


def test_every_function_is_described() -> None:
    """Each manifest function has a path, and each path answers at least one method."""
    paths = json.loads(render())["paths"]
    assert sorted(f"/{f.name}" for f in FUNCTIONS) == sorted(paths)
    assert [] == [p for p, ops in paths.items() if not ops]


def test_every_request_model_is_a_component() -> None:
    """The bodies the entry points validate with are all in components/schemas."""
    schemas = json.loads(render())["components"]["schemas"]
    assert [] == [m.__name__ for m in MODELS if m.__name__ not in schemas]


def test_documented_limits_are_the_enforced_ones() -> None:
    """The size and depth limits in the description are the ones read_body applies."""
    doc = json.loads(render())
    limit = Settings().max_body_bytes
    assert (limit, True) == (
        doc["x-max-body-bytes"],
        f"at most {MAX_JSON_DEPTH} levels deep" in doc["info"]["description"],
    )
