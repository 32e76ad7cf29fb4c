"""The deploy package's compile cache, as ``python -m shared.deploy package`` records it:
every entry is exactly what the compiler makes of its key, and a function loaded from the
package is served from it."""

from __future__ import annotations

import _sre
import importlib
import json
import marshal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.compile_cache import HEADER
from shared.deploy.compile_cache import CACHE, nested_imports
from shared.deploy.package import build_package
from tests.support import seed_company

re_compiler: Any = importlib.import_module("re._compiler")

LOAD = """
import json, sys, functions_framework
functions_framework.create_app(sys.argv[1], sys.argv[2])
from shared import compile_cache
print(json.dumps(compile_cache.stats()))
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_package(tmp_path_factory.mktemp("compile-cache") / "deploy")


def test_every_entry_is_what_the_compiler_makes(package: Path) -> None:
    """Each pattern's program equals re's compile of its key (re's Pattern equality
    compares the program), and each dataclass method's and namedtuple constructor's code
    equals compiling its text."""
    tables = marshal.loads((package / CACHE).read_bytes())
    header, regexes, sources, expressions, annotations = tables
    assert HEADER == header
    assert len(regexes) > 100
    assert len(sources) > 100
    for (pattern, flags), args in regexes.items():
        assert re_compiler.compile(pattern, flags) == _sre.compile(pattern, *args), pattern
    for text, code in sources.items():
        assert compile(text, "<string>", "exec") == code
    assert expressions
    for text, code in (*expressions.items(), *annotations.items()):
        assert compile(text, "<string>", "eval") == code
    assert len(annotations) > 100


@pytest.mark.parametrize("target", ["lead_intake", "staff_api", "on_lead_written"])
def test_a_function_loaded_from_the_package_compiles_nothing(package: Path, target: str) -> None:
    """Loading one function's app from the package: patterns and dataclass methods all come
    from the cache (the functions-framework's own, loaded before main.py, are not counted)."""
    done = subprocess.run(
        [sys.executable, "-c", LOAD, target, "main.py"],
        cwd=package,
        capture_output=True,
        text=True,
        check=True,
    )
    stats = json.loads(done.stdout)
    assert (0, True) == (stats["misses"], stats["hits"] > 20), stats


def test_a_checkout_has_no_cache_and_compiles_as_usual() -> None:
    """functions/main.py in this checkout finds no cache (it is built into packages only)."""
    done = subprocess.run(
        [sys.executable, "-c", LOAD, "lead_intake", "functions/main.py"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    assert {"hits": 0, "misses": 0} == json.loads(done.stdout)


def test_nested_imports_are_those_inside_functions(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(
        "import json\nfrom os import path\n\n"
        "def f():\n    import shlex\n    from email import message, utils\n"
        "    from . import sibling\n",
        encoding="utf-8",
    )
    assert ["email", "email.message", "email.utils", "shlex"] == list(nested_imports(tmp_path))


# A first request through the package's own main.py, against the local Firestore.
FIRST_LEAD = """
import json, sys, functions_framework
app = functions_framework.create_app("lead_intake", "main.py")
answer = app.test_client().post("/", json=json.loads(sys.argv[1]))
from shared import compile_cache
print(json.dumps({"status": answer.status_code, "body": answer.get_json(),
                  "compiles": compile_cache.stats()}))
"""


def test_a_first_request_served_from_the_cache_stores_its_lead(
    package: Path, db: Any, firestore_env: str, project_id: str
) -> None:
    """A deployed lead_intake, its cache installed, answers a real form post through the
    real Firestore client and localcloud (201, the lead stored), its compiles served from
    the cache: over a thousand hits, and at most the few patterns libraries build from a
    set's order (email's header parser has five), which differ from process to process
    under hash randomisation and so can never be in a cache."""
    seed_company(db)
    env = {
        "PATH": "/usr/bin:/bin",
        "FIRESTORE_EMULATOR_HOST": firestore_env,
        "GOOGLE_CLOUD_PROJECT": project_id,
        "GROWTHKIT_ENVIRONMENT": "local",
    }
    body = {"form_key": "acme.public-key-123", "email": "cached@example.com"}
    done = subprocess.run(
        [sys.executable, "-c", FIRST_LEAD, json.dumps(body)],
        cwd=package,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout.splitlines()[-1])
    assert 201 == report["status"], report
    lead = db.document(f"companies/acme/leads/{report['body']['lead_id']}").get()
    assert lead.exists and lead.get("email") == "cached@example.com"
    compiles = report["compiles"]
    assert (True, True) == (compiles["misses"] <= 5, compiles["hits"] > 1000), compiles
