"""The OpenAPI 3.1 description of every function invoked over HTTP, built from the manifest
and the pydantic request models, so the published contract cannot drift from the code.

``python -m shared.openapi`` writes ``openapi.json`` at the repository root; ``--check``
exits 1 when the checked-in file is not what the code describes (a test runs the same
comparison). Firestore trigger functions are listed too: Eventarc reaches them with an
HTTP POST carrying a binary-mode CloudEvent. Parameters and error answers that operations
share are written once, in ``components`` (``shared.openapi.sharing``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.domain.content import PublishRequest
from shared.domain.leads import LeadSubmission
from shared.domain.referrals import RedemptionRequest, ReferralAction, ReferralCreate
from shared.domain.reviews import ReviewCompletionBody, ReviewRequestBody
from shared.domain.tasks import TaskRef
from shared.errors import ErrorCode
from shared.manifest import FUNCTIONS, Function
from shared.openapi.operations import Op, error_responses, paths_for
from shared.openapi.routes import NESTED
from shared.openapi.sharing import dumps, share
from shared.settings import Settings

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "openapi.json"
_FIRST: tuple[type[BaseModel], ...] = (
    LeadSubmission,
    RedemptionRequest,
    ReviewRequestBody,
    ReviewCompletionBody,
    PublishRequest,
    ReferralCreate,
    ReferralAction,
    TaskRef,
)


def _request_models() -> tuple[type[BaseModel], ...]:
    """Every model a request body is validated with, in a stable order: the first
    functions' bodies, then every operation's, then the ones validated inside a body."""
    found: dict[type[BaseModel], None] = dict.fromkeys(_FIRST)
    for function in FUNCTIONS:
        for ops in paths_for(function).values():
            found.update(dict.fromkeys(m for op in ops for m in op.bodies))
    found.update(dict.fromkeys(NESTED.values()))
    return tuple(found)


MODELS: tuple[type[BaseModel], ...] = _request_models()
MAX_BODY_BYTES: int = Settings.model_fields["max_body_bytes"].default

_DESCRIPTION = f"""Every function of the growthkit bundle that is invoked over HTTP.

Each function is its own Cloud Function (2nd gen), served at `/<function_name>` locally
(`make serve`) and at its own URL in production. Request bodies are JSON objects, or
urlencoded forms where noted; a body over {MAX_BODY_BYTES} bytes (`settings.max_body_bytes`)
is refused with 413 before it is parsed, whether or not it declares its length. JSON must
be strict (no NaN or Infinity, integers within 64 bits) and at most 16 levels deep.
Errors are `{{"error": {{"code", "message", "details"}}}}`; invalid fields are listed in
`details.fields`. No answer is a 5xx except 503 for transient failures (retry later).
"""


def _error_schema() -> dict[str, Any]:
    codes = sorted({c.value for c in ErrorCode} | {"method-not-allowed", "internal"})
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": codes},
                    "message": {"type": "string"},
                    "details": {"type": "object"},
                },
            }
        },
    }


def _components() -> tuple[dict[str, Any], dict[type[BaseModel], str]]:
    """The schemas of every model, and each model's component name (pydantic qualifies
    the name of a model whose class name another model has too)."""
    refs, defs = models_json_schema(
        [(model, "validation") for model in MODELS],
        ref_template="#/components/schemas/{model}",
    )
    names = {model: refs[(model, "validation")]["$ref"].rsplit("/", 1)[1] for model in MODELS}
    schemas: dict[str, Any] = dict(defs["$defs"])
    for schema in schemas.values():
        _drop_derived_titles(schema)
    for (model, field), nested in NESTED.items():
        prop = schemas[names[model]]["properties"][field]
        prop["anyOf"] = [
            _ref(nested, names) if "object" == s.get("type") else s for s in prop["anyOf"]
        ]
    schemas["Error"] = _error_schema()
    return schemas, names


def _drop_derived_titles(schema: Any) -> None:
    """Remove the titles pydantic derives from property names ("company_id": "Company
    Id"): they repeat the name and were a tenth of the schemas' size."""
    if isinstance(schema, list):
        for item in schema:
            _drop_derived_titles(item)
    if not isinstance(schema, dict):
        return
    for name, prop in schema.get("properties", {}).items():
        if isinstance(prop, dict) and prop.get("title") == name.replace("_", " ").title():
            del prop["title"]
    for value in schema.values():
        _drop_derived_titles(value)


def component_names() -> dict[type[BaseModel], str]:
    return _components()[1]


def _ref(model: type[BaseModel], names: dict[type[BaseModel], str]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{names[model]}"}


def _body(op: Op, names: dict[type[BaseModel], str]) -> dict[str, Any] | None:
    if op.content_type is None:
        return None
    if op.content_type == "application/protobuf":
        schema: dict[str, Any] = {"type": "string", "format": "binary"}
    elif not op.bodies:
        schema = {"type": "object"}
    elif len(op.bodies) == 1:
        schema = _ref(op.bodies[0], names)
    else:
        schema = {"oneOf": [_ref(m, names) for m in op.bodies]}
    if op.required_fields:
        schema = {"allOf": [schema, {"required": list(op.required_fields)}]}
    content = {op.content_type: {"schema": schema}} if op.bodies else {}
    if op.form_encoded:
        content["application/x-www-form-urlencoded"] = {"schema": schema}
    content.update({kind: {"schema": inline} for kind, inline in op.inline.items()})
    return {
        "required": bool(op.bodies) or bool(op.inline),
        "content": content or {op.content_type: {"schema": schema}},
    }


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"\{(\w+)\}", path)
    ]


def _operation_id(function: Function, path: str, method: str) -> str:
    words = [w.strip("{}") for w in path.split("/") if w and w != "companies"]
    return "_".join([function.name, *[w for w in words if w != "companyId"], method])


def _operation(
    function: Function, path: str, op: Op, names: dict[type[BaseModel], str]
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": _operation_id(function, path, op.method),
        "summary": op.summary,
        "tags": [function.trigger.value],
        "parameters": _path_parameters(path) + list(op.parameters),
        "responses": {
            **{str(s): {"description": d} for s, d in op.ok.items()},
            **error_responses(op.errors, op.html_errors),
        },
    }
    body = _body(op, names)
    if body is not None:
        out["requestBody"] = body
    out["security"] = [{op.security: []}] if op.security else []
    return out


def build() -> dict[str, Any]:
    """The whole OpenAPI document, deterministic for a given code base."""
    return share(build_inline())


def build_inline() -> dict[str, Any]:
    """The document with every operation's parameters and answers written out in it."""
    schemas, names = _components()
    paths: dict[str, Any] = {}
    for function in FUNCTIONS:
        for sub, ops in paths_for(function).items():
            path = f"/{function.name}{sub}"
            paths[path] = {op.method: _operation(function, sub, op, names) for op in ops}
    return {
        "openapi": "3.1.0",
        "info": {"title": "growthkit functions", "version": "1", "description": _DESCRIPTION},
        "servers": [{"url": "http://127.0.0.1:8080", "description": "make serve"}],
        "x-max-body-bytes": MAX_BODY_BYTES,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "firebaseIdToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "googleOidc": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
    }


def render() -> str:
    return dumps(build()) + "\n"
