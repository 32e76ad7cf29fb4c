"""``python -m localcloud serve``: the whole bundle on one machine, on embedded defaults.

Starts the local Firestore, Cloud Tasks and Cloud Scheduler servers and the Eventarc
bridge in this process, and every function in a child process (as Cloud Functions runs
them apart from the services they call); creates the queues and Scheduler jobs from the
manifest through the real clients; seeds a demo company; prints one table. Data lives
under ``.localcloud/`` and survives restarts. Ctrl-C stops everything and keeps the data.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.manifest import FUNCTIONS, Trigger
from shared.queues import QUEUES

log = logging.getLogger("localcloud.serve")

DEMO_COMPANY = "demo"
# Enforced for clients signed in as staff or visitors; the functions' owner credential
# bypasses it, as with the official emulator.
RULES = Path(__file__).resolve().parents[3] / "firestore.rules"
DEMO_FORM_KEY = "demo.local-form-key"


@dataclass(frozen=True)
class Ports:
    host: str
    functions: int
    firestore: int
    tasks: int
    scheduler: int

    @classmethod
    def from_env(cls) -> Ports:
        env = os.environ.get
        return cls(
            env("LOCALCLOUD_HOST", "127.0.0.1"),
            int(env("LOCALCLOUD_FUNCTIONS_PORT", "8080")),
            int(env("LOCALCLOUD_FIRESTORE_PORT", "8681")),
            int(env("LOCALCLOUD_TASKS_PORT", "8682")),
            int(env("LOCALCLOUD_SCHEDULER_PORT", "8683")),
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.functions}"


def service_env(ports: Ports, project: str) -> dict[str, str]:
    """The variables that point the real Google clients at localcloud."""
    return {
        "FIRESTORE_EMULATOR_HOST": f"{ports.host}:{ports.firestore}",
        "CLOUD_TASKS_EMULATOR_HOST": f"{ports.host}:{ports.tasks}",
        "CLOUD_SCHEDULER_EMULATOR_HOST": f"{ports.host}:{ports.scheduler}",
        "GOOGLE_CLOUD_PROJECT": project,
        "GROWTHKIT_FUNCTIONS_BASE_URL": ports.base_url,
        "GROWTHKIT_ENVIRONMENT": "local",
    }


class Stack:
    """The running local cloud; ``stop()`` shuts every part down, keeping the data."""

    def __init__(self, ports: Ports, data_dir: Path, project: str, duplicate: bool = False) -> None:
        self.ports, self.data_dir, self.project = ports, data_dir, project
        self.duplicate = duplicate
        self.parts: list[Any] = []
        self.host_process: subprocess.Popen[bytes] | None = None

    def start(self) -> Stack:
        from localcloud.auth import seed_demo_admin, serving_env, start_serving_auth
        from localcloud.eventarc import EventBridge
        from localcloud.firestore import start_firestore
        from localcloud.scheduler import start_scheduler
        from localcloud.tasks import start_tasks
        from shared.adapters.crypto import local_key_env

        os.environ.update(service_env(self.ports, self.project))
        # Secrets at rest are sealed under a key generated into the data dir on first start.
        os.environ.update(local_key_env(self.data_dir))
        host = self.ports.host
        self.firestore = start_firestore(
            host, self.ports.firestore, data_dir=self.data_dir / "firestore", rules_path=RULES
        )
        self.parts.append(self.firestore)
        self.parts.append(start_tasks(host, self.ports.tasks, data_dir=self.data_dir / "tasks"))
        self.parts.append(
            start_scheduler(host, self.ports.scheduler, data_dir=self.data_dir / "scheduler")
        )
        self.auth = start_serving_auth(host, self.data_dir / "auth")
        self.parts.append(self.auth)
        os.environ.update(serving_env(self.auth))
        self._start_functions()
        self.bridge = EventBridge(
            self.firestore.store, self.ports.base_url, duplicate=self.duplicate
        )
        self._create_queues()
        self._sync_schedules()
        seed_demo_company(self.ports)
        self.demo_token_url = seed_demo_admin(self.auth, self.project, DEMO_COMPANY)
        return self

    def _start_functions(self) -> None:
        intake = f"http://localhost:{self.ports.functions}/lead_intake"
        command = [
            sys.executable,
            "-m",
            "localcloud.functions_host",
            "--host",
            self.ports.host,
            "--port",
            str(self.ports.functions),
            "--form-key",
            DEMO_FORM_KEY,
            "--intake-url",
            intake,
        ]
        self.host_process = subprocess.Popen(command, env=dict(os.environ))
        wait_for_http(f"{self.ports.base_url}/", timeout=60)

    def _create_queues(self) -> None:
        from google.api_core import exceptions as gexc

        from shared.adapters.clients import tasks_client
        from shared.settings import get_settings

        settings = get_settings()
        client = tasks_client()
        parent = f"projects/{self.project}/locations/{settings.region}"
        for queue in QUEUES:
            spec = queue_spec(f"{parent}/queues/{queue.name}", queue)
            try:
                client.create_queue(parent=parent, queue=spec)
            except gexc.AlreadyExists:
                client.update_queue(queue=spec)

    def _sync_schedules(self) -> None:
        from shared.deploy.schedules import sync_schedules

        sync_schedules(
            project=self.project,
            location="us-central1",
            base_url=self.ports.base_url,
            host=os.environ["CLOUD_SCHEDULER_EMULATOR_HOST"],
        )

    def stop(self) -> None:
        if self.host_process is not None:
            self.host_process.terminate()
            self.host_process.wait(timeout=10)
        if getattr(self, "bridge", None) is not None:
            self.bridge.close()
        for part in reversed(self.parts):
            part.stop()


def queue_spec(name: str, queue: Any) -> dict[str, Any]:
    return {
        "name": name,
        "rate_limits": {
            "max_dispatches_per_second": queue.max_dispatches_per_second,
            "max_concurrent_dispatches": queue.max_concurrent_dispatches,
        },
        "retry_config": {
            "max_attempts": queue.max_attempts,
            "min_backoff": {"seconds": int(queue.min_backoff_seconds)},
            "max_backoff": {"seconds": int(queue.max_backoff_seconds)},
            "max_doublings": queue.max_doublings,
        },
    }


def seed_demo_company(ports: Ports) -> None:
    """A demo company whose form key the example page uses (created once)."""
    from shared.adapters.clients import firestore_client

    ref = firestore_client().collection("companies").document(DEMO_COMPANY)
    if ref.get().exists:
        return
    origins = [f"http://{h}:{ports.functions}" for h in ("127.0.0.1", "localhost")]
    ref.set(
        {
            "name": "Acme Plumbing (demo)",
            "public_form_key": DEMO_FORM_KEY,
            "allowed_origins": origins,
            "settings": {"thank_you_url": f"{ports.base_url}/thanks"},
        }
    )


def wait_for_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def table(stack: Stack) -> str:
    p = stack.ports
    rows = [("Example page", f"{p.base_url}/", "")]
    for f in FUNCTIONS:
        detail = {
            Trigger.EVENT: f"{f.event_type} {f.document}",
            Trigger.SCHEDULE: f.schedule,
            Trigger.TASK: "Cloud Tasks target",
            Trigger.HTTP: "public" if f.public else "staff (ID token)",
        }[f.trigger]
        rows.append((f.name, f"{p.base_url}/{f.name}", detail or ""))
    rows += [
        ("Firestore", f"{p.host}:{p.firestore}", "FIRESTORE_EMULATOR_HOST"),
        ("Cloud Tasks", f"{p.host}:{p.tasks}", "CLOUD_TASKS_EMULATOR_HOST"),
        ("Cloud Scheduler", f"{p.host}:{p.scheduler}", "CLOUD_SCHEDULER_EMULATOR_HOST"),
        ("Firebase Auth", stack.auth.address, "GROWTHKIT_AUTH_EMULATOR_HOST"),
        ("Demo admin ID token", stack.demo_token_url, "POST it"),
        ("Data", str(stack.data_dir), f"project {stack.project}"),
    ]
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    return "\n".join(f"{a:<{width[0]}}  {b:<{width[1]}}  {c}" for a, b, c in rows)


def _serve(args: argparse.Namespace) -> None:
    from localcloud.cli import wait_for_signal

    stack = Stack(Ports.from_env(), args.data_dir, args.project, args.duplicate_events)
    try:
        stack.start()
        print(table(stack), flush=True)
        print("localcloud is up. Ctrl-C stops everything; data stays in", args.data_dir, flush=True)
        wait_for_signal()
    finally:
        stack.stop()
        print("localcloud stopped; data kept.", flush=True)


def register(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run the whole bundle locally")
    serve.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("LOCALCLOUD_DATA_DIR", ".localcloud"))
    )
    serve.add_argument("--project", default=os.environ.get("LOCALCLOUD_PROJECT", "demo-growthkit"))
    serve.add_argument(
        "--duplicate-events",
        action="store_true",
        help="deliver every Firestore event twice (proves idempotency)",
    )
    serve.set_defaults(run=_serve)
