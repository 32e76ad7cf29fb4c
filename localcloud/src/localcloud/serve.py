"""``localcloud serve --manifest app.json``: a project's whole cloud on one machine.

Starts the local Firestore, Cloud Tasks, Cloud Scheduler and Firebase Auth stand-in in
this process, the mailbox (an SMTP server and the page showing what it received, SMS to
the Twilio stand-in included) and the platform stand-ins, and the manifest's functions
in a child process (as Cloud Functions runs them apart from the services they call);
delivers Firestore changes to the event functions as Eventarc does; creates the
manifest's queues and one Scheduler job per scheduled function through the real
clients; prints one table. Data lives under the data directory and survives restarts
(the mailbox's messages do not). Ctrl-C stops everything and keeps the data.

From Python: ``Stack(load_manifest("app.json"), Ports.from_env(), Path(".localcloud"),
"demo-project").start()``, then ``stop()``. A project adds its own set-up (seed data,
environment) in a subclass: ``functions_env``, the table's rows and ``start`` are meant
to be extended.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.binding import PortInUse, check_free, listening_socket
from localcloud.manifest import FunctionSpec, Manifest, ManifestError, Trigger, load_manifest

log = logging.getLogger("localcloud.serve")

Row = tuple[str, str, str]
# Jobs localcloud made from a manifest carry this description: it deletes only those.
MANAGED_JOB = "Created by localcloud from the manifest"
# HTTP targets allow attempt deadlines from 15 seconds to 30 minutes.
MIN_DEADLINE, MAX_DEADLINE = 15, 1800


@dataclass(frozen=True)
class Ports:
    """Where ``serve`` listens; ``from_env`` reads the ``LOCALCLOUD_*`` variables."""

    host: str
    functions: int
    firestore: int
    tasks: int
    scheduler: int
    auth: int = 8684
    smtp: int = 1025
    mailbox: int = 8025
    platforms: int = 8690

    @classmethod
    def from_env(cls) -> Ports:
        """ValueError naming the variable if one is not a port number."""
        ports = {name: _port(variable, default) for name, (variable, default) in PORT_ENV.items()}
        return cls(os.environ.get("LOCALCLOUD_HOST", "127.0.0.1"), **ports)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.functions}"


# Each port, its variable and default, in the order ``serve`` binds them.
PORT_ENV = {
    "firestore": ("LOCALCLOUD_FIRESTORE_PORT", 8681),
    "tasks": ("LOCALCLOUD_TASKS_PORT", 8682),
    "scheduler": ("LOCALCLOUD_SCHEDULER_PORT", 8683),
    "auth": ("LOCALCLOUD_AUTH_PORT", 8684),
    "smtp": ("LOCALCLOUD_SMTP_PORT", 1025),
    "mailbox": ("LOCALCLOUD_MAILBOX_PORT", 8025),
    "platforms": ("LOCALCLOUD_PLATFORMS_PORT", 8690),
    "functions": ("LOCALCLOUD_FUNCTIONS_PORT", 8080),
}
SERVICES = {
    "firestore": "Firestore",
    "tasks": "Cloud Tasks",
    "scheduler": "Cloud Scheduler",
    "auth": "Firebase Auth",
    "smtp": "The mailbox's SMTP server",
    "mailbox": "The mailbox page",
    "platforms": "The platform stand-ins",
    "functions": "The functions",
}


def _port(variable: str, default: int) -> int:
    raw = os.environ.get(variable, str(default))
    if not raw.isdigit() or int(raw) > 65535:
        raise ValueError(f"{variable}={raw!r} is not a port number (0 to 65535)")
    return int(raw)


@contextlib.contextmanager
def port_hint(name: str) -> Iterator[None]:
    """A PortInUse raised inside says which variable moves that port."""
    try:
        yield
    except PortInUse as err:
        raise err.hinted(f"set {PORT_ENV[name][0]} to another port") from None


class Stack:
    """The running local cloud of one manifest; ``stop()`` shuts every part down, keeping
    the data. ``rules``: a firestore.rules enforced for end-user clients (the functions'
    owner credential bypasses it, as with the official emulator); ``site``: a directory of
    static files served at the functions' paths no function claims."""

    auth_hint = "ID tokens: POST /emulator/v1/.../accounts/UID:idToken"

    def __init__(  # noqa: PLR0917 - mirrors the command line's options
        self,
        manifest: Manifest,
        ports: Ports,
        data_dir: Path,
        project: str,
        rules: Path | None = None,
        site: Path | None = None,
        duplicate: bool = False,
    ) -> None:
        self.manifest, self.ports, self.data_dir, self.project = manifest, ports, data_dir, project
        self.rules, self.site, self.duplicate = rules, site, duplicate
        self.parts: list[Any] = []
        self.host_process: subprocess.Popen[bytes] | None = None
        self.bridge: Any = None
        self.schedule_report: list[str] = []

    def start(self) -> Stack:
        """Start every part; if one cannot start, stop those that did and raise (a port in
        use: ``PortInUse`` naming its variable, before anything starts)."""
        for name in PORT_ENV:
            with port_hint(name):
                check_free(self.ports.host, getattr(self.ports, name), SERVICES[name])
        try:
            self._start_services()
            self._start_functions()
            self._start_bridge()
            self._create_queues()
            self._create_jobs()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_services(self) -> None:
        from localcloud.auth import start_auth
        from localcloud.firestore import start_firestore
        from localcloud.scheduler import start_scheduler
        from localcloud.tasks import start_tasks

        host, data, ports = self.ports.host, self.data_dir, self.ports
        with port_hint("firestore"):
            self.firestore = start_firestore(
                host, ports.firestore, data_dir=data / "firestore", rules_path=self.rules
            )
        self.parts.append(self.firestore)
        with port_hint("tasks"):
            self.tasks = start_tasks(host, ports.tasks, data_dir=data / "tasks")
        self.parts.append(self.tasks)
        with port_hint("scheduler"):
            self.scheduler = start_scheduler(host, ports.scheduler, data_dir=data / "scheduler")
        self.parts.append(self.scheduler)
        with port_hint("auth"):
            self.auth = start_auth(host, ports.auth, data / "auth")
        self.parts.append(self.auth)
        self._start_messaging()

    def _start_messaging(self) -> None:
        """The platform stand-ins, and the mailbox showing their SMS beside the mail."""
        from localcloud.mailbox import start_mailbox
        from localcloud.platforms import PortInUseError, start_platforms

        host, ports = self.ports.host, self.ports
        try:
            self.platforms = start_platforms(host, ports.platforms)
        except PortInUseError:
            service = SERVICES["platforms"]
            raise PortInUse(service, host, ports.platforms).hinted(
                f"set {PORT_ENV['platforms'][0]} to another port"
            ) from None
        self.parts.append(self.platforms)
        try:
            self.mailbox = start_mailbox(host, ports.smtp, ports.mailbox)
        except PortInUse as err:
            name = "smtp" if err.port == ports.smtp else "mailbox"
            raise err.hinted(f"set {PORT_ENV[name][0]} to another port") from None
        self.mailbox.sms = lambda: self.platforms.posts("twilio")
        self.parts.append(self.mailbox)

    def client_env(self) -> dict[str, str]:
        """The variables that point the Google clients' emulator support at this stack."""
        return {
            "FIRESTORE_EMULATOR_HOST": self.firestore.address,
            "CLOUD_TASKS_EMULATOR_HOST": self.tasks.address,
            "CLOUD_SCHEDULER_EMULATOR_HOST": self.scheduler.address,
            "GOOGLE_CLOUD_PROJECT": self.project,
        }

    def functions_env(self) -> dict[str, str]:
        """What the functions process gets on top of this process's environment: the
        client variables and where the stack's other parts are."""
        return {
            **self.client_env(),
            "LOCALCLOUD_FUNCTIONS_URL": self.ports.base_url,
            "LOCALCLOUD_AUTH_HOST": self.auth.address,
            "LOCALCLOUD_AUTH_CERT_URL": self.auth.cert_url,
            "LOCALCLOUD_SMTP_HOST": self.mailbox.host,
            "LOCALCLOUD_SMTP_PORT": str(self.mailbox.smtp_port),
            "LOCALCLOUD_MAILBOX_URL": self.mailbox.url,
            "LOCALCLOUD_PLATFORMS_URL": self.platforms.url,
        }

    def _start_functions(self) -> None:
        source = self.manifest.source
        if source is not None and not source.is_file():
            raise ManifestError(f"the manifest's source {source} is not a file")
        manifest = dataclasses.replace(
            self.manifest, source=source.resolve() if source is not None else None
        )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        manifest_file = self.data_dir / "manifest.json"
        manifest_file.write_text(json.dumps(manifest.to_dict(), indent=1), encoding="utf-8")
        # Bound here and handed over: a port in use is refused in this process, and the
        # functions process cannot end up behind another program's port.
        with port_hint("functions"):
            sock = listening_socket(self.ports.host, self.ports.functions, "The functions")
        with sock:
            command = [sys.executable, "-m", "localcloud.functions_host"]
            command += ["--manifest", str(manifest_file), "--host", self.ports.host]
            command += ["--port", str(self.ports.functions), "--fd", str(sock.fileno())]
            command += ["--site", str(self.site)] if self.site is not None else []
            env = {**os.environ, **self.functions_env()}
            self.host_process = subprocess.Popen(command, env=env, pass_fds=[sock.fileno()])
        wait_for_http(f"{self.ports.base_url}/", timeout=60, process=self.host_process)

    def _start_bridge(self) -> None:
        from localcloud.eventarc import EventBridge

        self.bridge = EventBridge(
            self.firestore.store,
            self.ports.base_url,
            functions=self.manifest.functions,
            duplicate=self.duplicate,
        )

    def _create_queues(self) -> None:
        from google.api_core import exceptions as gexc

        from localcloud.tasks.testing import tasks_client

        client = tasks_client(self.tasks.address)
        parent = f"projects/{self.project}/locations/{self.manifest.location}"
        for queue in self.manifest.queues:
            resource = queue.resource(parent)
            try:
                client.create_queue(parent=parent, queue=resource)
            except gexc.AlreadyExists:
                client.update_queue(queue=resource)

    def _create_jobs(self) -> None:
        """One job per scheduled function; jobs an earlier manifest made and this one no
        longer has are deleted (jobs made otherwise are left alone). ``schedule_report``
        says what changed, one line each, then a summary."""
        client = scheduler_client(self.scheduler.address)
        parent = f"projects/{self.project}/locations/{self.manifest.location}"
        wanted = {
            f"{parent}/jobs/{f.scheduler_job_id}": job_resource(f, self.ports.base_url)
            for f in self.manifest.of(Trigger.SCHEDULE)
        }
        existing = {job.name: job for job in client.list_jobs(parent=parent)}
        report = [
            _apply_job(client, parent, name, job, existing.get(name))
            for name, job in wanted.items()
        ]
        for name, old in existing.items():
            if name not in wanted and old.description == MANAGED_JOB:
                client.delete_job(name=name)
                report.append(f"delete {name.rsplit('/', 1)[1]}")
        done = [line for line in report if line]
        kinds = [line.split()[0] for line in done]
        self.schedule_report = [
            *done,
            f"schedules: {kinds.count('create')} create, {kinds.count('update')} update, "
            f"{kinds.count('delete')} delete, {report.count('')} unchanged",
        ]

    def stop(self) -> None:
        """Stop whatever runs (safe to call twice, or after a failed start)."""
        if self.host_process is not None:
            self.host_process.terminate()
            self.host_process.wait(timeout=10)
            self.host_process = None
        if self.bridge is not None:
            self.bridge.close()
            self.bridge = None
        while self.parts:
            self.parts.pop().stop()

    # --- the table -----------------------------------------------------------------------

    def site_rows(self) -> list[Row]:
        return [("Site", f"{self.ports.base_url}/", str(self.site))] if self.site else []

    def function_rows(self) -> list[Row]:
        return [
            (f.name, f"{self.ports.base_url}/{f.name}", function_detail(f))
            for f in self.manifest.functions
        ]

    def service_rows(self) -> list[Row]:
        return [
            ("Firestore", self.firestore.address, "FIRESTORE_EMULATOR_HOST"),
            ("Cloud Tasks", self.tasks.address, "CLOUD_TASKS_EMULATOR_HOST"),
            ("Cloud Scheduler", self.scheduler.address, "CLOUD_SCHEDULER_EMULATOR_HOST"),
            ("Firebase Auth", self.auth.address, self.auth_hint),
            ("Mailbox", f"{self.mailbox.url}/", f"SMTP on {self.mailbox.smtp_address}"),
            ("Platform stand-ins", f"{self.platforms.url}/_admin", "Twilio, LinkedIn, X..."),
        ]

    def rows(self) -> list[Row]:
        data = ("Data", str(self.data_dir), f"project {self.project}")
        return [*self.site_rows(), *self.function_rows(), *self.service_rows(), data]

    def table(self) -> str:
        rows = self.rows()
        width = [max(len(r[i]) for r in rows) for i in range(2)]
        return "\n".join(f"{a:<{width[0]}}  {b:<{width[1]}}  {c}" for a, b, c in rows)


