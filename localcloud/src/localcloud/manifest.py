"""What a project asks localcloud to run: its functions, their triggers, its queues.

A project describes itself once, in a JSON file or in Python, and ``localcloud serve``
hosts every function, routes Firestore events to the event functions, creates a Cloud
Scheduler job per scheduled function and the Cloud Tasks queues. localcloud knows nothing
else about the project.

``load_manifest(ref)`` reads either form: a path to a ``.json`` file, or
``package.module:attribute`` naming a ``Manifest``, a dict in the JSON shape, or a
callable returning one of them. The JSON shape (every key but ``name`` optional)::

    {"source": "functions/main.py", "location": "us-central1",
     "functions": [{"name": "hello", "trigger": "http"},
                   {"name": "on_user", "trigger": "event", "event_type": "written",
                    "document": "users/{userId}"},
                   {"name": "nightly", "trigger": "schedule", "schedule": "0 3 * * *",
                    "time_zone": "Europe/Paris"},
                   {"name": "worker", "trigger": "task"}],
     "queues": [{"name": "work", "max_attempts": 5, "min_backoff_seconds": 1}]}

A relative ``source`` in a JSON file is relative to that file's directory.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class Trigger(StrEnum):
    HTTP = "http"
    EVENT = "event"
    SCHEDULE = "schedule"
    TASK = "task"


EVENT_TYPE_PREFIX = "google.cloud.firestore.document.v1."
EVENT_TYPES = ("created", "updated", "deleted", "written")
# A function is served at /<name>: one URL path segment, as Cloud Functions names allow.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")


class ManifestError(ValueError):
    """A manifest that cannot be read or asks for something impossible; says which."""


@dataclass(frozen=True)
class FunctionSpec:
    """One function. ``entry_point`` is its name in the source (default: ``name``);
    ``job_id`` names a scheduled function's Scheduler job (default: ``name`` with dashes);
    ``note`` is shown beside it in ``serve``'s table."""

    name: str
    trigger: Trigger = Trigger.HTTP
    event_type: str | None = None  # created, updated, deleted or written
    document: str | None = None  # path pattern, e.g. users/{userId}/orders/{orderId}
    schedule: str | None = None  # unix-cron
    time_zone: str = "Etc/UTC"
    timeout_seconds: int = 60  # a Scheduler attempt waits this long for the answer
    entry_point: str = ""
    job_id: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ManifestError(f"function name {self.name!r}: letters, digits, _ and -")
        try:
            object.__setattr__(self, "trigger", Trigger(self.trigger))
        except ValueError:
            kinds = ", ".join(t.value for t in Trigger)
            message = f"{self.name}: trigger {self.trigger!r} is not one of {kinds}"
            raise ManifestError(message) from None
        self._check_trigger_fields()

    def _check_trigger_fields(self) -> None:
        if self.trigger is Trigger.EVENT:
            if self.event_type not in EVENT_TYPES:
                raise ManifestError(
                    f"{self.name}: event_type {self.event_type!r} is not one of "
                    + ", ".join(EVENT_TYPES)
                )
            if not self.document:
                raise ManifestError(f"{self.name}: an event function needs a document pattern")
        if self.trigger is Trigger.SCHEDULE and not self.schedule:
            raise ManifestError(f"{self.name}: a scheduled function needs a schedule")

    @property
    def target(self) -> str:
        """The name functions-framework loads from the source."""
        return self.entry_point or self.name

    @property
    def full_event_type(self) -> str | None:
        return EVENT_TYPE_PREFIX + self.event_type if self.event_type else None

    @property
    def scheduler_job_id(self) -> str:
        return self.job_id or self.name.replace("_", "-")


