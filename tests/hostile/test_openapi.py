"""The published OpenAPI document is current and describes every function."""

from __future__ import annotations

import json

from functions._http import MAX_JSON_DEPTH
from shared.manifest import FUNCTIONS
from shared.openapi import DEFAULT_PATH, MODELS, component_names, render
from shared.settings import Settings


def test_checked_in_openapi_json_is_current() -> None:
    """openapi.json is what the code describes (else: python -m shared.openapi)."""
    assert render() == DEFAULT_PATH.read_text(encoding="utf-8")


def test_every_function_is_described() -> None:
    """Each manifest function has its path (or sub-paths, for the functions routed by
    path), every path is a function's, and each path answers at least one method."""
    paths = json.loads(render())["paths"]
    owners = {p: p.split("/")[1] for p in paths}
    assert sorted(f.name for f in FUNCTIONS) == sorted(set(owners.values()))
    assert [] == [p for p, ops in paths.items() if not ops]
    assert [] == [p for p in paths if p != f"/{owners[p]}" and "/companies/{companyId}" not in p]


def test_every_request_model_is_a_component() -> None:
    """The bodies the entry points validate with are all in components/schemas."""
    schemas = json.loads(render())["components"]["schemas"]
    assert [] == [m.__name__ for m, name in component_names().items() if name not in schemas]
    assert set(MODELS) == set(component_names())


def test_http_functions_have_their_real_bodies() -> None:
    """No HTTP function is published as a bare object: every body that is JSON names a
    model (or an inline schema with properties), so generated traffic reaches validation."""
    doc = json.loads(render())
    bare = [
        f"{method.upper()} {path}"
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        for kind, content in op.get("requestBody", {}).get("content", {}).items()
        if kind != "application/protobuf" and content["schema"] == {"type": "object"}
    ]
    assert [] == bare


def test_routed_functions_answer_the_methods_described() -> None:
    """The staff REST resources publish exactly the methods their specs allow."""
    from shared.services.staff_api_resources import RESOURCES

    paths = json.loads(render())["paths"]
    for spec in RESOURCES.values():
        base = "/staff_api/companies/{companyId}" + "/leads/{leadId}" * spec.under_lead
        for item, path in ((False, f"{base}/{spec.name}"), (True, f"{base}/{spec.name}/{{id}}")):
            assert sorted(spec.methods(item)) == sorted(m.upper() for m in paths[path]), path


def test_documented_limits_are_the_enforced_ones() -> None:
    """The size and depth limits in the description are the ones read_body applies."""
    doc = json.loads(render())
    limit = Settings().max_body_bytes
    assert (limit, True) == (
        doc["x-max-body-bytes"],
        f"at most {MAX_JSON_DEPTH} levels deep" in doc["info"]["description"],
    )