def function_detail(function: FunctionSpec) -> str:
    """The table's third column: the manifest's note, else what triggers the function."""
    if function.note:
        return function.note
    return {
        Trigger.EVENT: f"{function.event_type} {function.document}",
        Trigger.SCHEDULE: function.schedule or "",
        Trigger.TASK: "Cloud Tasks target",
        Trigger.HTTP: "",
    }[function.trigger]


def job_resource(function: FunctionSpec, base_url: str) -> dict[str, Any]:
    """The Scheduler job that POSTs ``{}`` to the function on its schedule."""
    deadline = min(max(function.timeout_seconds, MIN_DEADLINE), MAX_DEADLINE)
    return {
        "description": MANAGED_JOB,
        "schedule": function.schedule,
        "time_zone": function.time_zone,
        "attempt_deadline": {"seconds": deadline},
        "http_target": {
            "uri": f"{base_url.rstrip('/')}/{function.name}",
            "http_method": "POST",
            "headers": {"Content-Type": "application/json"},
            "body": b"{}",
        },
    }


# What a job's owner sets; the service fills in the rest (state, times, retry defaults).
_JOB_FIELDS = (
    "description",
    "schedule",
    "time_zone",
    "attempt_deadline",
    "http_target.uri",
    "http_target.http_method",
    "http_target.body",
    "http_target.headers",
)


