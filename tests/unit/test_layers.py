"""The layers hold, in the flat packages and inside every feature package alike: the domain
is pure (no services, adapters, Google, Flask or functions), services never reach the HTTP
edge, and nothing in ``shared`` imports ``functions`` by name (the manifest finds the entry
package by importing it from a string, as functions-framework does)."""

from __future__ import annotations

import ast
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
EDGE = ("flask", "werkzeug", "functions_framework", "functions")
IMPURE = (*EDGE, "google", "firebase_admin", "requests", "urllib3", "smtplib", "socket")


def _layer(path: Path) -> str | None:
    """``domain`` or ``services`` for a module of either layer (flat or in a feature)."""
    parts = path.relative_to(SHARED).parts
    for layer in ("domain", "services"):
        if layer in parts[:-1]:
            return layer
    return None


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _offending(
    layer: str, banned: tuple[str, ...], also: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in sorted(SHARED.rglob("*.py")):
        if _layer(path) != layer:
            continue
        bad = sorted(
            name
            for name in _imports(path)
            if name.split(".")[0] in banned or any(f".{part}" in f".{name}" for part in also)
        )
        if bad:
            out[str(path.relative_to(SHARED))] = bad
    return out


def test_every_feature_keeps_its_layers() -> None:
    """Each feature package has a pure domain and its services, as the flat ones do."""
    features = {p.parent.parent.name for p in SHARED.glob("*/domain/__init__.py")}
    assert {"campaigns", "scoring", "staff_api", "workflows"} <= features
    assert all((SHARED / name / "services" / "__init__.py").is_file() for name in features)


def test_the_domain_imports_no_service_adapter_or_io() -> None:
    """Domain modules are pure: no services, adapters, Google clients or HTTP."""
    assert {} == _offending("domain", IMPURE, also=("services", "adapters"))


def test_services_never_reach_the_http_edge() -> None:
    """Services take ports; only functions/ knows Flask and functions-framework."""
    assert {} == _offending("services", EDGE)


def test_shared_never_imports_functions_by_name() -> None:
    """functions/ depends on shared, never the other way round."""
    found = {
        str(path.relative_to(SHARED)): sorted(
            n for n in _imports(path) if n.split(".")[0] == "functions"
        )
        for path in SHARED.rglob("*.py")
    }
    assert {} == {path: names for path, names in found.items() if names}
