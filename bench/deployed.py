"""The bundle as Cloud Functions runs it, for the cold-start benchmarks.

Cold starts are measured on what a deploy ships, not on the development environment:
the package ``python -m shared.deploy package`` builds (main.py, functions/, shared/ and
the pinned requirements.txt), run by the interpreter of a virtual environment holding
only those requirements, as Cloud Functions' build installs them. The development
environment also holds the test and lint tools and an editable install of the project,
and some of that changes what a cold start does: pydantic's plugin search reads every
installed distribution, httpx (under firebase-admin) imports pygments when it finds it.

The environment is made once per set of pins under ``build/bench/`` (pip, from the
package index or its cache) and reused while requirements.txt stays the same. The
baselines are copied beside the package's main.py, so every row runs from one directory
with one interpreter.

That interpreter is the one running the bench unless ``python -m bench --python PATH``
names another (say a newer CPython, to see what moving the deploy's runtime would do): its
environment then lives beside the default one, named by its version.
"""

from __future__ import annotations

import fcntl
import functools
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.instance import ROOT
from shared.deploy.package import build_package

BUILD = ROOT / "build" / "bench"
# Of bench/baseline/.
BASELINES = (
    "main.py",
    "floor_main.py",
    "floor_msgspec_main.py",
    "eager_main.py",
)
STAMP = ".requirements"  # in the environment: the requirements.txt it was installed from
_HELD: dict[Path, object] = {}  # build folder -> its lock file, open while this bench runs


@dataclass(frozen=True)
class Runtime:
    """Where a cold start runs: an interpreter, its functions-framework, and the folder
    holding the entry modules (the working directory of every instance)."""

    python: Path
    framework: Path
    folder: Path
    version: str  # the interpreter's, e.g. "3.11.7"

    def source(self, name: str = "main.py") -> Path:
        """An entry module in the folder: the bundle's ``main.py`` or a baseline's copy."""
        return self.folder / name


def baseline_copy(name: str) -> str:
    """The file name a baseline of bench/baseline/ gets beside the package's main.py."""
    return "baseline_main.py" if name == "main.py" else name


def _environment(folder: Path, requirements: str, interpreter: str = sys.executable) -> Path:
    """A virtual environment of ``interpreter`` with exactly ``requirements``, reused when
    already made."""
    python = folder / "bin" / "python"
    stamp = folder / STAMP
    if python.exists() and stamp.exists() and stamp.read_text("utf-8") == requirements:
        return python
    if folder.exists():
        shutil.rmtree(folder)
    subprocess.run([interpreter, "-m", "venv", str(folder)], check=True, timeout=300)
    listed = folder / "requirements.txt"
    listed.write_text(requirements, encoding="utf-8")
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # Quiet unless it fails: pip's warnings about this machine's index settings are noise.
    done = subprocess.run(
        [*install, "-r", str(listed)], capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"pip could not install {listed}:\n{done.stderr[-3000:]}")
    stamp.write_text(requirements, encoding="utf-8")  # last: a failed install is redone
    return python


def version_of(interpreter: str) -> str:
    """The version of a Python interpreter, e.g. "3.13.0" (SystemExit if it will not run)."""
    found = shutil.which(interpreter)
    if found is None:
        raise SystemExit(f"bench: no Python interpreter {interpreter!r}")
    ask = [found, "-c", "import platform; print(platform.python_version())"]
    return subprocess.run(ask, capture_output=True, text=True, check=True).stdout.strip()


def _hold(build: Path) -> None:
    """Keep ``build`` to this process: a second bench rebuilding the package under the
    first one's running instances would have them load half-written files."""
    if build in _HELD:
        return
    build.mkdir(parents=True, exist_ok=True)
    lock = (build / ".lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise SystemExit(f"bench: another bench is using {build}; wait for it to end") from None
    _HELD[build] = lock


@functools.cache  # once per bench run: every section measures the same build
def deployed(build: Path = BUILD, interpreter: str | None = None) -> Runtime:
    """Build the package, copy the baselines beside it, make its environment (with
    ``interpreter``, default this one) and compile the package to bytecode with that
    environment's Python (as the deploy's build and pip's install of the libraries do)."""
    _hold(build)
    package = build_package(build / "package")
    for name in BASELINES:
        shutil.copyfile(ROOT / "bench" / "baseline" / name, package / baseline_copy(name))
    requirements = (package / "requirements.txt").read_text(encoding="utf-8")
    if interpreter is None:
        python = _environment(build / "venv", requirements)
    else:
        folder = build / f"venv-{version_of(interpreter)}"
        python = _environment(folder, requirements, shutil.which(interpreter) or interpreter)
    subprocess.run([str(python), "-m", "compileall", "-q", str(package)], check=True)
    version = version_of(str(python))
    return Runtime(python, python.parent / "functions-framework", package, version)
