"""The floor with msgspec in pydantic's place, for comparison only.

``floor_msgspec`` does what ``floor`` (floor_main.py) does, checking the same small input
with a ``msgspec.Struct`` instead of a pydantic model: what a function would cost at least
if it checked its input without pydantic on its first request. Nothing of ours uses it; the
bundle's models are pydantic's, and this row shows what that choice costs a cold start.
"""

from typing import Any

import functions_framework
import msgspec
from google.cloud import firestore


class Ping(msgspec.Struct, frozen=True):
    """The floor's one-field model, as a Struct."""

    name: str = "floor"


@functions_framework.http
def floor_msgspec(_request: Any) -> str:
    """Check a body and read one document (project from GOOGLE_CLOUD_PROJECT)."""
    msgspec.convert({"name": "acme"}, Ping)
    firestore.Client().document("companies/acme").get()
    return "ok"
