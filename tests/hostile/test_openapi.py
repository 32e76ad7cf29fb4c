"""The published OpenAPI document is current and describes every function."""

from __future__ import annotations

import json
from typing import Any

from functions._http import MAX_JSON_DEPTH
from shared.manifest import FUNCTIONS
from shared.openapi import DEFAULT_PATH, MODELS, build_inline, component_names, render
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
    from shared.staff_api.services.registry import RESOURCES

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


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        own = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        return own + [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def test_shared_parameters_and_errors_are_written_once() -> None:
    """Operations name their parameters and error answers by ``$ref``: each is written
    once in components, every reference resolves and every component is used."""
    doc = json.loads(render())
    components = doc["components"]
    ops = [op for ops in doc["paths"].values() for op in ops.values()]
    inline = [p for op in ops for p in op["parameters"] if "$ref" not in p]
    inline += [r for op in ops for r in op["responses"].values() if "content" in r]
    assert [] == inline
    refs = set(_refs(doc))
    named = {
        f"#/components/{kind}/{name}"
        for kind in ("schemas", "parameters", "responses")
        for name in components[kind]
    }
    assert (set(), set()) == (refs - named, {n for n in named if "schemas" not in n} - refs)
    for kind in ("parameters", "responses"):
        values = [json.dumps(v, sort_keys=True) for v in components[kind].values()]
        assert len(values) == len(set(values)), kind


def test_hostile_traffic_sees_every_operation_spelled_out() -> None:
    """The hostile tests read each operation with its parameters and answers resolved:
    exactly what the document says before sharing, so they draw the same requests."""
    from tests.hostile import schema_strategies

    assert build_inline()["paths"] == schema_strategies.document()["paths"]
    ops = [op for ops in schema_strategies.document()["paths"].values() for op in ops.values()]
    assert all({"name", "in"} <= set(p) for op in ops for p in op["parameters"])
