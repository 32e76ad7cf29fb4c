"""The deploy package: built by ``python -m shared.deploy package`` and loaded, in a fresh
virtual environment holding only its pinned requirements, the way Cloud Functions loads it.

The fresh environment is installed with pip from the package index (wheels come from pip's
cache after the first run: about 15 s here), so this stays in ``make test``.
"""

from __future__ import annotations

import json
import subprocess
import venv
from pathlib import Path

import pytest

from shared.deploy.package import build_package, pinned_requirements
from shared.manifest import FUNCTIONS, task_types

ROOT = Path(__file__).resolve().parents[2]

# Loads every target as functions-framework does for one deployed function, and reports
# which modules came from outside the package (nothing may: the venv has no growthkit).
LOAD_ALL = """
import json, sys, functions_framework
names = json.loads(sys.argv[1])
kinds = {n: type(functions_framework.create_app(n, "main.py")).__name__ for n in names}
outside = sorted(
    m.__name__ for m in list(sys.modules.values())
    if m.__name__.split(".")[0] in ("functions", "shared", "localcloud", "tests")
    and not (getattr(m, "__file__", "") or "").startswith(sys.argv[2])
)
print(json.dumps({"kinds": kinds, "outside": outside}))
"""


def test_package_layout_and_pins(tmp_path: Path) -> None:
    """main.py at the root (functions/main.py itself), both packages without the deploy
    tooling, the development stack (nor localcloud, which that stack runs on) and the
    operator command, every dependency of pyproject.toml pinned to an exact version."""
    out = build_package(tmp_path / "deploy")
    assert (ROOT / "functions" / "main.py").read_bytes() == (out / "main.py").read_bytes()
    requirements = (out / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pins = [line for line in requirements if not line.startswith("#")]
    assert pinned_requirements(ROOT / "pyproject.toml") == pins
    assert all("==" in pin for pin in pins)
    present = {p.relative_to(out).as_posix() for p in out.rglob("*.py")}
    assert {"main.py", "functions/main.py", "shared/manifest.py"} <= present
    index = json.loads((out / "functions" / "entry_points.json").read_text(encoding="utf-8"))
    assert {f.name: f.module for f in FUNCTIONS} == index["functions"]
    assert {t.name: t.module for t in task_types()} == index["tasks"]
    workstation_only = ("shared/deploy", "shared/devstack", "shared/cli", "localcloud")
    assert ([], [], []) == (
        [p for p in present if p.startswith(workstation_only)],
        [p for p in pins if p.split("==")[0] == "localcloud"],
        list(out.rglob("__pycache__")),
    )


@pytest.mark.timeout(600)
def test_package_imports_cleanly_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    """pip installs requirements.txt into a new venv, and every manifest function loads
    from the package alone through functions-framework."""
    out = build_package(tmp_path / "deploy")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    install = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*install, "-r", str(out / "requirements.txt")], check=True, timeout=540)
    names = [f.name for f in FUNCTIONS]
    result = subprocess.run(
        [python, "-c", LOAD_ALL, json.dumps(names), str(out)],
        cwd=out,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    report = json.loads(result.stdout)
    assert (dict.fromkeys(names, "Flask"), []) == (report["kinds"], report["outside"])


def test_a_function_of_the_package_loads_its_own_module_only(tmp_path: Path) -> None:
    """From the package's index, lead_intake's instance imports functions.forms and the
    declaring kit, no other module of functions/ (this environment's interpreter)."""
    import sys

    out = build_package(tmp_path / "deploy")
    script = (
        "import json, sys, functions_framework\n"
        "functions_framework.create_app('lead_intake', 'main.py')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('functions.'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=out, capture_output=True, text=True, check=True
    )
    areas = {f.module for f in FUNCTIONS}
    assert ["functions.forms"] == sorted(set(json.loads(result.stdout)) & areas)
