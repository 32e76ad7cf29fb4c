"""Records the deploy package's compile cache (``shared/compile_cache.py``) as it is built.

A fresh interpreter, with the package first on its path, imports functions-framework (the
runtime has it loaded before ``main.py``, so what it compiles is not recorded), then, while
recording: creates each function's app from ``main.py`` as functions-framework does, imports
every module the package imports inside a function (the Google clients, firebase-admin,
croniter...: what the first request loads), builds every model and does a first request's
work that needs no I/O (``_warm_up``). The result is written to ``shared/compile.cache``,
where ``main.py`` installs it from. A compile the recording missed costs what it costs
without a cache.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from shared.compile_cache import CACHE as RUNTIME_CACHE

# In the package: where shared.compile_cache.CACHE points once it is deployed.
CACHE = Path("shared") / RUNTIME_CACHE.name

# Runs this file in a fresh interpreter with the package first on sys.path.
_BOOT = (
    "import runpy, sys; sys.path.insert(0, sys.argv[1]); "
    "runpy.run_path(sys.argv[2], run_name='__record__')"
)


def record_cache(package: Path, interpreter: str = sys.executable) -> Path:
    """Write ``package/shared/compile.cache`` for ``interpreter`` (whose Python must be the
    runtime's for the cache to be used: it is keyed by interpreter version)."""
    subprocess.run(
        # -B: loading the package must not leave bytecode caches in it.
        [interpreter, "-B", "-c", _BOOT, str(package), str(Path(__file__).resolve())],
        cwd=package,
        check=True,
        capture_output=True,
        text=True,
    )
    return package / CACHE


def nested_imports(package: Path) -> Iterator[str]:
    """Modules the package's code imports inside functions (not at module level), sorted:
    what a first request loads on top of the entry point."""
    names: set[str] = set()
    for source in sorted(package.glob("*/**/*.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        top_level = set(map(id, tree.body))
        for node in ast.walk(tree):
            if id(node) in top_level:
                continue
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    yield from sorted(names)


def _import_if_module(name: str) -> None:
    """Import ``name`` when it is a module (``from x import y`` names attributes too)."""
    try:
        importlib.import_module(name)
    except ImportError:
        parent = name.rpartition(".")[0]
        if not parent or parent not in sys.modules:
            raise


def _build_models() -> None:
    """Build every domain model now (they defer their build to first use)."""
    from shared.domain.common import DeferredModel

    pending = list(DeferredModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if "[" not in model.__name__:  # parametrised generics are built with their origin
            model.model_rebuild(force=True)


def _warm_up() -> None:
    """What first requests do that compiles on first use rather than at import, done here
    without I/O: route a path (werkzeug compiles its matcher's patterns), render a message
    (jinja2 compiles its lexer's), write an e-mail (the header folder compiles its own) and
    create the Google clients (at an address nothing listens on: gRPC connects on the first
    call, never made here), and import what their first calls import."""
    import os
    from email.message import EmailMessage

    from shared.adapters.messaging import MAIL_POLICY
    from shared.domain.outreach_templates import lead_context, render_message

    context = lead_context({"email": "ann@example.com", "first_name": "Ann"}, {"name": "Acme"})
    body = "{{ company.name }} {% if lead.first_name %}x{% endif %}"
    text = render_message("Hello {{ lead.first_name }}", body, context)
    email = EmailMessage(policy=MAIL_POLICY)
    email["From"], email["To"] = "Acme <hello@acme.example>", "Ann <ann@example.com>"
    email["Subject"], email["Message-ID"] = text.subject, "<1.warm-up@acme.example>"
    email.set_content(text.body)
    email.add_alternative(f"<p>{text.body}</p>", subtype="html")
    email.as_bytes()
    for variable in ("FIRESTORE_EMULATOR_HOST", "CLOUD_TASKS_EMULATOR_HOST"):
        os.environ[variable] = "127.0.0.1:9"
    os.environ.setdefault("GOOGLE_CLOUD_PROJECT", "compile-cache")
    from shared.adapters.clients import firestore_client, tasks_client

    firestore_client().document("companies/warm-up")
    tasks_client()
    for module in ("shlex", "glob", "google.protobuf.text_format"):
        importlib.import_module(module)


def _record(package: Path) -> None:
    import functions_framework
    from werkzeug.exceptions import HTTPException

    from shared.compile_cache import recording

    with recording() as done:
        from functions.main import ENTRY_POINTS

        for target in ENTRY_POINTS:
            app = functions_framework.create_app(target, str(package / "main.py"))  # type: ignore[no-untyped-call]
            try:
                app.url_map.bind("localhost").match("/warm-up")
            except HTTPException:  # a function that routes only "/" (matched or not, compiled)
                pass
        for name in nested_imports(package):
            _import_if_module(name)
        _build_models()
        _warm_up()
    (package / CACHE).write_bytes(done.dumps())
    print(
        f"{len(done.regexes)} patterns, {len(done.sources)} dataclass methods, "
        f"{len(done.expressions)} namedtuple constructors, "
        f"{len(done.annotations)} forward references"
    )


if __name__ == "__record__":
    _record(Path(sys.argv[1]))
