"""The baseline with the bundle's compile cache installed first (shared/compile_cache.py).

The same bare function as ``main.py``'s ``baseline``, for comparison only: the cache serves
Firestore's import too, work the baseline does, so this row shows how much of what the
bundle's functions save comes from there, against the baseline as the issue defines it.
"""

from typing import Any

from shared.compile_cache import install

install()

import functions_framework  # noqa: E402
from google.cloud import firestore  # noqa: E402, F401


@functions_framework.http
def baseline_cached(_request: Any) -> str:
    """Answer at once: the cost is the runtime and the Firestore import, through the cache."""
    return "ok"