def _apply_job(client: Any, parent: str, name: str, job: dict[str, Any], old: Any) -> str:
    """Create or update one job; the report line ('' when it already was as wanted)."""
    from google.cloud import scheduler_v1

    job_id = name.rsplit("/", 1)[1]
    if old is None:
        client.create_job(parent=parent, job={"name": name, **job})
        target = job["http_target"]
        where = f"{target['http_method']} {target['uri']}"
        return f"create {job_id}: {where} at '{job['schedule']}' ({job['time_zone']})"
    want = scheduler_v1.Job(name=name, **job)
    changed = [path for path in _JOB_FIELDS if _field(old, path) != _field(want, path)]
    if not changed:
        return ""
    client.update_job(job=want)
    return f"update {job_id}: {', '.join(changed)}"


def _field(job: Any, path: str) -> Any:
    value = job
    for part in path.split("."):
        value = getattr(value, part)
    return dict(value) if part == "headers" else value


def scheduler_client(address: str) -> Any:
    """The real ``CloudSchedulerClient`` on an insecure channel to ``address``."""
    import grpc
    from google.cloud import scheduler_v1
    from google.cloud.scheduler_v1.services.cloud_scheduler.transports import (
        CloudSchedulerGrpcTransport,
    )

    channel = grpc.insecure_channel(address)
    return scheduler_v1.CloudSchedulerClient(transport=CloudSchedulerGrpcTransport(channel=channel))