@dataclass(frozen=True)
class QueueSpec:
    """A Cloud Tasks queue; a setting left at None keeps the service's default."""

    name: str
    max_attempts: int | None = None
    min_backoff_seconds: float | None = None
    max_backoff_seconds: float | None = None
    max_doublings: int | None = None
    max_dispatches_per_second: float | None = None
    max_concurrent_dispatches: int | None = None

    def resource(self, parent: str) -> dict[str, Any]:
        """The ``Queue`` the Cloud Tasks client creates, under ``parent`` (a location)."""
        retry = {
            "max_attempts": self.max_attempts,
            "min_backoff": _duration(self.min_backoff_seconds),
            "max_backoff": _duration(self.max_backoff_seconds),
            "max_doublings": self.max_doublings,
        }
        rates = {
            "max_dispatches_per_second": self.max_dispatches_per_second,
            "max_concurrent_dispatches": self.max_concurrent_dispatches,
        }
        return {
            "name": f"{parent}/queues/{self.name}",
            "rate_limits": {k: v for k, v in rates.items() if v is not None},
            "retry_config": {k: v for k, v in retry.items() if v is not None},
        }


def _duration(seconds: float | None) -> dict[str, int] | None:
    if seconds is None:
        return None
    whole = int(seconds)
    return {"seconds": whole, "nanos": round((seconds - whole) * 1e9)}


@dataclass(frozen=True)
class Manifest:
    """Every function and queue of a project; ``source`` is the functions-framework source
    file that defines the functions (None: nothing to host, the services alone)."""

    functions: tuple[FunctionSpec, ...] = ()
    queues: tuple[QueueSpec, ...] = ()
    source: Path | None = None
    location: str = "us-central1"

    def __post_init__(self) -> None:
        object.__setattr__(self, "functions", tuple(self.functions))
        object.__setattr__(self, "queues", tuple(self.queues))
        if self.source is not None:
            object.__setattr__(self, "source", Path(self.source))
        for kind, names in (
            ("function", [f.name for f in self.functions]),
            ("queue", [q.name for q in self.queues]),
        ):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ManifestError(f"{kind} named twice: {', '.join(twice)}")

    def of(self, trigger: Trigger) -> list[FunctionSpec]:
        return [f for f in self.functions if f.trigger is trigger]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (``from_dict`` reads it back)."""
        data = dataclasses.asdict(self)
        data["source"] = str(self.source) if self.source is not None else None
        return data

    @classmethod
    def from_dict(cls, data: Any, base: Path | None = None) -> Manifest:
        """Read the JSON shape; relative ``source`` paths are taken from ``base``."""
        _expect_keys(data, "manifest", {f.name for f in dataclasses.fields(cls)})
        source = data.get("source")
        if source is not None:
            source = Path(source) if base is None else base / source
        return cls(
            functions=tuple(_build(FunctionSpec, f, "function") for f in data.get("functions", [])),
            queues=tuple(_build(QueueSpec, q, "queue") for q in data.get("queues", [])),
            source=source,
            location=data.get("location", "us-central1"),
        )


def _expect_keys(data: Any, what: str, allowed: set[str]) -> None:
    if not isinstance(data, dict):
        raise ManifestError(f"a {what} must be a JSON object, not {type(data).__name__}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ManifestError(f"{what}: unknown keys {', '.join(unknown)}")


def _build(kind: Any, data: Any, what: str) -> Any:
    _expect_keys(data, what, {f.name for f in dataclasses.fields(kind)})
    if "name" not in data:
        raise ManifestError(f"a {what} needs a name: {json.dumps(data)}")
    return kind(**data)


def load_manifest(ref: str | Path) -> Manifest:
    """A manifest from ``path.json`` or ``module:attribute`` (see the module docstring)."""
    text = str(ref)
    if isinstance(ref, Path) or text.endswith(".json") or Path(text).is_file():
        return _from_json(Path(text))
    module_name, colon, attribute = text.partition(":")
    if not colon or not module_name or not attribute:
        raise ManifestError(f"{text!r}: give a JSON file or module:attribute")
    try:
        value = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as err:
        raise ManifestError(f"{text}: {err}") from err
    value = value() if callable(value) and not isinstance(value, Manifest) else value
    return value if isinstance(value, Manifest) else Manifest.from_dict(value)


def _from_json(path: Path) -> Manifest:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ManifestError(f"cannot read the manifest {path}: {err.strerror}") from err
    except ValueError as err:
        raise ManifestError(f"{path} is not JSON: {err}") from err
    return Manifest.from_dict(data, base=path.resolve().parent)


__all__ = [
    "FunctionSpec",
    "Manifest",
    "ManifestError",
    "QueueSpec",
    "Trigger",
    "load_manifest",
]
