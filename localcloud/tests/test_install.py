"""localcloud installs alone: a fresh virtual environment holding only ``./localcloud``
(from pip's usual sources), whose ``localcloud firestore`` the real google-cloud-firestore
client writes to and reads from, and no module of which imports the project that uses it.

Slowish (a virtual environment and pip, about half a minute here with pip's cache warm),
so it runs once for everything it checks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest
from support import free_port

DISTRIBUTION = Path(__file__).resolve().parents[1]
FOREIGN = ("shared", "functions", "tests", "bench")

# Imports every module of the installed localcloud, then reports what came from where and
# every import statement (lazy ones inside functions included) naming a foreign package.
SURVEY = """
import ast, importlib, importlib.util, json, pathlib, pkgutil, sys
import localcloud
foreign = tuple(sys.argv[1].split(","))
names = [m.name for m in pkgutil.walk_packages(localcloud.__path__, "localcloud.")]
for name in names:
    importlib.import_module(name)
root = pathlib.Path(localcloud.__file__).parent
statements = []
for path in sorted(root.rglob("*.py")):
    for node in ast.walk(ast.parse(path.read_text())):
        targets = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
        statements += [f"{path.name}: {t}" for t in targets if t.split(".")[0] in foreign]
print(json.dumps({
    "modules": len(names),
    "root": str(root),
    "loaded_foreign": sorted(m for m in sys.modules if m.split(".")[0] in foreign),
    "importable_foreign": [f for f in foreign if importlib.util.find_spec(f)],
    "statements": statements,
}))
"""

CLIENT = """
import json
from google.cloud import firestore
client = firestore.Client(project="install-check")
client.document("checks/one").set({"installed": "alone", "n": 1})
print(json.dumps(client.document("checks/one").get().to_dict(), sort_keys=True))
"""


@pytest.mark.timeout(600)
def test_localcloud_installs_alone_and_serves_the_real_client(tmp_path: Path) -> None:
    python, bin_dir = _fresh_install(tmp_path)
    clean = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    survey = subprocess.run(
        [python, "-c", SURVEY, ",".join(FOREIGN)],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(survey.stdout)
    assert report["root"].startswith(str(tmp_path)), "the copy in the new environment"
    assert report["modules"] > 60
    assert ([], [], []) == (
        report["loaded_foreign"],
        report["importable_foreign"],
        report["statements"],
    )
    port = free_port()
    server = subprocess.Popen(
        [bin_dir / "localcloud", "firestore", "--port", str(port)],
        cwd=tmp_path,
        env=clean,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        assert f"FIRESTORE_EMULATOR_HOST=127.0.0.1:{port}" in banner
        env = {**clean, "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{port}"}
        client = subprocess.run(
            [python, "-c", CLIENT],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (0, '{"installed": "alone", "n": 1}') == (client.returncode, client.stdout.strip()), (
        client.stderr
    )


def _fresh_install(tmp_path: Path) -> tuple[str, Path]:
    """A new virtual environment with a copy of the distribution (so no build output lands
    in the checkout, and nothing outside localcloud/ can be relied on) installed by pip."""
    source = tmp_path / "localcloud"
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", ".pytest_cache")
    shutil.copytree(DISTRIBUTION, source, ignore=junk)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    install = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # With the ``test`` extra: ``localcloud.platforms.testing`` (pytest fixtures) needs it.
    target = f"{source}[test]"
    subprocess.run([*install, target], check=True, timeout=540, env=env, cwd=tmp_path)
    return python, env_dir / "bin"