def wait_for_http(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Until ``url`` answers at all (any status); RuntimeError if ``process`` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # an answer, if not a 2xx one: the server is up
        except OSError as err:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the functions process exited ({process.returncode})") from err
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def run(stack: Stack) -> None:
    """Start ``stack``, print its table, serve until SIGINT or SIGTERM, stop (data kept).
    A port in use is one line on stderr naming its variable, and exit status 1."""
    from localcloud.cli import wait_for_signal

    try:
        stack.start()
    except PortInUse as err:
        raise SystemExit(f"localcloud: {err}") from None
    try:
        print("\n".join([*stack.schedule_report, stack.table()]), flush=True)
        print(
            "localcloud is up. Ctrl-C stops everything; data stays in", stack.data_dir, flush=True
        )
        wait_for_signal()
    finally:
        stack.stop()
        print("localcloud stopped; data kept.", flush=True)


def ports_or_exit() -> Ports:
    """``Ports.from_env()``, or one line on stderr naming the wrong variable and exit 1."""
    try:
        return Ports.from_env()
    except ValueError as err:
        raise SystemExit(f"localcloud: {err}") from None


def _serve(args: argparse.Namespace) -> None:
    try:
        manifest = load_manifest(args.manifest)
    except ManifestError as err:
        raise SystemExit(f"error: {err}") from None
    ports = ports_or_exit()
    run(Stack(manifest, ports, args.data_dir, args.project, args.rules, args.site, args.duplicate))


def register(sub: Any) -> None:
    """Add the ``serve`` subcommand."""
    serve = sub.add_parser("serve", help="run a project's functions and every service locally")
    env = os.environ.get
    serve.add_argument(
        "--manifest",
        default=env("LOCALCLOUD_MANIFEST"),
        required=env("LOCALCLOUD_MANIFEST") is None,
        help="the project's functions and queues: a JSON file or module:attribute",
    )
    serve.add_argument(
        "--data-dir", type=Path, default=Path(env("LOCALCLOUD_DATA_DIR", ".localcloud"))
    )
    serve.add_argument("--project", default=env("LOCALCLOUD_PROJECT", "demo-project"))
    serve.add_argument("--rules", type=Path, default=None, help="enforce this firestore.rules")
    serve.add_argument("--site", type=Path, default=None, help="static files at other paths")
    serve.add_argument(
        "--duplicate-events",
        dest="duplicate",
        action="store_true",
        help="deliver every Firestore event twice (proves idempotency)",
    )
    serve.set_defaults(run=_serve)
