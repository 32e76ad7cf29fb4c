"""The bundle's manifest: every function and task type, as the functions declare them.

Nothing here lists a function by hand. Each entry point in ``functions/`` declares itself
with a decorator (``functions.https_fn.on_request``, ``firestore_fn.on_document_written``,
``scheduler_fn.on_schedule``, ``tasks_fn.on_task``...), which calls ``declare`` (or
``declare_task``) as its module loads. Everything that needs the whole list (the deploy
plan, ``openapi.json``, localcloud's routing, the tests) calls ``functions()``, which
imports every module of the entry package once and reads what they declared.

A deployed instance needs one function only: ``module_of`` tells ``functions/main.py``
which module defines it, from the index the deploy package carries (``INDEX``, written by
``write_index``), so the instance imports that module alone.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import threading
from enum import StrEnum
from pathlib import Path
from typing import Any

from msgspec import Struct, field
from msgspec.structs import asdict

ENTRY_PACKAGE = "functions"
# In the deploy package: which module declares each function and task type.
INDEX = "entry_points.json"


class Trigger(StrEnum):
    HTTP = "http"
    EVENT = "event"
    SCHEDULE = "schedule"
    TASK = "task"


EVENT_TYPE_PREFIX = "google.cloud.firestore.document.v1."
# Every function needs these (Settings refuses production without a signing key).
COMMON_SECRETS = ("GROWTHKIT_SIGNING_KEY",)
# A function that sends e-mail or SMS needs the providers' passwords...
MESSAGING_SECRETS = ("GROWTHKIT_SMTP_PASSWORD", "GROWTHKIT_SMS_AUTH_TOKEN")
# ... and, in production, the backends that really send (the outbox delivers nothing).
MESSAGING_BACKENDS = (("GROWTHKIT_MAIL_BACKEND", "smtp"), ("GROWTHKIT_SMS_BACKEND", "http"))


class Function(Struct, frozen=True):
    """One Cloud Function, as its decorator declared it."""

    name: str
    trigger: Trigger
    public: bool = False
    event_type: str | None = None  # created, updated, deleted or written
    document: str | None = None  # path pattern, e.g. companies/{companyId}/leads/{leadId}
    schedule: str | None = None  # unix-cron
    time_zone: str = "Etc/UTC"
    memory: str = "256Mi"
    timeout_seconds: int = 60
    max_instances: int = 10
    concurrency: int = 20
    # Variables holding the secrets the function reads, besides COMMON_SECRETS: the deploy
    # plan maps each from Secret Manager only to the functions that name it, and in
    # production the function refuses to start without every one (functions/main.py).
    secrets: tuple[str, ...] = field(default=())
    # Called by another platform's servers (SMS, e-mail provider): what its secret does not
    # verify is refused (401), so it must name that secret in ``secrets``.
    webhook: bool = False
    # Creates staff accounts and sets their claims (Firebase Auth admin): the deploy plan
    # gives that right to this function's identity alone.
    user_admin: bool = False
    # Gets the OAuth clients of the platforms a deploy configures (``--oauth-platforms``).
    oauth_clients: bool = False
    # Its code can reach the messenger (e-mail, SMS): it is given the mail and SMS settings
    # and secrets, refuses to start in production without them, and only it may send
    # (``functions._context.Context.messenger``).
    sends: bool = False
    # HTTP methods it answers (OPTIONS included where it answers CORS preflights).
    methods: tuple[str, ...] = field(default=())
    # The module of ``functions/`` that declares it.
    module: str = ""

    @property
    def entry_point(self) -> str:
        return self.name

    @property
    def required_secrets(self) -> tuple[str, ...]:
        """Every secret variable the function cannot run without."""
        messaging = MESSAGING_SECRETS if self.sends else ()
        return tuple(dict.fromkeys((*COMMON_SECRETS, *self.secrets, *messaging)))

    @property
    def required_settings(self) -> tuple[tuple[str, str], ...]:
        """The variables that must have these values for it to run in production."""
        return MESSAGING_BACKENDS if self.sends else ()

    @property
    def full_event_type(self) -> str | None:
        return EVENT_TYPE_PREFIX + self.event_type if self.event_type else None


class TaskType(Struct, frozen=True):
    """A kind of scheduled task and the module whose handler runs it."""

    name: str
    module: str


_lock = threading.RLock()
_functions: dict[str, Function] = {}
_tasks: dict[str, TaskType] = {}
_discovered: list[bool] = []


def declare(function: Function) -> None:
    """Record a function (called by the decorators as their module loads).

    Raises:
        ValueError: another module already declared a function of that name.
    """
    _record(_functions, function.name, function, function.module)


def declare_task(task_type: TaskType) -> None:
    """Record a task type (called by ``tasks_fn.on_task``)."""
    _record(_tasks, task_type.name, task_type, task_type.module)


def _record(table: dict[str, Any], name: str, value: Any, module: str) -> None:
    with _lock:
        known = table.get(name)
        if known is not None and known.module != module:
            raise ValueError(f"{name!r} is declared in both {known.module} and {module}")
        table[name] = value


def discover(package: str = ENTRY_PACKAGE) -> None:
    """Import every module of the entry package once, so each declares its functions."""
    with _lock:
        if _discovered:
            return
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if not info.name.rsplit(".", 1)[-1].startswith("_") and info.name != f"{package}.main":
                importlib.import_module(info.name)
        _discovered.append(True)


def functions() -> tuple[Function, ...]:
    """Every declared function, by name."""
    discover()
    return tuple(sorted(_functions.values(), key=lambda f: f.name))


def task_types() -> tuple[TaskType, ...]:
    """Every declared task type, by name."""
    discover()
    return tuple(sorted(_tasks.values(), key=lambda t: t.name))


def by_name(name: str) -> Function:
    """The function ``name`` (KeyError if nothing declares it)."""
    if name not in _functions:
        discover()
    return _functions[name]


def declared(name: str) -> Function | None:
    """The function ``name`` if its module has loaded, without loading anything else."""
    return _functions.get(name)


def module_of(name: str, kind: str = "functions") -> str | None:
    """The module declaring a function (``kind="functions"``) or a task type
    (``kind="tasks"``): from the deploy package's index when there is one, else by
    importing the entry package. None for an unknown name."""
    index = _index()
    if index is not None:
        found: str | None = index[kind].get(name)
        return found
    discover()
    known: dict[str, Any] = _functions if kind == "functions" else _tasks
    return known[name].module if name in known else None


def _index() -> dict[str, dict[str, str]] | None:
    path = Path(importlib.import_module(ENTRY_PACKAGE).__path__[0]) / INDEX
    if not path.is_file():
        return None
    loaded: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def write_index(package_dir: Path) -> Path:
    """Write the index of a deploy package's entry package (``package_dir/functions``)."""
    index = {
        "functions": {f.name: f.module for f in functions()},
        "tasks": {t.name: t.module for t in task_types()},
    }
    path = package_dir / ENTRY_PACKAGE / INDEX
    path.write_text(json.dumps(index, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def as_json(function: Function) -> dict[str, Any]:
    """A function's declaration as plain JSON values (for tools and localcloud)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(function).items()}


def scheduler_job_id(function: Function) -> str:
    """The Cloud Scheduler job id of a scheduled function."""
    return f"growthkit-{function.name.replace('_', '-')}"


def __getattr__(name: str) -> Any:
    # ``FUNCTIONS``: the declared functions, for the many readers written before
    # functions declared themselves; computed on first use (it imports the entry package).
    if name == "FUNCTIONS":
        return functions()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
