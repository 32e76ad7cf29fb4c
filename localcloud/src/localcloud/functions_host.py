"""Every function of a manifest on one local port, at ``/<function_name>``.

Each function is loaded from the manifest's source with functions-framework's own
``create_app`` (the same loader Cloud Functions uses) and mounted under its name; every
other path is a file of the optional site directory (``/`` its ``index.html``, ``/about``
its ``about.html``), else 404. Run as
``python -m localcloud.functions_host --manifest app.json --port 8080 [--site DIR]``
(``serve`` binds the port itself and hands the socket over with ``--fd``).
"""

from __future__ import annotations

import argparse
import logging
import mimetypes
from pathlib import Path
from typing import Any

from localcloud.manifest import FunctionSpec, Manifest, Trigger, load_manifest

log = logging.getLogger("localcloud.functions")


def _signature(function: FunctionSpec) -> str:
    return "cloudevent" if function.trigger is Trigger.EVENT else "http"


def load_functions(manifest: Manifest) -> dict[str, Any]:
    """The WSGI app of every manifest function that the manifest's source defines."""
    import functions_framework
    from functions_framework.exceptions import MissingTargetException

    apps: dict[str, Any] = {}
    if manifest.source is None:
        return apps
    for function in manifest.functions:
        try:
            apps[function.name] = functions_framework.create_app(  # type: ignore[no-untyped-call]
                function.target, str(manifest.source), _signature(function)
            )
        except MissingTargetException:
            log.warning(
                "function %s is in the manifest but not in %s", function.name, manifest.source
            )
    return apps


def _site_file(root: Path, path: str) -> Path | None:
    """The file of ``root`` that ``path`` names (``/`` is index.html, ``/x`` may be
    x.html); never one outside ``root``."""
    name = path.strip("/") or "index.html"
    for candidate in (name, f"{name}.html", f"{name}/index.html"):
        file = (root / candidate).resolve()
        if file.is_relative_to(root) and file.is_file():
            return file
    return None


def site_app(directory: Path | None) -> Any:
    """Static files of ``directory`` (a project's example website), else 404."""
    from werkzeug.wrappers import Request, Response

    root = directory.resolve() if directory is not None else None

    @Request.application
    def app(request: Any) -> Any:
        file = _site_file(root, request.path) if root is not None else None
        if file is None:
            return Response("Not found", status=404)
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        charset = "; charset=utf-8" if kind.startswith("text/") else ""
        return Response(file.read_bytes(), content_type=kind + charset)

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


def build_app(manifest: Manifest, site: Path | None = None) -> FunctionRouter:
    return FunctionRouter(load_functions(manifest), site_app(site))


def main(argv: list[str] | None = None) -> None:
    from werkzeug.serving import make_server

    parser = argparse.ArgumentParser(prog="python -m localcloud.functions_host")
    parser.add_argument("--manifest", required=True, help="JSON file or module:attribute")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--fd", type=int, default=None, help="serve this listening socket")
    parser.add_argument("--site", type=Path, default=None, help="static files at other paths")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = build_app(load_manifest(args.manifest), args.site)
    server = make_server(args.host, args.port, app, threaded=True, fd=args.fd)
    log.info("functions on http://%s:%d", args.host, server.port)
    server.serve_forever()


if __name__ == "__main__":
    main()
