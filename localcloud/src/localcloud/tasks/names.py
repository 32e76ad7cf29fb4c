"""Resource names: parsing and validation of queue and task names, new task ids."""

from __future__ import annotations

import re
import secrets

from localcloud.tasks.errors import invalid

_LOCATION = r"projects/[A-Za-z0-9:.-]+/locations/[A-Za-z0-9-]+"
_LOCATION_RE = re.compile(rf"^{_LOCATION}$")
_QUEUE_RE = re.compile(rf"^({_LOCATION})/queues/([^/]*)$")
_QUEUE_ID_RE = re.compile(r"^[A-Za-z0-9-]{1,100}$")
# The id part is captured leniently so a bad id gets its own message, as in the service.
_TASK_RE = re.compile(rf"^({_LOCATION}/queues/[^/]+)/tasks/(.*)$")
_TASK_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,500}$")

_QUEUE_FORMAT = (
    "Queue name must be formatted: "
    '"projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/<QUEUE_ID>".'
)


def check_location(parent: str) -> str:
    """``projects/P/locations/L`` or INVALID_ARGUMENT."""
    if not _LOCATION_RE.match(parent):
        raise invalid(f'Invalid resource field value in the request: parent "{parent}".')
    return parent


def check_queue(name: str) -> str:
    """A well-formed queue name, or INVALID_ARGUMENT with the service's wording."""
    match = _QUEUE_RE.match(name)
    if not match or not _QUEUE_ID_RE.match(match.group(2)):
        raise invalid(_QUEUE_FORMAT)
    return name


def location_of(queue_name: str) -> str:
    return queue_name.rsplit("/queues/", 1)[0]


def check_task(name: str) -> tuple[str, str]:
    """``(queue name, task id)`` of a well-formed task name, or INVALID_ARGUMENT."""
    match = _TASK_RE.match(name)
    if not match:
        raise invalid(
            "Task name must be formatted: "
            '"projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/<QUEUE_ID>/tasks/<TASK_ID>".'
        )
    queue, task_id = match.group(1), match.group(2)
    check_queue(queue)
    if not _TASK_ID_RE.match(task_id):
        raise invalid(
            f'Task ID "{task_id}" can contain only letters ([A-Za-z]), numbers ([0-9]), '
            "hyphens (-), or underscores (_). Task ID must between 1 and 500 characters."
        )
    return queue, task_id


def short_id(name: str) -> str:
    """The last segment of a resource name: what X-CloudTasks-* headers carry."""
    return name.rsplit("/", 1)[-1]


def new_task_name(queue_name: str) -> str:
    """A random task name like the service's: a decimal number of up to 20 digits.

    Random rather than sequential ids also keep the service's advice about hot-spotting.
    """
    return f"{queue_name}/tasks/{secrets.randbits(64)}"


def queue_of(task_name: str) -> str:
    """The queue part of a task name (the name is assumed well formed)."""
    return task_name.rsplit("/tasks/", 1)[0]
