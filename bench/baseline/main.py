"""The cold-start baseline: a bare functions-framework function importing only Firestore.

``baseline`` answers without any I/O (the issue's reference); ``baseline_read`` also makes
a client and reads one document, the least any function that uses Firestore does.
"""

from typing import Any

import functions_framework
from google.cloud import firestore


@functions_framework.http
def baseline(_request: Any) -> str:
    """Answer at once: the cost is the runtime and the Firestore import."""
    return "ok"


@functions_framework.http
def baseline_read(_request: Any) -> str:
    """One document read through a new client (its project from GOOGLE_CLOUD_PROJECT)."""
    firestore.Client().document("companies/acme").get()
    return "ok"
