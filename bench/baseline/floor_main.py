"""The floor under every function of the bundle: functions-framework, Firestore, pydantic.

``floor`` imports what any of our functions must (Firestore and pydantic, the chosen
library for domain models), validates one small model and reads one document through a new
client: the least a function that checks its input and touches Firestore can cost. It is
not the issue's baseline; the cold-start table shows it so each function's excess over
what it cannot avoid is visible next to its ratio to the baseline.
"""

import os
from typing import Any

# As functions/main.py does: no pydantic plugins, so no search for them at the first build.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import functions_framework  # noqa: E402
from google.cloud import firestore  # noqa: E402
from pydantic import BaseModel  # noqa: E402


class Ping(BaseModel):
    """A model like the smallest request bodies: one field, built at import."""

    name: str = "floor"


def _validate_and_read() -> str:
    Ping.model_validate({"name": "acme"})
    firestore.Client().document("companies/acme").get()
    return "ok"


@functions_framework.http
def floor(_request: Any) -> str:
    """Validate a model and read one document (project from GOOGLE_CLOUD_PROJECT)."""
    return _validate_and_read()


@functions_framework.http
def floor_auth(_request: Any) -> str:
    """The floor plus firebase-admin's Auth module, which every staff function imports to
    check its caller's ID token (and, in production, look the account up)."""
    import firebase_admin.auth  # noqa: F401

    return _validate_and_read()


@functions_framework.http
def floor_tasks(_request: Any) -> str:
    """The floor plus the Cloud Tasks client library, which every function that queues a
    task on its first request imports."""
    from google.cloud import tasks_v2  # noqa: F401

    return _validate_and_read()
