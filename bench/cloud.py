"""A project's whole local cloud for the ``tenants`` and ``cost`` sections.

The bench's local Firestore and Cloud Tasks (``bench.stack``), a local Cloud Scheduler
with a job per periodic function, optionally the Eventarc bridge delivering Firestore
changes to the trigger functions, and every function of the manifest served on
127.0.0.1 by a process of its own (``bench.accounting``): one invocation at a time, each
logged with what it read and wrote. Scheduler jobs are run (RunJob) through the real
client, Cloud Tasks dispatches to ``run_task`` and the runs' continuations: the chain
production runs, and every invocation of it counted.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.accounting import read_log
from bench.instance import ROOT, free_port

# dispatch_due_tasks reads a bounded page whatever is stored (the scaling section).
NOT_RUN = frozenset({"dispatch_due_tasks"})


class LocalCloud:
    """One project's functions, queue, Scheduler jobs (and Eventarc bridge)."""

    def __init__(
        self,
        stack: Any,
        project: str,
        *,
        events: bool = False,
        skip: frozenset[str] = NOT_RUN,
        **env: str,
    ) -> None:
        from shared.devstack.manifest import growthkit_manifest
        from shared.settings import get_settings

        self.stack, self.project, self.events, self.extra_env = stack, project, events, env
        self.skip = skip
        manifest = growthkit_manifest(get_settings().region)
        self.manifest = dataclasses.replace(manifest, source=manifest.source)
        self.folder = Path(tempfile.mkdtemp(prefix="bench-cloud-"))
        self.log = self.folder / "invocations.jsonl"
        self.clock_file = self.folder / "clock-offset"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.bridge: Any = None
        self.scheduler: Any = None

    @property
    def parent(self) -> str:
        from shared.settings import get_settings

        return f"projects/{self.project}/locations/{get_settings().region}"

    def start(self) -> LocalCloud:
        from localcloud.scheduler import start_scheduler

        self._start_functions()
        self._create_queue()
        self.scheduler = start_scheduler()
        self._create_jobs()
        if self.events:
            from localcloud.eventarc import EventBridge

            self.bridge = EventBridge(
                self.stack.firestore.store, self.base_url, functions=self.manifest.functions
            )
        return self

    def env(self) -> dict[str, str]:
        """The functions' environment: the stack's services, this project, local settings."""
        firestore = self.stack.firestore
        return {
            **os.environ,
            **self.stack.env,
            "GOOGLE_CLOUD_PROJECT": self.project,
            "GROWTHKIT_FUNCTIONS_BASE_URL": self.base_url,
            "GROWTHKIT_ENVIRONMENT": "local",
            "FIRESTORE_EMULATOR_HOST": firestore.address,
            **self.extra_env,
        }

    def _start_functions(self) -> None:
        from localcloud.serve import wait_for_http

        manifest_file = self.folder / "manifest.json"
        manifest_file.write_text(json.dumps(self.manifest.to_dict()), encoding="utf-8")
        debug = f"http://127.0.0.1:{self.stack.firestore.debug_port}/counters"
        database = f"projects/{self.project}/databases/(default)"
        command = [sys.executable, "-m", "bench.accounting", "--manifest", str(manifest_file)]
        command += ["--port", str(self.port), "--counters", debug, "--database", database]
        command += ["--log", str(self.log), "--clock-file", str(self.clock_file)]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_http(f"{self.base_url}/", timeout=120, process=self.process)
        self.log.unlink(missing_ok=True)  # the readiness probe is no invocation

    def _create_queue(self) -> None:
        from localcloud.tasks.testing import tasks_client
        from shared.devstack.manifest import queue_spec
        from shared.queues import TASKS_QUEUE

        client = tasks_client(self.stack.tasks.address)
        client.create_queue(parent=self.parent, queue=queue_spec(TASKS_QUEUE).resource(self.parent))
        self.tasks = client
        self.queue_path = f"{self.parent}/queues/{TASKS_QUEUE.name}"

    def _create_jobs(self) -> None:
        from localcloud.manifest import Trigger
        from localcloud.serve import job_resource, scheduler_client

        self.jobs: dict[str, str] = {}
        client = scheduler_client(self.scheduler.address)
        for function in self.manifest.of(Trigger.SCHEDULE):
            if function.name in self.skip:
                continue
            name = f"{self.parent}/jobs/{function.scheduler_job_id}"
            job = job_resource(function, self.base_url)
            # Paused: the bench runs each job once, when it says (RunJob), not on its cron.
            client.create_job(parent=self.parent, job={"name": name, **job})
            client.pause_job(name=name)
            self.jobs[function.name] = name
        self.scheduler_client = client

    def run_job(self, function: str, timeout: float = 1800) -> float:
        """Run the function's Scheduler job now and wait until all it set off is done;
        the seconds it took."""
        started = time.perf_counter()
        before = self.invocations()
        self.scheduler_client.run_job(name=self.jobs[function])
        self.wait_idle(timeout, after=before)
        return time.perf_counter() - started

    def wait_idle(self, timeout: float = 1800, after: int = 0, quiet: float = 0.5) -> None:
        """Until something was invoked (past the ``after``-th invocation), the queue is empty
        and nothing was invoked for ``quiet`` seconds (the bridge idle too)."""
        deadline = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            count = self.invocations()
            if count != last:
                last, since = count, time.monotonic()
            queued = self.due_tasks()
            bridge_idle = self.bridge is None or self.bridge.wait_idle(0.01)
            if count > after and not queued and bridge_idle and time.monotonic() - since > quiet:
                return
            time.sleep(0.1)
        raise TimeoutError(f"{self.project}: still busy after {timeout} s")

    def move_clock(self, offset: timedelta) -> None:
        """The functions' clock, ``offset`` from now from here on."""
        self.clock_file.write_text(str(offset.total_seconds()), encoding="utf-8")

    def invocations(self) -> int:
        """How many invocations the log holds so far (its lines, not parsed)."""
        return self.log.read_bytes().count(b"\n") if self.log.exists() else 0

    def due_tasks(self) -> int:
        """How many Cloud Tasks are due (not those waiting for a later time)."""
        from datetime import UTC, datetime

        soon = datetime.now(UTC) + timedelta(seconds=1)
        tasks = self.tasks.list_tasks(parent=self.queue_path)
        return sum(1 for t in tasks if t.schedule_time <= soon)

    def records(self) -> list[dict[str, Any]]:
        return read_log(self.log)

    def stop(self) -> None:
        if self.bridge is not None:
            self.bridge.close()
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
        if self.scheduler is not None:
            self.scheduler.stop()
