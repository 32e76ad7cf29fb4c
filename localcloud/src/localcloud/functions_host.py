"""Every function of the bundle on one local port, at ``/<function_name>``.

Each function is loaded with functions-framework's own ``create_app`` (the same loader
Cloud Functions uses) and mounted under its name; ``/`` serves an example business page
with a lead-capture form. Run as ``python -m localcloud.functions_host --port 8080``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from shared.manifest import FUNCTIONS, Function, Trigger

log = logging.getLogger("localcloud.functions")
SITE_DIR = Path(__file__).parent / "site"
SOURCE = Path(__file__).resolve().parents[3] / "functions" / "main.py"


def _signature(function: Function) -> str:
    return "cloudevent" if function.trigger is Trigger.EVENT else "http"


def load_functions(source: Path = SOURCE) -> dict[str, Any]:
    """The WSGI app of every manifest function that ``source`` defines."""
    import functions_framework
    from functions_framework.exceptions import MissingTargetException

    apps: dict[str, Any] = {}
    for function in FUNCTIONS:
        try:
            apps[function.name] = functions_framework.create_app(  # type: ignore[no-untyped-call]
                function.entry_point, str(source), _signature(function)
            )
        except MissingTargetException:
            log.warning("function %s is in the manifest but not in %s", function.name, source)
    return apps


def site_app(form_key: str, intake_url: str) -> Any:
    """The example business website: a form posting to the lead-intake function."""
    from werkzeug.wrappers import Request, Response

    page = (SITE_DIR / "index.html").read_text(encoding="utf-8")
    page = page.replace("{{FORM_KEY}}", form_key).replace("{{INTAKE_URL}}", intake_url)
    thanks = (SITE_DIR / "thanks.html").read_text(encoding="utf-8")

    @Request.application
    def app(request: Any) -> Any:
        if request.path in ("/", "/index.html"):
            return Response(page, content_type="text/html; charset=utf-8")
        if request.path == "/thanks":
            return Response(thanks, content_type="text/html; charset=utf-8")
        return Response("Not found", status=404)

    return app


class FunctionRouter:
    """Routes ``/<name>[/...]`` to that function with ``PATH_INFO`` starting at ``/``, as
    Cloud Functions does (a plain mount would answer ``/name`` with a redirect, which a
    CORS preflight cannot follow)."""

    def __init__(self, functions: dict[str, Any], fallback: Any) -> None:
        self.functions = functions
        self.fallback = fallback

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "") or "/"
        name, _, rest = path.lstrip("/").partition("/")
        app = self.functions.get(name)
        if app is None:
            return self.fallback(environ, start_response)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/" + name
        environ["PATH_INFO"] = "/" + rest
        return app(environ, start_response)


def build_app(form_key: str, intake_url: str, source: Path = SOURCE) -> FunctionRouter:
    return FunctionRouter(load_functions(source), site_app(form_key, intake_url))


def main(argv: list[str] | None = None) -> None:
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser(prog="python -m localcloud.functions_host")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--form-key", default="demo.local-form-key")
    parser.add_argument("--intake-url", default="http://localhost:8080/lead_intake")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = build_app(args.form_key, args.intake_url)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
