"""The functions-framework source of every function in the bundle.

Each function declares itself where it is defined (``functions/https_fn.py`` and its
siblings) and is imported on first access (PEP 562 module ``__getattr__``):
functions-framework looks up one target per instance, so a deployed function loads only
the module that declares it (``shared.manifest.module_of``, from the index the deploy
package carries), not the whole bundle. Google clients are imported lazily inside the
services, so loading a module stays cheap too.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

import flask

from functions._http import install
from shared.manifest import declared, module_of
from shared.startup import (
    collector_paused,
    freeze_loaded,
    hold_collector,
    release_collector,
)

# The bundle uses no pydantic plugins, and looking for them reads the metadata of every
# installed distribution at the first model build: 11 M instructions (0.8% of a bare
# function's cold start), measured with bench's --instructions. The variable is pydantic's
# documented switch, read at each model build; an operator can still set it otherwise.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

# functions-framework executes this file inside the app context of each app it creates, so
# this sets up every function's app: the body size limit and the last-resort error handler
# (its global ``errorhandler`` would race when tests create apps from several threads).
if flask.has_app_context():
    install(flask.current_app)


def __getattr__(name: str) -> Any:
    """Import the module that declares ``name`` and return the entry point (the collector
    paused while it loads, its objects frozen afterwards: shared/startup.py). Loaded by
    functions-framework (inside the app's context), the pause lasts until the app's first
    answer, so the Google clients' first imports run without it too."""
    with collector_paused():
        module = None if name.startswith("__") else module_of(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if flask.has_app_context() and hold_collector():
        flask.current_app.teardown_request(release_collector)
    with collector_paused():
        entry = getattr(importlib.import_module(module), name)
    _require_secrets(name)
    freeze_loaded()
    globals()[name] = entry  # functions-framework looks it up twice: once is enough
    return entry


def _require_secrets(name: str) -> None:
    """Refuse to load a production function without every secret its declaration names,
    or with a setting it cannot work with (one that sends, on the outbox backend, which
    delivers nothing): the instance never starts (the deploy fails, the revision before
    it keeps serving) rather than answer requests it cannot verify, sign or deliver. One
    critical log line says what to set."""
    from shared.settings import MissingSecret, missing_secrets, unmet_settings

    function = declared(name)
    if function is None:
        return
    missing = missing_secrets(function.required_secrets)
    unmet = unmet_settings(function.required_settings)
    needs = [f"{n} (a secret, from Secret Manager)" for n in missing]
    needs += [f"{s} (the outbox sends nothing)" for s in unmet]
    if needs:
        text = "; ".join(needs)
        logging.getLogger("growthkit.startup").critical(
            "%s refuses to start in production: set %s", name, text
        )
        raise MissingSecret(f"{name} needs {', '.join([*missing, *unmet])} in production")
