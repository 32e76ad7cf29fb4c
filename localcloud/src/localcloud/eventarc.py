"""The local Eventarc bridge: Firestore commits become CloudEvents posted to functions.

Each change is matched against a manifest's event functions (``localcloud.manifest``: event
type and document path pattern) and delivered as production delivers it: a binary-mode
CloudEvent whose body is a protobuf ``DocumentEventData`` (the ``google-events`` type),
with the ``database``, ``namespace``, ``document``, ``location`` and ``project`` extension
attributes. Delivery is at least once: failures are retried with backoff, and
``duplicate=True`` sends every event twice so tests can prove idempotency.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from localcloud.firestore.store import Change, Commit, Store
from localcloud.manifest import FunctionSpec, Trigger

log = logging.getLogger("localcloud.eventarc")

LOCATION = "us-central1"


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """``companies/{companyId}/leads/{leadId}`` -> a regex matching one path segment per
    wildcard (``{name=**}`` matches several)."""
    parts = []
    for segment in pattern.strip("/").split("/"):
        match = re.fullmatch(r"\{(\w+)(=\*\*)?\}", segment)
        if match is None:
            parts.append(re.escape(segment))
        elif match.group(2):
            parts.append(f"(?P<{match.group(1)}>.+)")
        else:
            parts.append(f"(?P<{match.group(1)}>[^/]+)")
    return re.compile("/".join(parts))


def change_kind(change: Change) -> str:
    if change.before is None:
        return "created"
    if change.after is None:
        return "deleted"
    return "updated"


class EventTarget(Protocol):
    """What the headers need of a function: a ``FunctionSpec``, or a project's own type."""

    @property
    def full_event_type(self) -> str | None: ...


def matches(function: FunctionSpec, change: Change, document: str) -> bool:
    if function.trigger is not Trigger.EVENT or function.document is None:
        return False
    if function.event_type not in ("written", change_kind(change)):
        return False
    return pattern_regex(function.document).fullmatch(document) is not None


@dataclass(frozen=True)
class Delivery:
    function: FunctionSpec
    url: str
    headers: dict[str, str]
    body: bytes
    attempt: int = 1


def event_data(change: Change) -> bytes:
    """Serialise a change as ``google.events.cloud.firestore_v1.DocumentEventData``."""
    from google.events.cloud.firestore_v1 import DocumentEventData

    data = DocumentEventData.pb()()
    # The google-events Document has the same fields and numbers as Firestore's, so the
    # bytes of one parse as the other.
    if change.after is not None:
        data.value.ParseFromString(change.after.SerializeToString())
    if change.before is not None:
        data.old_value.ParseFromString(change.before.SerializeToString())
    if change.before is not None and change.after is not None:
        data.update_mask.field_paths.extend(change.update_mask)
    return bytes(data.SerializeToString())


def event_headers(function: EventTarget, change: Change, commit: Commit) -> dict[str, str]:
    project, database = commit.database.split("/")[1], commit.database.split("/")[3]
    document = change.name.split("/documents/", 1)[1]
    when = datetime.fromtimestamp(change.commit_ns / 1e9, UTC)
    return {
        "ce-id": uuid.uuid4().hex,
        "ce-specversion": "1.0",
        "ce-source": f"//firestore.googleapis.com/projects/{project}/databases/{database}",
        "ce-type": function.full_event_type or "",
        "ce-subject": f"documents/{document}",
        "ce-time": when.isoformat().replace("+00:00", "Z"),
        "ce-database": database,
        "ce-namespace": "(default)",
        "ce-document": document,
        "ce-location": LOCATION,
        "ce-project": project,
        "Content-Type": "application/protobuf",
    }


class EventBridge:
    """Subscribes to a local Firestore store and posts CloudEvents to ``base_url``, each to
    ``/<name>`` of the event functions among ``functions`` it matches."""

    def __init__(
        self,
        store: Store,
        base_url: str,
        *,
        functions: Iterable[FunctionSpec],
        duplicate: bool = False,
        max_attempts: int = 5,
        workers: int = 4,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.functions = [f for f in functions if f.trigger is Trigger.EVENT]
        self.duplicate = duplicate
        self.max_attempts = max_attempts
        self.delivered: list[Delivery] = []
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._workers = [threading.Thread(target=self._work, daemon=True) for _ in range(workers)]
        for worker in self._workers:
            worker.start()
        self._unsubscribe: Callable[[], None] = store.subscribe(self._on_commit)

    def _on_commit(self, commit: Commit) -> None:
        for change in commit.changes:
            document = change.name.split("/documents/", 1)[1]
            for function in self.functions:
                if matches(function, change, document):
                    self._enqueue(function, change, commit)

    def _enqueue(self, function: FunctionSpec, change: Change, commit: Commit) -> None:
        headers = event_headers(function, change, commit)
        delivery = Delivery(
            function, f"{self.base_url}/{function.name}", headers, event_data(change)
        )
        for _ in range(2 if self.duplicate else 1):
            self._put(delivery)

    def _put(self, delivery: Delivery) -> None:
        with self._idle:
            self._pending += 1
        self._queue.put(delivery)

    def _work(self) -> None:
        while (delivery := self._queue.get()) is not None:
            try:
                self._deliver(delivery)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _deliver(self, delivery: Delivery) -> None:
        status = _post(delivery)
        log.info(
            "event %s %s -> %s (attempt %d): %s",
            delivery.headers["ce-type"],
            delivery.headers["ce-document"],
            delivery.function.name,
            delivery.attempt,
            status,
        )
        if 200 <= status < 300:
            self.delivered.append(delivery)
            return
        if delivery.attempt >= self.max_attempts:
            log.error(
                "event %s to %s dropped after %d attempts",
                delivery.headers["ce-id"],
                delivery.function.name,
                delivery.attempt,
            )
            return
        time.sleep(min(0.2 * 2 ** (delivery.attempt - 1), 10.0))
        self._put(
            Delivery(
                delivery.function,
                delivery.url,
                delivery.headers,
                delivery.body,
                delivery.attempt + 1,
            )
        )

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery (and its retries) is done."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def close(self) -> None:
        self._unsubscribe()
        for _ in self._workers:
            self._queue.put(None)


def _post(delivery: Delivery) -> int:
    request = urllib.request.Request(
        delivery.url, data=delivery.body, method="POST", headers=delivery.headers
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except OSError as err:
        log.warning("event delivery to %s failed: %s", delivery.url, err)
        return 0


__all__ = [
    "Delivery",
    "EventBridge",
    "EventTarget",
    "event_data",
    "event_headers",
    "matches",
    "pattern_regex",
]
