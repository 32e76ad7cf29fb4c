"""Where an operator command acts, and the adapters it acts through.

The same command runs against ``make serve`` and against a Google project; which one is
decided from the environment alone, and a half-configured mix is refused rather than
guessed (a command meant for the local stack must never reach production):

- local: ``FIRESTORE_EMULATOR_HOST`` is set (with ``GROWTHKIT_AUTH_EMULATOR_HOST`` for
  commands that manage accounts, ``CLOUD_TASKS_EMULATOR_HOST`` for ``--via-tasks``), as
  ``make serve`` prints them;
- production: no emulator variable; Google's application default credentials
  (``gcloud auth application-default login``, or a service account).

Either way ``GOOGLE_CLOUD_PROJECT`` names the project: there is no default to fall to.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from shared.ports import PagedStore, TaskQueue
    from shared.services.company_transfer import CompanyData
    from shared.services.users import UserAdmin

PROJECT_VARIABLES = ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "GROWTHKIT_PROJECT_ID")
AUTH_EMULATOR = "GROWTHKIT_AUTH_EMULATOR_HOST"
Target = Literal["local", "production"]


class UsageError(Exception):
    """The command cannot run as configured; the message says what to set."""


def project() -> str:
    found = next((os.environ[v] for v in PROJECT_VARIABLES if os.environ.get(v)), "")
    if not found:
        raise UsageError(
            "set GOOGLE_CLOUD_PROJECT to the project to work on "
            "(make serve's is demo-growthkit, with the variables it prints)"
        )
    return found


def target() -> Target:
    """local or production, from the environment (see the module's docstring)."""
    project()
    local = bool(os.environ.get("FIRESTORE_EMULATOR_HOST"))
    if local and os.environ.get("GROWTHKIT_ENVIRONMENT") == "production":
        raise UsageError("GROWTHKIT_ENVIRONMENT=production and FIRESTORE_EMULATOR_HOST: unset one")
    if not local and os.environ.get(AUTH_EMULATOR):
        raise UsageError(
            f"{AUTH_EMULATOR} is set without FIRESTORE_EMULATOR_HOST: set both or neither"
        )
    return "local" if local else "production"


def store() -> PagedStore:
    """Firestore, on the target's project."""
    target()
    from shared.adapters.clients import firestore_client
    from shared.adapters.firestore_store import FirestoreStore

    return FirestoreStore(firestore_client())


def company_data() -> CompanyData:
    """A company's documents read and written raw (export and import)."""
    target()
    from shared.adapters.clients import firestore_client
    from shared.adapters.firestore_transfer import FirestoreCompanyData

    return FirestoreCompanyData(firestore_client())


def user_admin() -> UserAdmin:
    """Firebase Auth: the local stand-in, or Google's."""
    host = os.environ.get(AUTH_EMULATOR) or None
    if target() == "local" and host is None:
        raise UsageError(f"set {AUTH_EMULATOR} (make serve prints it) to manage accounts locally")
    from shared.adapters.user_admin import user_admin_for

    return user_admin_for(project(), host)


def task_queue() -> TaskQueue:
    """Cloud Tasks, delivering to the target's ``run_task``."""
    where = target()
    from shared.adapters.cloud_tasks import CloudTasksQueue
    from shared.settings import get_settings

    try:
        settings = get_settings()
    except ValueError as err:
        raise UsageError(f"the GROWTHKIT_* settings are not valid: {err}") from err
    if where == "local" and not os.environ.get("CLOUD_TASKS_EMULATOR_HOST"):
        raise UsageError("set CLOUD_TASKS_EMULATOR_HOST (make serve prints it)")
    if where == "production" and not (
        settings.functions_base_url.startswith("https://") and settings.task_service_account
    ):
        raise UsageError(
            "set GROWTHKIT_FUNCTIONS_BASE_URL (https://...) and GROWTHKIT_TASK_SERVICE_ACCOUNT "
            "as the deployed functions have them (growthkit deploy plan shows both)"
        )
    return CloudTasksQueue(settings)
