"""Every job by name, one lock around them, and the file they survive restarts in.

The RPC handlers and the runner share ``JobTable.cond``: handlers change jobs under it
and notify, the runner waits on it for the next due time or a change. With a data
directory every change rewrites ``jobs.json`` atomically; jobs are few and small, so a
whole-file rewrite is simpler than a journal and cannot leave a half-written file.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from localcloud.scheduler import pb

log = logging.getLogger("localcloud.scheduler")
FILE_NAME = "jobs.json"


class JobTable:
    """Jobs by full name (``projects/P/locations/L/jobs/ID``), persisted when asked."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.cond = threading.Condition()
        self.jobs: dict[str, Any] = {}
        self._path = data_dir / FILE_NAME if data_dir is not None else None
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            self.jobs = _load(data_dir / FILE_NAME)

    def get(self, name: str) -> Any | None:
        return self.jobs.get(name)

    def save(self) -> None:
        """Write every job to disk; call with ``cond`` held, after each change."""
        if self._path is None:
            return
        data = {"jobs": [json_format.MessageToDict(job) for job in self.jobs.values()]}
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(temporary, self._path)


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    jobs: dict[str, Any] = {}
    for raw in data.get("jobs", []):
        job = json_format.ParseDict(raw, pb.Job())
        jobs[job.name] = job
    log.info("loaded %d Scheduler jobs from %s", len(jobs), path)
    return jobs
