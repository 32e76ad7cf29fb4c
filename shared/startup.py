"""Loading code on a cold start without the cyclic garbage collector in the way.

A cold start creates tens of thousands of objects that live as long as the process: the
area's modules and models, then the Google client libraries on the first request. The
collector runs every 700 allocations, and its passes walk those objects again and again
to free almost nothing (a few hundred objects after a whole first request); importing
Firestore alone set off about 35 ms of collections. Held off while the instance loads and
answers its first request, the cold start does not pay for them.

Frozen afterwards (``gc.freeze``), what the functions-framework master loaded before
gunicorn forks its worker is left out of the worker's collections, which neither walk it
again nor write to its pages (a write copies the page into the worker: about 1,300 fewer
page faults per cold start). The ``gc`` documentation advises both for a process that
forks without exec.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
# Once per process each: the hold taken, the hold still on, the entry point frozen.
_state = {"taken": False, "active": False, "frozen": False}


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic collector off; it is on again afterwards if it was on
    before (threads loading at the same time only delay collections, never lose them)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def freeze_loaded() -> None:
    """Move every object alive now to the collector's permanent generation, once per
    process: called when the instance's entry point has loaded, before gunicorn forks."""
    # A flag, not gc.get_freeze_count(): that counts the frozen objects one by one (8 ms
    # once they are there, and functions-framework looks the entry point up twice).
    with _lock:
        if not _state["frozen"]:
            _state["frozen"] = True
            gc.freeze()


def hold_collector() -> bool:
    """Turn the collector off until ``release_collector``: once per process, from loading
    the entry point through the first answer, which imports the Google client libraries
    (the largest part of a cold start). True while the hold is on, so the caller can make
    sure the first answer releases it."""
    with _lock:
        if not _state["taken"] and gc.isenabled():
            _state["taken"] = _state["active"] = True
            gc.disable()
        return _state["active"]


def release_collector(_error: BaseException | None = None) -> None:
    """End the hold (after the first answer; later calls do nothing): what the first
    request loaded is frozen like the entry point, then the collector runs again."""
    with _lock:
        if _state["active"]:
            _state["active"] = False
            gc.freeze()
            gc.enable()
