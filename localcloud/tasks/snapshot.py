"""The data directory's one file: queues, tasks and recently used names as JSON.

Written whole after every change, to a temporary file renamed over the old one, so a
crash leaves either the previous or the new state and never half of one. Protobuf
messages are stored in their JSON form (bytes as base64), readable with ``jq``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from localcloud.tasks import pb

FILE_NAME = "tasks.json"
_VERSION = 1


@dataclass
class Snapshot:
    """Everything the store keeps: pb messages, task counters, name tombstones."""

    queues: list[Any] = field(default_factory=list)
    tasks: list[tuple[Any, int, int | None]] = field(default_factory=list)
    task_tombstones: dict[str, float] = field(default_factory=dict)
    queue_tombstones: dict[str, float] = field(default_factory=dict)


def _to_dict(message: Any) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def write(path: Path, snapshot: Snapshot) -> None:
    data = {
        "version": _VERSION,
        "queues": [_to_dict(q) for q in snapshot.queues],
        "tasks": [
            {"task": _to_dict(t), "executions": n, "previous_response": prev}
            for t, n, prev in snapshot.tasks
        ],
        "task_tombstones": snapshot.task_tombstones,
        "queue_tombstones": snapshot.queue_tombstones,
    }
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
    # No fsync: this guards local data against a killed process, not a power cut.
    os.replace(temporary, path)


def read(path: Path) -> Snapshot:
    """The snapshot at ``path``; an empty one when there is no file yet."""
    if not path.exists():
        return Snapshot()
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("version") != _VERSION:
        raise ValueError(f"{path}: unknown snapshot version {data.get('version')!r}")
    return Snapshot(
        queues=[json_format.ParseDict(q, pb.Queue()) for q in data["queues"]],
        tasks=[
            (json_format.ParseDict(t["task"], pb.Task()), t["executions"], t["previous_response"])
            for t in data["tasks"]
        ],
        task_tombstones=dict(data["task_tombstones"]),
        queue_tombstones=dict(data["queue_tombstones"]),
    )
