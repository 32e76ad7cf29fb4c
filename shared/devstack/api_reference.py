"""The rendered API reference `make serve` shows at ``/api/``: Swagger UI (the copy the
``swagger-ui-py`` distribution ships, so nothing is fetched from a CDN) over the
repository's ``openapi.json``, as static files of the example site."""

from __future__ import annotations

import shutil
from pathlib import Path

OPENAPI = Path(__file__).resolve().parents[2] / "openapi.json"
# What the page loads of Swagger UI's distribution.
ASSETS = ("swagger-ui.css", "index.css", "swagger-ui-bundle.js", "favicon-32x32.png")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>growthkit API reference</title>
<link rel="stylesheet" href="swagger-ui.css"><link rel="stylesheet" href="index.css">
<link rel="icon" type="image/png" href="favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="swagger-ui-bundle.js"></script>
<script>
window.onload = function () {
  window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui",
                               deepLinking: true, tryItOutEnabled: false});
};
</script></body></html>
"""


def render_api_reference(out: Path) -> Path:
    """Write the page, Swagger UI's assets and a copy of ``openapi.json`` into ``out``."""
    import swagger_ui

    static = Path(swagger_ui.__file__).resolve().parent / "static"
    out.mkdir(parents=True, exist_ok=True)
    for name in ASSETS:
        shutil.copyfile(static / name, out / name)
    shutil.copyfile(OPENAPI, out / "openapi.json")
    (out / "index.html").write_text(PAGE, encoding="utf-8")
    return out
