"""The data directory's one file: a JSON-lines journal of queue and task changes.

Every change appends the new state of what it touched (a queue, a task, or the fact
that one was dropped and until when its name stays taken), so the cost of a change does
not grow with the number of tasks. Replaying the lines in order rebuilds the state; a
torn last line (a killed process) is skipped. The journal is compacted to one line per
live object at start and whenever it has grown well past that, written to a temporary
file renamed over the old one so a crash leaves the old or the new journal, never half.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from google.protobuf import json_format

from localcloud.tasks import pb

log = logging.getLogger("localcloud.tasks")

FILE_NAME = "tasks.jsonl"
# Compact when the journal holds this many more lines than there are live entries.
_SLACK_LINES = 1000


def queue_line(queue: Any) -> dict[str, Any]:
    return {"queue": _to_dict(queue)}


def task_line(task: Any, executions: int, previous_response: int | None) -> dict[str, Any]:
    return {"task": _to_dict(task), "executions": executions, "previous": previous_response}


def dropped_line(kind: str, name: str, until: float) -> dict[str, Any]:
    """``kind`` ("queue" or "task") ``name`` is gone; its name is taken until ``until``."""
    return {"dropped": kind, "name": name, "until": until}


def parse_queue(line: dict[str, Any]) -> Any:
    return json_format.ParseDict(line["queue"], pb.Queue())


def parse_task(line: dict[str, Any]) -> Any:
    return json_format.ParseDict(line["task"], pb.Task())


def _to_dict(message: Any) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


class Journal:
    """Append-only lines at ``directory/tasks.jsonl``."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / FILE_NAME
        self._file: IO[str] | None = None
        self._lines = 0

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        lines = []
        with self.path.open(encoding="utf-8") as file:
            for number, text in enumerate(file, 1):
                try:
                    lines.append(json.loads(text))
                except json.JSONDecodeError:
                    log.warning("%s:%d: skipping an unreadable line", self.path, number)
        return lines

    def append(self, lines: Iterable[dict[str, Any]]) -> None:
        if self._file is None:
            self._file = self.path.open("a", encoding="utf-8")
        for line in lines:
            self._file.write(json.dumps(line, separators=(",", ":")) + "\n")
            self._lines += 1
        # Flushed, not fsynced: this guards against a killed process, not a power cut.
        self._file.flush()

    def needs_compaction(self, live_entries: int) -> bool:
        return self._lines > 2 * live_entries + _SLACK_LINES

    def rewrite(self, lines: list[dict[str, Any]]) -> None:
        """Replace the journal with ``lines`` (the current state), atomically."""
        self.close()
        temporary = self.path.with_name(self.path.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as file:
            for line in lines:
                file.write(json.dumps(line, separators=(",", ":")) + "\n")
        os.replace(temporary, self.path)
        self._lines = len(lines)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
