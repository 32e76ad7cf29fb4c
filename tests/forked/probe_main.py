"""An entry module for tests/unit/test_startup_fork.py: the bundle's targets, resolved by
functions/main.py exactly as a deployed instance resolves them, plus ``GET /__gc``, which
reports the serving process's collector state.

functions-framework loads this file inside the app's context, so the probe route joins the
app it serves (a plain rule wins over the framework's catch-all path).
"""

from __future__ import annotations

import gc
import os
from typing import Any

import flask

import functions.main as bundle


def __getattr__(name: str) -> Any:
    return getattr(bundle, name)


def _collector() -> dict[str, Any]:
    return {"pid": os.getpid(), "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}


if flask.has_app_context():
    flask.current_app.add_url_rule("/__gc", "gc_probe", _collector)
