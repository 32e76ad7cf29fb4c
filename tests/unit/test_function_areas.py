"""Each function area (a module of functions/ that declares functions) is loaded alone on
a cold start, so it may import the declaring kit (``functions.https_fn`` and its
siblings) and the shared helpers of functions/ (modules named with a leading underscore)
but never another area, which would load that area's services and models into every
instance of this one."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import functions.main
from shared import manifest
from tests.support import in_fresh_interpreter

FUNCTIONS_DIR = Path(functions.main.__file__).parent
# The workstation's deploy and OpenAPI tooling and its development stack (on localcloud): no
# function loads them, so they may keep dataclasses.
TOOLING = ("shared.deploy", "shared.openapi", "shared.devstack", "localcloud")


def _areas() -> set[str]:
    return {f.module for f in manifest.functions()}


def _imported_function_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "functions":
                found |= {f"functions.{alias.name}" for alias in node.names}
            elif node.module.startswith("functions."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("functions.")}
    return found


def test_every_declared_function_is_an_entry_point_of_main() -> None:
    """functions/main.py finds each declared function in the module that declared it."""
    found = {f.name: getattr(functions.main, f.name).__module__ for f in manifest.functions()}
    assert {f.name: f.module for f in manifest.functions()} == found


def test_no_area_imports_another() -> None:
    crossings = {
        area: sorted(
            _imported_function_modules(FUNCTIONS_DIR / f"{area.split('.')[1]}.py") & _areas()
        )
        for area in _areas()
    }
    assert {area: found for area, found in crossings.items() if found} == {}


def _loaded_after(code: str) -> set[str]:
    script = f"import json, sys; {code}; print(json.dumps(sorted(sys.modules)))"
    return set(json.loads(in_fresh_interpreter(script)))


def test_settings_leave_the_function_list_unloaded() -> None:
    """Every function reads Settings, which names the tasks queue: that comes from
    shared.queues, so HTTP functions do not build the manifest's list of 39 functions."""
    loaded = _loaded_after("from shared.settings import get_settings; get_settings()")
    assert "shared.queues" in loaded
    assert "shared.manifest" not in loaded


def test_workflow_areas_load_croniter_only_for_schedules() -> None:
    """croniter (and dateutil) is about 12 ms of a cold start: the workflow functions
    import it when a schedule trigger needs it, not when their area loads."""
    loaded = _loaded_after(
        "import functions.main as m; m.workflows; m.on_lead_workflows; "
        "m.on_interaction_workflows; m.enrol_scheduled_workflows"
    )
    assert "shared.workflows.domain.triggers" in loaded
    assert "croniter" not in loaded


def test_loading_a_target_skips_pydantic_plugin_discovery() -> None:
    """Discovery scans every installed distribution's entry points at the first model build;
    functions/main.py turns it off before any model of the bundle is built."""
    script = (
        "import importlib.metadata as m, json; calls = []; real = m.entry_points\n"
        "m.entry_points = lambda **kw: calls.append(kw) or real(**kw)\n"
        "import functions.main as main; main.lead_intake\n"
        "from shared.domain.company import Company\n"
        "Company.model_validate({'id': 'acme', 'name': 'Acme'})\n"
        "print(json.dumps(calls))"
    )
    assert json.loads(in_fresh_interpreter(script)) == []


def test_no_module_a_function_loads_defines_a_dataclass() -> None:
    """Defining a frozen dataclass compiles six methods: about 3 M instructions each on
    Python 3.11, against 0.1 M for a msgspec Struct. Value objects of every module of
    functions/ and shared/ are Structs, whether an area imports the module when it loads
    or where it is used; only the workstation's tooling (deploy, OpenAPI) keeps dataclasses.
    """
    script = (
        "import dataclasses, importlib, inspect, json, pkgutil, functions, shared\n"
        f"tooling = {TOOLING!r}\n"
        "ours = [importlib.import_module(info.name) for package in (functions, shared)\n"
        "        for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.')\n"
        "        if not info.name.startswith(tooling)]\n"
        "print(json.dumps(sorted(f'{m.__name__}.{n}' for m in ours "
        "for n, c in inspect.getmembers(m, inspect.isclass) "
        "if c.__module__ == m.__name__ and dataclasses.is_dataclass(c))))"
    )
    assert json.loads(in_fresh_interpreter(script)) == []


def test_functions_never_load_the_workstation_tooling() -> None:
    """The dataclass check above leaves shared.deploy and shared.openapi out: no function
    area loads them."""
    loaded = _loaded_after(
        "import importlib, functions.main as m; from shared import manifest; manifest.discover()"
    )
    assert [] == sorted(n for n in loaded if n.startswith(TOOLING))
